"""The agent-key endpoint's Prometheus series (SPEC 23): answers by credential source.

`/metrics` (`sam_project.metrics`) exposes it with the proxy's series.
"""

from prometheus_client import Counter

from workspaces.models import CredentialSource

AGENT_KEY_ANSWERS = Counter(
    "sam_agent_key_answers",
    "Agent-key answers by where the credential came from (none: no credential to give).",
    ["source"],
)
_SOURCES = {source.value for source in CredentialSource}


def agent_key_answered(source: str | None) -> None:
    AGENT_KEY_ANSWERS.labels(source if source in _SOURCES else "none").inc()
