"""Writing the audit trail. Callers record the event in the transaction of the change.

Snapshots copy an explicit allow-list of fields (each model names its `AUDIT_FIELDS`), so a
field added later, secret or not, stays out of the trail until someone lists it. A secret
is never copied: a snapshot can only say that it was set, changed or left unchanged.
"""

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db.backends.utils import format_number
from django.db.models import DecimalField, Model

from audit.models import ActorKind, AuditEvent, target_type_of

_LABEL_CHARS = AuditEvent._meta.get_field("target_label").max_length or 200


class SecretChange(StrEnum):
    """All a snapshot may say about a secret."""

    SET = "set"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


def audit_snapshot(
    obj: Model, fields: Iterable[str], **secrets: SecretChange | None
) -> dict[str, Any]:
    """The allow-listed `fields` of `obj` (attribute names: `owner_id`, `hint`), as JSON
    values, plus a marker per named secret (`secret=SecretChange.CHANGED`)."""
    values = {name: _value(obj, name) for name in fields}
    for name, change in secrets.items():
        if change is None:
            continue
        if not isinstance(change, SecretChange):
            raise TypeError(f"{name} must be a SecretChange, never a value")
        values[name] = change.value
    # Stored and compared as JSON: decimals and times read the same before and after.
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def _value(obj: Model, name: str) -> Any:
    value = getattr(obj, name)
    if isinstance(value, datetime):
        return value.isoformat()  # to the microsecond (the JSON encoder keeps milliseconds)
    try:
        field = obj._meta.get_field(name)
    except FieldDoesNotExist:
        return value  # a property, such as a credential's `hint`
    if isinstance(field, DecimalField) and value is not None:
        # A form's 1.5 and the database's 1.5000 are the same price.
        return format_number(value, field.max_digits, field.decimal_places)
    return value


def audit_record(
    *,
    action: str,
    target: Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_user: Any = None,
    actor_workspace_id: uuid.UUID | None = None,
    actor_label: str = "",
    target_label: str | None = None,
    superusers_only: bool = False,
) -> AuditEvent | None:
    """Record one event (one INSERT, no other query: it runs on the agent-key path).

    The actor is a user, else a workspace, else the system, with `actor_label` naming the
    management command. An update whose snapshots are equal changed nothing audited and is
    not recorded (returns None).
    """
    if before is not None and after is not None and before == after:
        return None
    if actor_user is not None and actor_workspace_id is not None:
        raise ValueError("an event has one actor: a user or a workspace")
    if actor_user is not None:
        kind, actor_label = ActorKind.USER, actor_user.get_username()
    elif actor_workspace_id is not None:
        kind = ActorKind.WORKSPACE
    else:
        kind = ActorKind.SYSTEM
    label = str(target) if target_label is None else target_label
    return AuditEvent.objects.create(
        action=action,
        target_type=target_type_of(target),
        target_id="" if target.pk is None else str(target.pk),
        target_label=label[:_LABEL_CHARS],
        actor_kind=kind,
        actor_user=actor_user,
        actor_workspace_id=actor_workspace_id,
        actor_label=actor_label,
        before=before,
        after=after,
        superusers_only=superusers_only,
    )
