"""An upstream that answers with whatever bytes a test scripts: for what a well-behaved fake
cannot do — responses framed by the connection's end, informational (1xx) answers, two
answers in one segment, bytes sent on an idle connection."""

import asyncio
import threading
from collections import deque
from collections.abc import Callable

# What to do with one request: the bytes to send back, and whether to close afterwards.
Script = Callable[[bytes], tuple[bytes, bool]]

JSON_MESSAGE = (
    b'{"id":"msg_raw","type":"message","role":"assistant","model":"claude-haiku-4-5",'
    b'"content":[{"type":"text","text":"raw answer"}],"stop_reason":"end_turn",'
    b'"usage":{"input_tokens":3,"output_tokens":2}}'
)


def answer(
    body: bytes = JSON_MESSAGE, *, head: str = "HTTP/1.1 200 OK", length: bool = True
) -> bytes:
    lines = [head, "Content-Type: application/json"]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class RawUpstream:
    """A loopback server in a thread; `script` answers requests in the order they come."""

    def __init__(self) -> None:
        self.script: deque[Script] = deque()
        self.connections = 0
        self.requests = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "RawUpstream":
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shut(self) -> None:
        self._server.close()
        for writer in self.writers:
            writer.close()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def send_on_idle_connections(self, data: bytes) -> None:
        """Write `data` on every open connection, as a misbehaving upstream might."""

        def write() -> None:
            for writer in self.writers:
                if not writer.is_closing():
                    writer.write(data)

        self._loop.call_soon_threadsafe(write)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                self.requests += 1
                data, close = self.script.popleft()(body) if self.script else (answer(), False)
                writer.write(data)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
