"""One JSON POST to the control plane, with a connect timeout and an overall deadline.

Built on http.client rather than urllib: urllib follows redirects and would carry the
Authorization header to wherever a redirect points. Here a redirect is an error, and the
token only ever goes to the control plane's own origin.
"""

import http.client
import json
import ssl
import time
from dataclasses import dataclass, field

from agent_client import __version__
from agent_client.errors import ControlPlaneError
from agent_client.origin import ParsedURL
from agent_client.redaction import Secret

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 1024 * 1024
USER_AGENT = f"sam-agent-client/{__version__}"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = field(repr=False)  # an agent-key answer holds the key
    retry_after: str | None = None

    def json(self) -> object:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def post_json(
    control_plane: ParsedURL,
    path: str,
    body: dict[str, object],
    token: Secret,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
) -> Response:
    """POST `body` to `path` under the control plane URL; any HTTP status is returned."""
    deadline = time.monotonic() + total_timeout
    origin = control_plane.origin
    host = origin.host.strip("[]")
    connection: http.client.HTTPConnection
    if origin.scheme == "https":
        connection = http.client.HTTPSConnection(
            host, origin.port, timeout=connect_timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(host, origin.port, timeout=connect_timeout)
    payload = json.dumps(body).encode()
    phase = "connect"
    try:
        connection.connect()
        phase = "answer"
        _remaining(connection, deadline)
        connection.putrequest("POST", control_plane.join(path), skip_accept_encoding=True)
        for name, value in (
            ("Content-Type", "application/json"),
            ("Accept", "application/json"),
            ("User-Agent", USER_AGENT),
            ("Content-Length", str(len(payload))),
            ("Authorization", f"Bearer {token.reveal()}"),
        ):
            connection.putheader(name, value)
        connection.endheaders(payload)
        response = connection.getresponse()
        return Response(
            status=response.status,
            body=_read_body(connection, response, deadline),
            retry_after=response.getheader("Retry-After"),
        )
    except TimeoutError:
        if phase == "connect":
            raise ControlPlaneError(
                f"could not connect to the control plane ({origin}) within {connect_timeout:g} s"
            ) from None
        raise ControlPlaneError(
            f"the control plane ({origin}) did not answer within {total_timeout:g} s"
        ) from None
    except ssl.SSLError as error:
        raise ControlPlaneError(
            f"TLS with the control plane ({origin}) failed: {error.reason or type(error).__name__}"
        ) from None
    except OSError as error:
        raise ControlPlaneError(
            f"cannot reach the control plane ({origin}): {error.strerror or type(error).__name__}"
        ) from None
    except http.client.HTTPException as error:
        raise ControlPlaneError(
            f"the control plane ({origin}) sent a malformed HTTP answer ({type(error).__name__})"
        ) from None
    finally:
        connection.close()


def _remaining(connection: http.client.HTTPConnection, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


def _read_body(
    connection: http.client.HTTPConnection, response: http.client.HTTPResponse, deadline: float
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        # Each read waits at most until the deadline, so a server trickling bytes cannot
        # hold the client past the total timeout.
        _remaining(connection, deadline)
        chunk = response.read1(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ControlPlaneError("the control plane's answer is larger than 1 MiB")
        chunks.append(chunk)
