import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from credentials.models import Project


class WorkspaceStatus(models.TextChoices):
    RUNNING = "running"
    STOPPED = "stopped"
    DELETED = "deleted"


class Workspace(models.Model):
    """A cloud VM running coding agents for one user (and maybe one project)."""

    # What its audit events show (SPEC §23): stopping it, revoking its tokens.
    AUDIT_FIELDS = ("user_id", "project_id", "status")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="workspaces"
    )
    project = models.ForeignKey(
        "credentials.Project",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="workspaces",
    )
    status = models.CharField(
        max_length=16, choices=WorkspaceStatus.choices, default=WorkspaceStatus.RUNNING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name or str(self.id)

    def clean(self) -> None:
        """A workspace's project is one of its user's: agent-key hands the workspace the
        project's keys."""
        if self.project_id is None or self.user_id is None:
            return
        owner_id = Project.objects.filter(pk=self.project_id).values_list("owner_id", flat=True)
        if owner_id.first() != self.user_id:
            raise ValidationError(
                {
                    "project": "This project belongs to another user: choose one of the workspace user's projects."
                }
            )

    @property
    def is_running(self) -> bool:
        return self.status == WorkspaceStatus.RUNNING


class TokenKind(models.TextChoices):
    CALLBACK = "callback", "Callback (workspace API)"
    PROXY = "proxy", "Proxy (AI proxy only)"


class WorkspaceToken(models.Model):
    """A bearer token of a workspace, stored only as its SHA-256 hash (see `tokens.py`)."""

    # What its audit events show (SPEC §23): never the hash.
    AUDIT_FIELDS = ("workspace_id", "kind", "prefix", "expires_at", "revoked_at")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=16, choices=TokenKind.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.prefix}…"

    def __repr__(self) -> str:
        return f"<WorkspaceToken {self.pk} {self.kind} {self.prefix}…>"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class CredentialSource(models.TextChoices):
    USER = "user"
    PROJECT = "project"
    PLATFORM = "platform"
    PROXY = "proxy"


class Task(models.Model):
    """Work an agent does in a workspace; remembers where its agent's credential came from."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    # NULL (not "") until an agent-key call sets it: "never resolved" is not a source.
    agent_credential_source = models.CharField(  # noqa: DJ001
        max_length=16, choices=CredentialSource.choices, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"])]

    def __str__(self) -> str:
        return self.title
