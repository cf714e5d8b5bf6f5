"""Everything beyond the machine, as a program under test sees it: an HTTP(S) proxy on
loopback that refuses every connection and records where it was going.

Point `HTTPS_PROXY` / `HTTP_PROXY` (and their lower-case spellings) at `url`, with
`NO_PROXY` covering loopback, and a program that tries to reach the network (an update
check, telemetry, a model catalogue, a package registry) fails fast instead of leaving the
machine, and `attempts` names each host it tried (`CONNECT host:443`, `GET http://…`).
"""

import contextlib
import socket
import threading


class OutsideWorld:
    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def start(self) -> "OutsideWorld":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._socket.close()

    def environment(self) -> dict[str, str]:
        """The variables that send a program's outside traffic here."""
        loopback = "127.0.0.1,localhost,::1"
        names = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
        env = dict.fromkeys(names, self.url) | {name.lower(): self.url for name in names}
        return env | {"NO_PROXY": loopback, "no_proxy": loopback}

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _peer = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                try:
                    first_line = connection.recv(4096).split(b"\r\n", 1)[0]
                except OSError:
                    first_line = b"(no request line)"
                self.attempts.append(first_line.decode("latin-1"))
                with contextlib.suppress(OSError):
                    connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
