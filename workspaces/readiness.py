"""Whether each agent would start for a user, and with what: the agents page's answer.

It follows the rules of the agent-key endpoint (`agent_credentials.agent_key_resolve`): the
same resolution (`credentials.resolution.pick`, platform rows only when
EXPOSE_PLATFORM_KEYS_TO_WORKSPACES is on), then the proxy fallback when the agent is
eligible and the proxy is enabled. Nothing is decrypted here. Two queries at most: the
credentials of every agent at once, and the proxy configuration when it is not cached.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

from ai_proxy.config import default_model, proxy_enabled, stored_config
from credentials.catalog import AGENTS, AgentSpec
from credentials.models import Credential, Scope
from credentials.resolution import pick

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


def _candidates(user_id: int, project_id: int | None) -> dict[str, list[Credential]]:
    """Every row resolution may use, for every agent, in one query (see resolution_candidates)."""
    scopes = Q(scope=Scope.USER, owner_id=user_id)
    if project_id is not None:
        scopes |= Q(scope=Scope.PROJECT, project_id=project_id, project__owner_id=user_id)
    if settings.EXPOSE_PLATFORM_KEYS_TO_WORKSPACES:
        scopes |= Q(scope=Scope.PLATFORM, is_active=True)
    rows: dict[str, list[Credential]] = defaultdict(list)
    for row in Credential.objects.filter(scopes):
        rows[row.agent_type].append(row)
    return rows


def _halted_by_project(rows: list[Credential]) -> bool:
    project_rows = [row for row in rows if row.scope == Scope.PROJECT]
    return bool(project_rows) and not any(row.is_active for row in project_rows)


def agents_readiness(*, user: Any, project: Any = None) -> list[AgentReadiness]:
    """One entry per catalog agent, for workspaces of `user` in `project` (or in none)."""
    candidates = _candidates(user.pk, getattr(project, "pk", None))
    config = stored_config()
    proxy_on = proxy_enabled(config)
    result = []
    for agent_type, spec in AGENTS.items():
        rows = candidates.get(agent_type, [])
        chosen = pick(rows)
        halt_note = (
            " This project's key for it is switched off, so your own key is not used here."
            if _halted_by_project(rows)
            else ""
        )
        if chosen is not None:
            result.append(_with_key(spec, chosen, project))
        elif spec.proxy_eligible and proxy_on:
            model, _layer = default_model(spec, config)
            detail = "Runs on the platform's AI proxy, paid by the platform within its limits."
            result.append(AgentReadiness(spec, PLATFORM, detail + halt_note, model=model))
        else:
            result.append(AgentReadiness(spec, UNAVAILABLE, _why_unavailable(spec) + halt_note))
    return result


def _with_key(spec: AgentSpec, credential: Credential, project: Any) -> AgentReadiness:
    kind = credential.get_kind_display()
    if credential.scope == Scope.USER:
        return AgentReadiness(spec, USER_KEY, f"Your {kind} {credential.hint}.", credential)
    if credential.scope == Scope.PROJECT:
        return AgentReadiness(
            spec, PROJECT_KEY, f"The {kind} of project {project} ({credential.hint}).", credential
        )
    return AgentReadiness(spec, PLATFORM, "The platform's own key is used.", credential)


def _why_unavailable(spec: AgentSpec) -> str:
    """Called only when no key applies and the platform AI cannot stand in."""
    if spec.proxy_eligible:
        return "The platform AI is switched off: add your own key."
    return f"{spec.label} cannot use the platform AI: add your own {spec.key_env}."
