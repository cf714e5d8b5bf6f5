"""Whether each agent would start for a user, and with what: the agents page's words for
the decision `credentials.resolution.decide_access` makes (the same one agent-key acts on)."""

from dataclasses import dataclass
from typing import Any

from catalog.agents import AgentSpec
from credentials.models import Credential, Scope
from credentials.resolution import AgentAccess, Delivery, Unavailable, user_access

USER_KEY = "user"
PROJECT_KEY = "project"
PLATFORM = "platform"
UNAVAILABLE = "unavailable"

LABELS = {
    USER_KEY: "ready: your key",
    PROJECT_KEY: "ready: project key",
    PLATFORM: "ready: platform AI — no key needed",
    UNAVAILABLE: "not available — add a key",
}
_HALTED = " This project's key for it is switched off, so your own key is not used here."


@dataclass(frozen=True)
class AgentReadiness:
    agent: AgentSpec
    state: str
    detail: str
    credential: Credential | None = None  # the row that would be served, if any
    model: str | None = None  # the proxy's model, when the platform AI is used

    @property
    def label(self) -> str:
        return LABELS[self.state]

    @property
    def ready(self) -> bool:
        return self.state != UNAVAILABLE


def agents_readiness(*, user: Any, project: Any = None) -> list[AgentReadiness]:
    """One entry per catalog agent, for workspaces of `user` in `project` (or in none)."""
    decisions = user_access(user_id=user.pk, project_id=getattr(project, "pk", None))
    return [_readiness(access, project) for access in decisions]


def _readiness(access: AgentAccess, project: Any) -> AgentReadiness:
    spec, credential = access.agent, access.credential
    halt_note = _HALTED if access.halted_by_project else ""
    if access.delivery is Delivery.DIRECT and credential is not None:
        return _with_key(spec, credential, project)
    if access.delivery is Delivery.PROXY and access.offer is not None and credential is not None:
        kept = _with_key(spec, credential, project)
        detail = (
            kept.detail + " It stays on the platform: the agent reaches it through the AI proxy."
        )
        if credential.provider_refused_at is not None:
            at = credential.provider_refused_at.strftime("%Y-%m-%d %H:%M UTC")
            detail += f" Refused by the provider at {at}: replace it."
        return AgentReadiness(spec, kept.state, detail, credential, model=access.offer.model)
    if access.delivery is Delivery.PROXY and access.offer is not None:
        detail = "Runs on the platform's AI proxy, paid by the platform within its limits."
        return AgentReadiness(spec, PLATFORM, detail + halt_note, model=access.offer.model)
    return AgentReadiness(spec, UNAVAILABLE, _why_unavailable(access) + halt_note)


def _with_key(spec: AgentSpec, credential: Credential, project: Any) -> AgentReadiness:
    kind = credential.get_kind_display()
    if credential.scope == Scope.USER:
        return AgentReadiness(spec, USER_KEY, f"Your {kind} {credential.hint}.", credential)
    if credential.scope == Scope.PROJECT:
        return AgentReadiness(
            spec, PROJECT_KEY, f"The {kind} of project {project} ({credential.hint}).", credential
        )
    return AgentReadiness(spec, PLATFORM, "The platform's own key is used.", credential)


def _why_unavailable(access: AgentAccess) -> str:
    if access.unavailable is Unavailable.PROXY_DISABLED and access.credential is not None:
        return (
            f"Your key {access.credential.hint} is kept on the platform and reached through "
            "the AI proxy, which is switched off."
        )
    if access.unavailable is Unavailable.PROXY_DISABLED:
        return "The platform AI is switched off: add your own key."
    return f"{access.agent.label} cannot use the platform AI: add your own {access.agent.key_env}."
