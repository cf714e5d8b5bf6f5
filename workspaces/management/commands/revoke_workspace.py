import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from workspaces.models import Workspace
from workspaces.tokens import workspace_stop


class Command(BaseCommand):
    help = "Stop a workspace and revoke all its tokens: its agents are cut off at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace_id")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workspace = Workspace.objects.get(pk=options["workspace_id"])
        except (Workspace.DoesNotExist, ValidationError):
            raise CommandError(f"No workspace {options['workspace_id']!r}.") from None
        revoked = workspace_stop(workspace=workspace, actor_label="revoke_workspace")
        self.stdout.write(
            json.dumps(
                {
                    "workspace_id": str(workspace.pk),
                    "status": workspace.status,
                    "tokens_revoked": revoked,
                }
            )
        )
