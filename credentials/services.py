"""Writes to credentials. Each one records its audit event in the same transaction."""

from typing import Any

from django.db import transaction

from catalog.agents import get_agent
from credentials.encryption import UnreadableSecret
from credentials.formats import check_secret_format
from credentials.models import Action, Credential, CredentialEvent, Scope


def _event(credential: Credential, action: str, **actors: Any) -> None:
    CredentialEvent.for_credential(credential, action, **actors).save()


def _deactivate_siblings(credential: Credential, actor: Any) -> None:
    """Turn off the other active rows of the same scope target and agent (one active each)."""
    siblings = (
        credential.target_rows()
        .filter(agent_type=credential.agent_type, is_active=True)
        .exclude(pk=credential.pk)
        .select_for_update()
    )
    for sibling in siblings:
        sibling.is_active = False
        sibling.updated_by = actor
        sibling.save(update_fields=["is_active", "updated_by", "updated_at"])
        _event(sibling, Action.DEACTIVATED, actor_user=actor)


@transaction.atomic
def credential_save(
    *,
    scope: str,
    agent_type: str,
    kind: str,
    secret: str,
    owner: Any = None,
    project: Any = None,
    label: str | None = None,
    active: bool = True,
    actor: Any = None,
) -> tuple[Credential, bool]:
    """Create the row for (scope target, agent, kind) or replace its secret.

    Raises `UnknownAgent` / `CredentialFormatError` for values that cannot work. An active
    row turns the target's other rows for this agent off. Returns (row, created).
    """
    get_agent(agent_type)
    check_secret_format(agent_type, kind, secret)
    if scope == Scope.PROJECT:
        owner = project.owner
    credential = (
        Credential.objects.for_target(
            scope=scope,
            owner_id=owner.pk if owner is not None else None,
            project_id=project.pk if project is not None else None,
        )
        .filter(agent_type=agent_type, kind=kind)
        .select_for_update()
        .first()
    )
    created = credential is None
    if credential is None:
        credential = Credential(
            scope=scope,
            owner=owner,
            project=project,
            agent_type=agent_type,
            kind=kind,
            created_by=actor,
        )
    credential.set_secret(secret)
    if label is not None:
        credential.label = label
    credential.is_active = active
    credential.updated_by = actor
    if active:
        _deactivate_siblings(credential, actor)
    credential.save()
    _event(credential, Action.CREATED if created else Action.UPDATED, actor_user=actor)
    return credential, created


@transaction.atomic
def credential_set_active(*, credential: Credential, active: bool, actor: Any = None) -> bool:
    """Switch a row on or off; switching on turns its siblings off. Returns whether it changed."""
    if credential.is_active == active:
        return False
    if active:
        _deactivate_siblings(credential, actor)
    credential.is_active = active
    credential.updated_by = actor
    credential.save(update_fields=["is_active", "updated_by", "updated_at"])
    _event(credential, Action.ACTIVATED if active else Action.DEACTIVATED, actor_user=actor)
    return True


@transaction.atomic
def credential_relabel(*, credential: Credential, label: str, actor: Any = None) -> bool:
    """Change a row's label (its secret untouched). Returns whether it changed."""
    if credential.label == label:
        return False
    credential.label = label
    credential.updated_by = actor
    credential.save(update_fields=["label", "updated_by", "updated_at"])
    _event(credential, Action.UPDATED, actor_user=actor)
    return True


@transaction.atomic
def credential_delete(*, credential: Credential, actor: Any = None) -> None:
    _event(credential, Action.DELETED, actor_user=actor)
    credential.delete()


def credential_record_served(*, credential: Credential, workspace: Any) -> None:
    """Audit a secret handed to a VM. One INSERT: this runs on the agent-key hot path."""
    _event(credential, Action.SERVED, actor_workspace_id=workspace.pk)


@transaction.atomic
def credential_sync(*, credential: Credential, secret: str, workspace: Any) -> bool:
    """Store a refreshed secret a VM sent back; returns False when it is unchanged."""
    check_secret_format(credential.agent_type, credential.kind, secret)
    credential = Credential.objects.select_for_update().get(pk=credential.pk)
    try:
        unchanged = credential.reveal_secret() == secret
    except UnreadableSecret:
        unchanged = False  # the VM holds a newer, readable value: storing it repairs the row
    if unchanged:
        return False
    credential.set_secret(secret)
    credential.save(update_fields=["secret", "key_id", "last4", "updated_at"])
    _event(credential, Action.SYNCED, actor_workspace_id=workspace.pk)
    return True


def credential_reencrypt(*, credential: Credential) -> None:
    """Re-encrypt one row under the newest key (raises `UnreadableSecret`)."""
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        credential.set_secret(credential.reveal_secret())
        credential.save(update_fields=["secret", "key_id", "last4"])
        _event(credential, Action.ROTATED)
