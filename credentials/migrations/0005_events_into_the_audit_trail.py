"""Credential events move into the one audit trail (`audit.AuditEvent`), which every change
of the platform now writes to: each row is copied with its time, action and actor, the
`served` rows included (a credential's "last used" is read from them), then the old table
goes. Whoever could read the old trail in the admin can read the new one."""

from django.db import migrations

BATCH = 1000
CREDENTIAL = "credentials.credential"


def _label(event):
    return f"{event.scope.title()} {event.agent_type} {event.kind}"


def _actor(event):
    if event.actor_user_id is not None:
        return "user", event.actor_user.username
    if event.actor_workspace_id is not None:
        return "workspace", ""
    return "system", ""


def copy_events(apps, schema_editor):
    old = apps.get_model("credentials", "CredentialEvent")
    new = apps.get_model("audit", "AuditEvent")
    batch = []
    for event in old.objects.select_related("actor_user").order_by("id").iterator(BATCH):
        kind, label = _actor(event)
        batch.append(
            new(
                created_at=event.created_at,
                action=event.action,
                target_type=CREDENTIAL,
                # A deleted credential's events had lost its id (SET_NULL).
                target_id="" if event.credential_id is None else str(event.credential_id),
                target_label=_label(event),
                actor_kind=kind,
                actor_user_id=event.actor_user_id,
                actor_workspace_id=event.actor_workspace_id,
                actor_label=label,
                superusers_only=event.scope == "platform",
            )
        )
        if len(batch) == BATCH:
            new.objects.bulk_create(batch)
            batch = []
    new.objects.bulk_create(batch)


def _shape(row, event):
    """scope, agent_type and kind of an event's credential: from the row while it exists,
    else from the event's snapshots, else from its label ("Platform claude-code api-key …")."""
    if row is not None:
        return row.scope, row.agent_type, row.kind
    snapshot = event.after or event.before
    if snapshot:
        return snapshot["scope"], snapshot["agent_type"], snapshot["kind"]
    words = event.target_label.split()
    if len(words) < 3:
        return "", "", ""
    return words[0].lower(), words[1], words[2]


def copy_events_back(apps, schema_editor):
    old = apps.get_model("credentials", "CredentialEvent")
    new = apps.get_model("audit", "AuditEvent")
    credential = apps.get_model("credentials", "Credential")
    # The old column is auto_now_add; the events keep their own times. (This model class
    # belongs to this migration's state only.)
    old._meta.get_field("created_at").auto_now_add = False
    rows = {str(row.pk): row for row in credential.objects.all()}
    batch = []
    for event in new.objects.filter(target_type=CREDENTIAL).order_by("id").iterator(BATCH):
        row = rows.get(event.target_id)
        scope, agent_type, kind = _shape(row, event)
        batch.append(
            old(
                credential=row,
                action=event.action,
                scope=scope,
                agent_type=agent_type,
                kind=kind,
                actor_user_id=event.actor_user_id,
                actor_workspace_id=event.actor_workspace_id,
                created_at=event.created_at,
            )
        )
    old.objects.bulk_create(batch, batch_size=BATCH)
    new.objects.filter(target_type=CREDENTIAL).delete()


def grant_audit_view(apps, schema_editor):
    """Users and groups that could view credential events may view audit events."""
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    old = permission.objects.filter(
        content_type__app_label="credentials",
        content_type__model="credentialevent",
        codename="view_credentialevent",
    ).first()
    if old is None:
        return
    audit_type, _ = content_type.objects.get_or_create(app_label="audit", model="auditevent")
    view, _ = permission.objects.get_or_create(
        content_type=audit_type,
        codename="view_auditevent",
        defaults={"name": "Can view audit event"},
    )
    view.user_set.add(*old.user_set.all())
    view.group_set.add(*old.group_set.all())


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0004_rename_project_table"),
        ("audit", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(copy_events, copy_events_back),
        migrations.RunPython(grant_audit_view, migrations.RunPython.noop),
        migrations.DeleteModel(name="CredentialEvent"),
    ]
