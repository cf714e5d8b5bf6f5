"""The audit trail: one row per change to a credential, a proxy setting, a catalog entry, a
per-user limit, a platform key's health or a workspace token, and per secret handed to a VM.

This app sits below every other one (each of them writes here), so it names its targets by
model label and primary key instead of foreign keys: an event outlives what it is about.
It never holds a secret: writers pass snapshots made by `audit.services.audit_snapshot`,
which copies only the fields a model allow-lists (its `AUDIT_FIELDS`, which also marks it
as audited: the admin's target-type filter lists those models).
"""

from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    ACTIVATED = "activated"
    DEACTIVATED = "deactivated"
    ENABLED = "enabled"
    DISABLED = "disabled"
    SERVED = "served"  # a credential's secret handed to a VM (agent-key)
    SYNCED = "synced"  # a credential refreshed by a VM (agent-credential-sync)
    ROTATED = "rotated"  # re-encrypted under the newest key; the secret is unchanged
    MINTED = "minted"
    REVOKED = "revoked"
    STOPPED = "stopped"
    HEALTH_RESET = "health-reset", "Health reset"  # a platform pool key put back in service


class ActorKind(models.TextChoices):
    USER = "user", "Person"
    WORKSPACE = "workspace", "Workspace"
    SYSTEM = "system", "System (management command)"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def visible_to(self, user: Any) -> "AuditEventQuerySet":
        """The one rule for who reads what: events about what only superusers may see (platform
        keys, proxy settings, the catalog, per-user limits) are for superusers alone."""
        if user.is_active and user.is_superuser:
            return self
        return self.filter(superusers_only=False)

    def of_target(self, model: type[models.Model], target_id: Any) -> "AuditEventQuerySet":
        return self.filter(target_type=target_type_of(model), target_id=str(target_id))


def target_type_of(model: type[models.Model] | models.Model) -> str:
    """What events name a model by: its concrete model's label (a proxy model's rows are
    the concrete model's rows)."""
    concrete = model._meta.concrete_model
    assert concrete is not None
    return concrete._meta.label_lower


class AuditEvent(models.Model):
    """Who changed what, when, with the non-secret fields before and after."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    # The target: a model label (`credentials.credential`), a primary key, and what it read
    # as at the time, so the event still reads once the row is gone.
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=100, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    actor_kind = models.CharField("kind of actor", max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The workspace a secret was served to or synced from, by id: the trail outlives it.
    actor_workspace_id = models.UUIDField("actor workspace", null=True, blank=True, db_index=True)
    # The username (kept when the user is deleted) or the management command's name.
    actor_label = models.CharField(max_length=150, blank=True)
    # Snapshots (`audit.services.audit_snapshot`): field name → JSON value, or None.
    before: "models.JSONField[Any, Any]" = models.JSONField(
        null=True, blank=True, encoder=DjangoJSONEncoder
    )
    after: "models.JSONField[Any, Any]" = models.JSONField(
        null=True, blank=True, encoder=DjangoJSONEncoder
    )
    superusers_only = models.BooleanField(default=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit event"
        indexes = [
            # A target's trail, and a credential's last `served` event (its "last used").
            models.Index(
                fields=["target_type", "target_id", "action", "-created_at"],
                name="audit_target_trail",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_label or self.target_type}"

    @property
    def actor(self) -> str:
        """Who did it, as a person reads it."""
        if self.actor_kind == ActorKind.USER:
            return self.actor_label or "a deleted user"
        if self.actor_kind == ActorKind.WORKSPACE:
            return f"workspace {self.actor_workspace_id}"
        return f"system ({self.actor_label})" if self.actor_label else "system"

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field either snapshot has, in their order."""
        before, after = self.before or {}, self.after or {}
        names = list(before) + [name for name in after if name not in before]
        return [(name, before.get(name), after.get(name)) for name in names]
