"""The ASGI entry point speaks the lifespan protocol: usage writes are awaited on shutdown."""

import asyncio

import pytest


@pytest.mark.django_db
def test_startup_and_shutdown_complete():
    from sam_project.asgi import application  # runs the startup checks, which read the database

    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(application({"type": "lifespan"}, receive, send))

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
