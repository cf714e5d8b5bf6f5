"""Writes to credentials. Each one records its audit event in the same transaction."""

from typing import Any

from django.db import transaction

from audit.models import AuditAction
from audit.services import SecretChange, audit_record, audit_snapshot
from catalog.agents import get_agent
from credentials.encryption import UnreadableSecret
from credentials.formats import check_secret_format
from credentials.models import PRIMARY_LABEL, Credential, Scope


def snapshot(credential: Credential, secret: SecretChange | None = None) -> dict[str, Any]:
    """What the audit trail keeps of a row: its allow-listed fields, never the secret."""
    return audit_snapshot(credential, Credential.AUDIT_FIELDS, secret=secret)


def _event(credential: Credential, action: str, **details: Any) -> None:
    """The row's audit event. Platform keys' events are for superusers, as the keys are."""
    audit_record(
        action=action,
        target=credential,
        target_label=credential.audit_label(),
        superusers_only=credential.scope == Scope.PLATFORM,
        **details,
    )


def _secret_change(credential: Credential | None, secret: str) -> SecretChange:
    if credential is None:
        return SecretChange.SET
    try:
        same = credential.reveal_secret() == secret
    except UnreadableSecret:
        same = False
    return SecretChange.UNCHANGED if same else SecretChange.CHANGED


def _deactivate_siblings(credential: Credential, actor: Any, actor_label: str) -> None:
    """Turn off the other active rows of the same scope target and agent (one active each
    for a user or a project; the platform holds a pool of active keys)."""
    if credential.scope == Scope.PLATFORM:
        return
    siblings = (
        credential.target_rows()
        .filter(agent_type=credential.agent_type, is_active=True)
        .exclude(pk=credential.pk)
        .select_related("owner", "project")  # named in their audit events
        .select_for_update(of=("self",))
    )
    for sibling in siblings:
        before = snapshot(sibling)
        sibling.is_active = False
        sibling.updated_by = actor
        sibling.save(update_fields=["is_active", "updated_by", "updated_at"])
        _event(
            sibling,
            AuditAction.DEACTIVATED,
            before=before,
            after=snapshot(sibling),
            actor_user=actor,
            actor_label=actor_label,
        )


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
    weight: int | None = None,
    active: bool = True,
    actor: Any = None,
    actor_label: str = "",
) -> tuple[Credential, bool]:
    """Create the row for (scope target, agent, kind) — for the platform's pool: (agent,
    label) — or replace its secret.

    Raises `UnknownAgent` / `CredentialFormatError` for values that cannot work. An active
    user or project row turns the target's other rows for this agent off. Returns (row,
    created). `actor` is the user making the change; without one, `actor_label` names the
    command.
    """
    get_agent(agent_type)
    check_secret_format(agent_type, kind, secret)
    if scope == Scope.PROJECT:
        owner = project.owner
    if scope == Scope.PLATFORM:
        label = label or PRIMARY_LABEL
    credential = (
        Credential.objects.for_target(
            scope=scope,
            owner_id=owner.pk if owner is not None else None,
            project_id=project.pk if project is not None else None,
        )
        .filter(
            agent_type=agent_type,
            **({"label": label} if scope == Scope.PLATFORM else {"kind": kind}),
        )
        .select_for_update()
        .first()
    )
    created = credential is None
    before = None if credential is None else snapshot(credential)
    secret_change = _secret_change(credential, secret)
    if credential is None:
        credential = Credential(
            scope=scope,
            owner=owner,
            project=project,
            agent_type=agent_type,
            kind=kind,
            created_by=actor,
        )
    else:
        # The row's own owner and project (it was found by them), now loaded for the event.
        credential.owner, credential.project = owner, project
    credential.set_secret(secret)
    credential.provider_refused_at = None  # a new secret: the provider has not refused it
    credential.kind = kind
    if label is not None:
        credential.label = label
    if weight is not None:
        credential.weight = weight
    credential.is_active = active
    credential.updated_by = actor
    if active:
        _deactivate_siblings(credential, actor, actor_label)
    credential.save()
    _event(
        credential,
        AuditAction.CREATED if created else AuditAction.UPDATED,
        before=before,
        after=snapshot(credential, secret_change),
        actor_user=actor,
        actor_label=actor_label,
    )
    return credential, created


@transaction.atomic
def credential_set_active(
    *, credential: Credential, active: bool, actor: Any = None, actor_label: str = ""
) -> bool:
    """Switch a row on or off; switching on turns its siblings off. Returns whether it changed."""
    if credential.is_active == active:
        return False
    if active:
        _deactivate_siblings(credential, actor, actor_label)
    before = snapshot(credential)
    credential.is_active = active
    credential.updated_by = actor
    credential.save(update_fields=["is_active", "updated_by", "updated_at"])
    _event(
        credential,
        AuditAction.ACTIVATED if active else AuditAction.DEACTIVATED,
        before=before,
        after=snapshot(credential),
        actor_user=actor,
        actor_label=actor_label,
    )
    return True


@transaction.atomic
def credential_edit(
    *,
    credential: Credential,
    label: str,
    weight: int | None = None,
    actor: Any = None,
    actor_label: str = "",
) -> bool:
    """Change a row's label or weight (its secret untouched). Returns whether it changed."""
    weight = credential.weight if weight is None else weight
    if credential.scope == Scope.PLATFORM:
        label = label or PRIMARY_LABEL
    if (credential.label, credential.weight) == (label, weight):
        return False
    before = snapshot(credential)
    credential.label, credential.weight = label, weight
    credential.updated_by = actor
    credential.save(update_fields=["label", "weight", "updated_by", "updated_at"])
    _event(
        credential,
        AuditAction.UPDATED,
        before=before,
        after=snapshot(credential),
        actor_user=actor,
        actor_label=actor_label,
    )
    return True


@transaction.atomic
def credential_delete(*, credential: Credential, actor: Any = None, actor_label: str = "") -> None:
    _event(
        credential,
        AuditAction.DELETED,
        before=snapshot(credential),
        actor_user=actor,
        actor_label=actor_label,
    )
    credential.delete()


def credential_record_served(*, credential: Credential, workspace: Any) -> None:
    """Audit a secret handed to a VM. One INSERT: this runs on the agent-key hot path."""
    _event(credential, AuditAction.SERVED, actor_workspace_id=workspace.pk)


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
    before = snapshot(credential)
    credential.set_secret(secret)
    credential.provider_refused_at = None
    credential.save(
        update_fields=["secret", "key_id", "last4", "provider_refused_at", "updated_at"]
    )
    _event(
        credential,
        AuditAction.SYNCED,
        before=before,
        after=snapshot(credential, SecretChange.CHANGED),
        actor_workspace_id=workspace.pk,
    )
    return True


def credential_reencrypt(*, credential: Credential, actor_label: str = "") -> None:
    """Re-encrypt one row under the newest key (raises `UnreadableSecret`)."""
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        before = snapshot(credential)
        credential.set_secret(credential.reveal_secret())
        credential.save(update_fields=["secret", "key_id", "last4"])
        _event(
            credential,
            AuditAction.ROTATED,
            before=before,
            after=snapshot(credential, SecretChange.UNCHANGED),
            actor_label=actor_label,
        )


def credential_provider_verdict(*, credential_id: int, refused_at: Any) -> None:
    """What the provider said of a user's or project's key the AI proxy sent upstream:
    refused (401/403) at `refused_at`, or accepted (None). Shown on the agents page; not an
    audited change."""
    Credential.objects.filter(pk=credential_id).update(provider_refused_at=refused_at)
