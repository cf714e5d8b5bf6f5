"""The yardstick for the proxy's CPU per request: a bare aiohttp relay (SPEC §25).

An aiohttp web server that sends each request on, with one shared aiohttp ClientSession, to
the upstream at the same path and query, and streams the answer back as it arrives: no
auth, no accounting, no JSON parsing. Only the headers the provider needs go upstream
(content type, `anthropic-version`, `anthropic-beta`, and a fixed API key in place of the
client's credential); the answer keeps its status, content type and length. It runs on
uvloop, like the proxy under `make run`.

    .venv/bin/python bench/bare_relay.py --upstream URL [--port 0] [--api-key KEY]

prints its URL on the first line of stdout and serves until killed.
"""

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator

import aiohttp
import uvloop
from aiohttp import web

# The headers the provider needs; the floor server (`bench/floor_app.py`) sends the same.
FORWARDED = ("Content-Type", "anthropic-version", "anthropic-beta")


def application(upstream: str, api_key: str) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    session_key = web.AppKey("session", aiohttp.ClientSession)

    async def session(app: web.Application) -> AsyncIterator[None]:
        # Proxies often run with no limit per host; the benchmark needs 10 at a time.
        app[session_key] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), auto_decompress=False
        )
        yield
        await app[session_key].close()

    async def relay(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
        headers["x-api-key"] = api_key
        async with app[session_key].post(
            upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            response = web.StreamResponse(
                status=answer.status,
                headers={"Content-Type": answer.headers.get("Content-Type", "application/json")},
            )
            if answer.content_length is not None:
                response.content_length = answer.content_length
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app.cleanup_ctx.append(session)
    app.router.add_post("/{path:.*}", relay)
    return app


async def serve(upstream: str, port: int, api_key: str) -> None:
    runner = web.AppRunner(application(upstream.rstrip("/"), api_key), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"http://127.0.0.1:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="base URL, e.g. http://127.0.0.1:9")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="sk-ant-api03-bench-relay-key")
    options = parser.parse_args()
    try:
        uvloop.run(serve(options.upstream, options.port, options.api_key))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
