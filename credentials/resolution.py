"""Which credential an agent in a workspace gets: project, then user, then (maybe) platform."""

from collections.abc import Iterable

from credentials.models import Credential, Scope


def pick(rows: Iterable[Credential]) -> Credential | None:
    """Choose among the rows of `resolution_candidates`.

    A project with rows for the agent but none active stops resolution: an admin who turned
    a project key off means "not with this key", not "fall back to the user's".
    """
    by_scope: dict[str, list[Credential]] = {}
    for row in rows:
        by_scope.setdefault(row.scope, []).append(row)
    project_rows = by_scope.get(Scope.PROJECT)
    if project_rows:
        return next((row for row in project_rows if row.is_active), None)
    for scope in (Scope.USER, Scope.PLATFORM):
        active = [row for row in by_scope.get(scope, ()) if row.is_active]
        if active:
            return active[0]
    return None


def resolve_agent_credential(
    *, user_id: int, project_id: int | None, agent_type: str, include_platform: bool
) -> Credential | None:
    """The credential in force for this agent, in one query. The secret is not opened here."""
    return pick(
        Credential.objects.resolution_candidates(
            user_id=user_id,
            project_id=project_id,
            agent_type=agent_type,
            include_platform=include_platform,
        )
    )


def platform_credential(agent_type: str) -> Credential | None:
    """The active platform row for an agent: the AI proxy's upstream key."""
    return Credential.objects.filter(
        scope=Scope.PLATFORM, agent_type=agent_type, is_active=True
    ).first()
