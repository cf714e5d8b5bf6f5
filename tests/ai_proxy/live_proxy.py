"""The proxy as clients see it: its live base URL, a workspace token, the fake provider
behind it; and request bodies for each route."""

from dataclasses import dataclass
from typing import Any

import anthropic
import httpx
import openai

from tests.fakes.upstream import FakeUpstream


@dataclass
class LiveProxy:
    base: str  # http://127.0.0.1:<port>/ai
    token: str
    upstream: FakeUpstream

    def anthropic(self, token: str | None = None) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=f"{self.base}/anthropic", auth_token=token or self.token, max_retries=0
        )

    def openai(self, token: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.base}/v1", api_key=token or self.token, max_retries=0)

    def post(
        self,
        path: str,
        body: Any,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """POST to /ai/<path> with the workspace token, unless `token=""` or headers say else."""
        sent = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        if token == "":
            sent = {}
        sent.update(headers or {})
        content = body if isinstance(body, bytes) else None
        kwargs.setdefault("timeout", 30)
        return httpx.post(
            f"{self.base}/{path}",
            content=content,
            json=None if content is not None else body,
            headers=sent,
            **kwargs,
        )


# Typed Any: the SDKs' typed parameters would not take a plain dict splatted in.
CLAUDE_MESSAGE: Any = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hello proxy"}],
}
CHAT: Any = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hello proxy"}]}
RESPONSE: Any = {"model": "gpt-4.1", "input": "hello proxy"}
