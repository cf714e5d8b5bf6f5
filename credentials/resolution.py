"""What a workspace gets for an agent: a secret, the platform AI proxy, or nothing — and why.

`decide_access` is the one function that decides it; the agent-key endpoint and the agents
page both call it (through `workspace_access` / `user_access`), over the rows of one query.
Resolution order (SPEC §5): the project's key, then the user's own, then (only when
EXPOSE_PLATFORM_KEYS_TO_WORKSPACES is on) the platform's; with none, a proxy-eligible agent
gets the platform AI proxy when it is on. With `proxy` delivery (SPEC 22.1) a user's or
project's API key stays here: the agent is pointed at the proxy, which sends that key
upstream (`ai_proxy.own_keys` asks this same function). Nothing is decrypted here.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings

from catalog.agents import AGENTS, API_KEY, AgentSpec
from catalog.config import (
    ProxyOffer,
    StoredConfig,
    own_keys_stay_here,
    proxy_offer,
    stored_config,
)
from credentials.models import Credential, Scope


class Delivery(StrEnum):
    DIRECT = "direct"  # the secret itself goes to the VM
    PROXY = "proxy"  # the VM is pointed at the platform AI proxy
    NONE = "none"  # the agent cannot start without a key


class Unavailable(StrEnum):
    """Why an agent gets nothing."""

    NOT_ELIGIBLE = "not_eligible"  # it cannot use the platform AI at all
    PROXY_DISABLED = "proxy_disabled"


@dataclass(frozen=True)
class AgentAccess:
    agent: AgentSpec
    delivery: Delivery
    credential: Credential | None = None  # the row in force, if any
    offer: ProxyOffer | None = None  # where the proxy is, when delivery is PROXY
    # The project has keys for this agent but all are switched off: resolution stopped there.
    halted_by_project: bool = False
    unavailable: Unavailable | None = None

    @property
    def source(self) -> str:
        """`project`, `user` or `platform`: whose key is used (the platform's, for the proxy
        with no key of the workspace's own)."""
        return self.credential.scope if self.credential is not None else Scope.PLATFORM


def pick(rows: Iterable[Credential]) -> tuple[Credential | None, bool]:
    """The row in force among one agent's candidate rows, and whether a project whose rows
    are all inactive stopped resolution (an admin who turned a project key off means "not
    with this key", not "fall back to the user's")."""
    by_scope: dict[str, list[Credential]] = defaultdict(list)
    for row in rows:
        by_scope[row.scope].append(row)
    project_rows = by_scope.get(Scope.PROJECT)
    if project_rows:
        active = next((row for row in project_rows if row.is_active), None)
        return active, active is None
    for scope in (Scope.USER, Scope.PLATFORM):
        active_rows = [row for row in by_scope.get(scope, ()) if row.is_active]
        if active_rows:
            return active_rows[0], False
    return None, False


def stays_here(agent: AgentSpec, credential: Credential, config: StoredConfig) -> bool:
    """A user's or project's API key that the proxy sends upstream instead of the VM
    (SPEC 22.1: `proxy` delivery for the agent). OAuth credentials and platform keys an
    admin chose to expose always go to the VM."""
    return (
        credential.scope != Scope.PLATFORM
        and credential.kind == API_KEY
        and own_keys_stay_here(agent, config)
    )


def decide_access(
    *, agent: AgentSpec, rows: Iterable[Credential], config: StoredConfig
) -> AgentAccess:
    """The decision, over the agent's candidate rows (`Credential.objects.
    resolution_candidates`) and the proxy configuration in force."""
    credential, halted = pick(rows)
    if credential is not None and stays_here(agent, credential, config):
        offer = proxy_offer(agent, config)
        if offer is None:  # the proxy is off: the key cannot be used, and is not handed out
            return AgentAccess(
                agent, Delivery.NONE, credential=credential, unavailable=Unavailable.PROXY_DISABLED
            )
        return AgentAccess(agent, Delivery.PROXY, credential=credential, offer=offer)
    if credential is not None:
        return AgentAccess(agent, Delivery.DIRECT, credential=credential)
    offer = proxy_offer(agent, config)
    if offer is not None:
        return AgentAccess(agent, Delivery.PROXY, offer=offer, halted_by_project=halted)
    unavailable = Unavailable.PROXY_DISABLED if agent.proxy_eligible else Unavailable.NOT_ELIGIBLE
    return AgentAccess(agent, Delivery.NONE, halted_by_project=halted, unavailable=unavailable)


def candidates_by_agent(
    *, user_id: int, project_id: int | None, agent_types: Iterable[str]
) -> dict[str, list[Credential]]:
    """Every row resolution may use for these agents, in one query, by agent."""
    rows: dict[str, list[Credential]] = defaultdict(list)
    for row in Credential.objects.resolution_candidates(
        user_id=user_id,
        project_id=project_id,
        agent_types=list(agent_types),
        include_platform=settings.EXPOSE_PLATFORM_KEYS_TO_WORKSPACES,
    ):
        rows[row.agent_type].append(row)
    return rows


def workspace_access(*, user_id: int, project_id: int | None, agent: AgentSpec) -> AgentAccess:
    """What a workspace of this user (in this project, or none) gets for one agent."""
    rows = candidates_by_agent(
        user_id=user_id, project_id=project_id, agent_types=[agent.agent_type]
    )
    return decide_access(agent=agent, rows=rows[agent.agent_type], config=stored_config())


def user_access(*, user_id: int, project_id: int | None) -> list[AgentAccess]:
    """The decision for every agent of the catalog, in one query (the agents page)."""
    rows = candidates_by_agent(user_id=user_id, project_id=project_id, agent_types=AGENTS)
    config = stored_config()
    return [decide_access(agent=spec, rows=rows[a], config=config) for a, spec in AGENTS.items()]


def synced_credential(
    *, user_id: int, project_id: int | None, agent_type: str
) -> Credential | None:
    """The row a VM's refreshed credential goes back to: the user's or project's row in
    force, never a platform row (SPEC §8)."""
    rows = Credential.objects.resolution_candidates(
        user_id=user_id, project_id=project_id, agent_types=[agent_type], include_platform=False
    )
    return pick(rows)[0]
