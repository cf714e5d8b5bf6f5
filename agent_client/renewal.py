"""Short-lived proxy tokens the agents renew themselves (SPEC 22.2).

In scoped token mode a proxy token lives an hour. Claude Code (`apiKeyHelper`) and Codex
(command-backed provider auth) run a command for a fresh one when theirs is about to expire
or is refused; that command is `python -m agent_client token --agent A`, which asks the
control plane's proxy-token endpoint with the workspace's callback token. The callback token
is read by that command from a 0600 file or the environment, never from its command line,
and never written into an agent's configuration.
"""

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent_client.catalog import Agent
from agent_client.credential import PROXY_TOKEN_PREFIX, api_error, workspace_path
from agent_client.errors import (
    AuthRefused,
    ControlPlaneError,
    NoCredential,
    ResponseInvalid,
)
from agent_client.origin import ParsedURL
from agent_client.redaction import Redactor, Secret
from agent_client.transport import post_json

# How often the agents fetch a new token: a quarter of a token's life, at most every five
# minutes (Claude Code's own default) and at least every second. Claude Code answers a
# request from the key it holds and fetches the next one behind it, so a key is used until
# the first request after its refresh time: a quarter leaves room for gaps of three quarters
# of a token's life between requests (after a longer idle the proxy refuses the old token
# and the agent fetches a new one at once, on the 401).
MIN_REFRESH_MS = 1000
MAX_REFRESH_MS = 300_000


@dataclass(frozen=True)
class IssuedToken:
    token: Secret
    expires_at: datetime

    def refresh_ms(self, now: datetime | None = None) -> int:
        """How often an agent should fetch a new token (see MIN_REFRESH_MS)."""
        left = self.expires_at - (now or datetime.now(UTC))
        quarter = int(left.total_seconds() * 1000) // 4
        return max(MIN_REFRESH_MS, min(MAX_REFRESH_MS, quarter))


@dataclass(frozen=True)
class Renewal:
    """How the agent fetches its own tokens: the command to run, and how often."""

    argv: tuple[str, ...]  # holds no secret: the callback token is in a file or the env
    refresh_ms: int


def proxy_token_fetch(
    *,
    control_plane: ParsedURL,
    workspace_id: str,
    token: Secret,
    agent: Agent,
    redactor: Redactor,
) -> IssuedToken:
    """POST proxy-token once; the validated token, or a ClientError."""
    response = post_json(
        control_plane,
        workspace_path(workspace_id, "proxy-token"),
        {"agentType": agent.agent_type},
        token,
    )
    if response.status == 409:
        raise NoCredential(
            f"{agent.agent_type} does not use the platform AI proxy in this workspace "
            f"({api_error(response)})"
        )
    if response.status in (401, 403):
        raise AuthRefused(f"the control plane refused the workspace token ({api_error(response)})")
    if response.status == 429:
        wait = f"; retry after {response.retry_after} s" if response.retry_after else ""
        raise ControlPlaneError(f"too many proxy tokens asked for ({api_error(response)}){wait}")
    if response.status != 200:
        raise ControlPlaneError(
            f"the control plane answered proxy-token with {api_error(response)}"
        )
    try:
        body = json.loads(response.body)
    except ValueError:
        raise ResponseInvalid("the control plane's answer is not JSON") from None
    issued = _parse(body)
    redactor.add(issued.token.reveal())
    return issued


def _parse(body: object) -> IssuedToken:
    if not isinstance(body, dict):
        raise _malformed("it is not a JSON object")
    raw, expires = body.get("token"), body.get("expiresAt")
    if (
        not isinstance(raw, str)
        or not raw.startswith(PROXY_TOKEN_PREFIX)
        or not raw.isascii()
        or not raw.isprintable()
        or " " in raw
    ):
        raise _malformed("token is not a sam_px_ token")
    try:
        expires_at = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
    except ValueError:
        raise _malformed("expiresAt is not an ISO 8601 time") from None
    if expires_at.tzinfo is None:
        raise _malformed("expiresAt has no time zone")
    return IssuedToken(token=Secret(raw), expires_at=expires_at)


def _malformed(reason: str) -> ResponseInvalid:
    return ResponseInvalid(f"the control plane's proxy-token answer is malformed: {reason}")


def helper_argv(
    *, agent: Agent, control_plane: ParsedURL, workspace_id: str, token_file: Path | None
) -> tuple[str, ...]:
    """The command an agent runs for a fresh token: this interpreter and this client, told
    where the control plane is and where the callback token is (without `--token-file`, the
    agent's environment must hold SAM_CALLBACK_TOKEN)."""
    argv = [sys.executable, "-m", "agent_client", "token", "--agent", agent.agent_type]
    argv += ["--control-plane", str(control_plane), "--workspace", workspace_id]
    if token_file is not None:
        argv += ["--token-file", str(token_file)]
    return tuple(argv)
