"""The client headers the proxy passes upstream must be printable ASCII (SPEC 20.2).

Anything else cannot be sent on as it came (HTTP clients encode header values as ASCII),
and re-encoding it would change what the client meant: it is a 400 in the route's dialect.
"""

import re
from collections.abc import Mapping

from ai_proxy.errors import BadRequest
from ai_proxy.upstream import _FORWARDED_HEADERS

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


def forwarded_headers_check(client_headers: Mapping[str, str]) -> None:
    """Refuse the request when a header the proxy forwards holds anything but printable
    ASCII. The message names the header, never its value."""
    for name in _FORWARDED_HEADERS:
        value = client_headers.get(name)
        if value is not None and not _PRINTABLE_ASCII.fullmatch(value):
            raise BadRequest(f"The {name} header must be printable ASCII.")
