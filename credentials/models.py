from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import CharField, OuterRef, Q, Subquery
from django.db.models.functions import Cast

from audit.models import AuditAction, AuditEvent, target_type_of
from catalog.agents import AGENT_CHOICES, API_KEY, KIND_CHOICES
from credentials.encryption import keyring
from credentials.fields import SealedSecretField
from credentials.formats import secret_last4


class Project(models.Model):
    """A tenant's project. The owner is the tenant; members are out of scope."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="project_unique_name_per_owner")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A new owner would take over the workspaces of the old one, and they its keys."""
        if self.pk is None or self.owner_id is None:
            return
        if self.workspaces.exclude(user_id=self.owner_id).exists():
            raise ValidationError(
                {"owner": "Workspaces of another user are in this project: move them first."}
            )


# The label a platform key gets when none is given: its pool's first member (SPEC 21).
PRIMARY_LABEL = "primary"


class Scope(models.TextChoices):
    USER = "user", "User"
    PROJECT = "project", "Project"
    PLATFORM = "platform", "Platform"


class CredentialQuerySet(models.QuerySet["Credential"]):
    def resolution_candidates(
        self,
        *,
        user_id: int,
        project_id: int | None,
        agent_types: list[str],
        include_platform: bool,
    ) -> "CredentialQuerySet":
        """Every row resolution may need for these agents, in one query.

        All of the project's rows come back, inactive ones included: a project whose rows
        for an agent are all inactive stops resolution (see `resolution.pick`). Project
        rows are matched on the project's owner too, so a workspace never gets the key of
        another user's project, whatever its row says.
        """
        scopes = Q(scope=Scope.USER, owner_id=user_id, is_active=True)
        if project_id is not None:
            scopes |= Q(scope=Scope.PROJECT, project_id=project_id, project__owner_id=user_id)
        if include_platform:
            scopes |= Q(scope=Scope.PLATFORM, is_active=True)
        return self.filter(scopes, agent_type__in=agent_types)

    def platform_pool(self, agent_type: str) -> "CredentialQuerySet":
        """The active platform keys of an agent: the AI proxy's upstream keys."""
        return self.filter(scope=Scope.PLATFORM, agent_type=agent_type, is_active=True)

    def for_target(
        self, *, scope: str, owner_id: int | None, project_id: int | None
    ) -> "CredentialQuerySet":
        """The rows of one scope target: a user's, a project's, or the platform's."""
        if scope == Scope.PROJECT:
            return self.filter(Q(scope=scope, project_id=project_id))
        if scope == Scope.USER:
            return self.filter(Q(scope=scope, owner_id=owner_id))
        return self.filter(scope=scope)

    def not_on_key(self, key_id: str) -> "CredentialQuerySet":
        return self.exclude(key_id=key_id)

    def with_last_used(self) -> "CredentialQuerySet":
        """Annotate `last_used_at`: when the secret was last handed to a workspace.

        Derived from the `served` audit events instead of stored, so serving a key costs one
        write (the event), not two. The trail index answers it with one index probe per row.
        """
        served = (
            AuditEvent.objects.filter(
                target_type=target_type_of(self.model),
                target_id=Cast(OuterRef("pk"), CharField()),
                action=AuditAction.SERVED,
            )
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        return self.annotate(last_used_at=Subquery(served))


class Credential(models.Model):
    """A secret for one agent, owned by a user, a project, or the platform."""

    # What its audit events show (SPEC §23); the secret itself only as set / changed.
    AUDIT_FIELDS = (
        "scope",
        "owner_id",
        "project_id",
        "agent_type",
        "kind",
        "label",
        "weight",
        "is_active",
        "key_id",
        "hint",
    )

    scope = models.CharField(max_length=16, choices=Scope.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credentials",
    )
    project = models.ForeignKey(
        Project,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credentials",
    )
    agent_type = models.CharField(max_length=32, choices=AGENT_CHOICES)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES, default=API_KEY)
    label = models.CharField(max_length=100, blank=True)
    # Platform keys: the key's share of the requests among the pool's healthy keys.
    weight = models.PositiveSmallIntegerField(
        default=1, help_text="Platform keys: its share of requests among the healthy keys."
    )
    secret = SealedSecretField()
    key_id = models.CharField(max_length=16, db_index=True, editable=False)
    last4 = models.CharField(max_length=4, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    # A user's or project's API key that the AI proxy sends upstream (SPEC 22.1): when the
    # provider last refused it (401/403). Cleared when its secret is set again or the
    # provider takes it.
    provider_refused_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CredentialQuerySet.as_manager()

    class Meta:
        ordering = ["scope", "agent_type", "-is_active", "kind"]
        constraints = [
            models.CheckConstraint(
                name="credential_scope_shape",
                condition=(
                    Q(scope=Scope.USER, owner__isnull=False, project__isnull=True)
                    | Q(scope=Scope.PROJECT, owner__isnull=False, project__isnull=False)
                    | Q(scope=Scope.PLATFORM, owner__isnull=True, project__isnull=True)
                ),
                violation_error_message=(
                    "A user credential has an owner and no project, a project credential has "
                    "both, a platform credential has neither."
                ),
            ),
            models.UniqueConstraint(
                fields=["owner", "agent_type", "kind"],
                condition=Q(scope=Scope.USER),
                name="credential_one_per_user_agent_kind",
                violation_error_message="This user already has a credential of this kind for this agent.",
            ),
            models.UniqueConstraint(
                fields=["project", "agent_type", "kind"],
                condition=Q(scope=Scope.PROJECT),
                name="credential_one_per_project_agent_kind",
                violation_error_message="This project already has a credential of this kind for this agent.",
            ),
            models.UniqueConstraint(
                fields=["owner", "agent_type"],
                condition=Q(scope=Scope.USER, is_active=True),
                name="credential_one_active_per_user_agent",
                violation_error_message="Only one credential per agent can be active for a user.",
            ),
            models.UniqueConstraint(
                fields=["project", "agent_type"],
                condition=Q(scope=Scope.PROJECT, is_active=True),
                name="credential_one_active_per_project_agent",
                violation_error_message="Only one credential per agent can be active for a project.",
            ),
            # The platform holds a pool of keys per agent (SPEC 21), each named by its label.
            models.UniqueConstraint(
                fields=["agent_type", "label"],
                condition=Q(scope=Scope.PLATFORM),
                name="credential_one_per_platform_agent_label",
                violation_error_message="The platform already has a key of this label for this agent.",
            ),
            models.CheckConstraint(
                name="credential_weight_positive",
                condition=Q(weight__gte=1),
                violation_error_message="A key's weight is at least 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.agent_type} {self.kind} {self.hint}"

    @property
    def hint(self) -> str:
        """The masked form shown everywhere a secret would be: `…abcd`, or `…[set]`."""
        return f"…{self.last4}" if self.last4 else "…[set]"

    def audit_label(self) -> str:
        """How the audit trail names this row: `str()`, its label, and whose it is when that
        is already loaded (never a query: `served` events are written on the agent-key path)."""
        name = str(self) + (f" ({self.label})" if self.label else "")
        if self.scope == Scope.PROJECT and Credential.project.is_cached(self):
            return f"{name} of project {self.project}"
        if self.scope == Scope.USER and Credential.owner.is_cached(self):
            return f"{name} of {self.owner}"
        return name

    def set_secret(self, plaintext: str) -> None:
        """Encrypt under the newest key and keep the display hint. Does not save."""
        self.secret = keyring().seal(plaintext)
        self.key_id = self.secret.key_id
        self.last4 = secret_last4(plaintext)

    def reveal_secret(self) -> str:
        """The plaintext. Raises `UnreadableSecret` when no configured key opens it."""
        return keyring().open(self.secret)

    def target_rows(self) -> CredentialQuerySet:
        """The rows that share this row's scope target (including this one)."""
        return Credential.objects.for_target(
            scope=self.scope, owner_id=self.owner_id, project_id=self.project_id
        )


# One admin page per scope sits on the one table (SPEC §2); the pages filter by scope.
class PlatformCredential(Credential):
    class Meta:
        proxy = True
        verbose_name = "platform credential"


class UserCredential(Credential):
    class Meta:
        proxy = True
        verbose_name = "user credential"


class ProjectCredential(Credential):
    class Meta:
        proxy = True
        verbose_name = "project credential"
