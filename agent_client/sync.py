"""Posting a refreshed Codex auth.json back to the control plane, with bounded retries.

Codex refreshes its OAuth tokens during a session; unless the new file goes back, the next
workspace starts with a refresh token that no longer works. Transient failures (network
errors, 408, 429, 5xx) are retried with exponential backoff, honouring Retry-After up to a
cap; any other 4xx is final.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent_client.catalog import OAUTH_TOKEN
from agent_client.credential import api_error, workspace_path
from agent_client.errors import (
    AuthRefused,
    ControlPlaneError,
    NoCredential,
    ResponseInvalid,
)
from agent_client.origin import ParsedURL
from agent_client.redaction import Secret
from agent_client.transport import Response, post_json

ATTEMPTS = 4
BASE_DELAY = 0.5
MAX_DELAY = 30.0


@dataclass(frozen=True)
class SyncResult:
    updated: bool
    attempts: int


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _delay(attempt: int, retry_after: str | None, base_delay: float) -> float:
    delay = base_delay * 2**attempt
    if retry_after and retry_after.strip().isdigit():
        delay = max(delay, float(retry_after.strip()))
    return min(delay, MAX_DELAY)


def credential_sync_post(
    *,
    control_plane: ParsedURL,
    workspace_id: str,
    token: Secret,
    agent_type: str,
    credential: Secret,
    attempts: int = ATTEMPTS,
    base_delay: float = BASE_DELAY,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[str, float], None] | None = None,
) -> SyncResult:
    body: dict[str, object] = {
        "agentType": agent_type,
        "credentialKind": OAUTH_TOKEN,
        "credential": credential.reveal(),
    }
    path = workspace_path(workspace_id, "agent-credential-sync")
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            response = post_json(control_plane, path, body, token)
        except ControlPlaneError as error:
            if last:
                raise
            reason, retry_after = str(error), None
        else:
            if not _retryable(response.status):
                return SyncResult(updated=_outcome(response), attempts=attempt + 1)
            if last:
                raise ControlPlaneError(
                    f"credential sync failed after {attempts} attempts ({api_error(response)})"
                )
            reason, retry_after = api_error(response), response.retry_after
        delay = _delay(attempt, retry_after, base_delay)
        if on_retry is not None:
            on_retry(reason, delay)
        sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _outcome(response: Response) -> bool:
    if response.status in (401, 403):
        raise AuthRefused(f"the control plane refused the workspace token ({api_error(response)})")
    if response.status != 200:
        raise ControlPlaneError(f"the control plane refused the sync ({api_error(response)})")
    try:
        body = json.loads(response.body)
    except ValueError:
        raise ResponseInvalid("the control plane's sync answer is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("success"), bool):
        raise ResponseInvalid("the control plane's sync answer is malformed")
    if not body["success"]:
        raise NoCredential(
            "the workspace has no Codex OAuth credential to update "
            f"({str(body.get('reason', 'no reason given'))[:64]})"
        )
    updated = body.get("updated")
    if not isinstance(updated, bool):
        raise ResponseInvalid("the control plane's sync answer is malformed")
    return updated
