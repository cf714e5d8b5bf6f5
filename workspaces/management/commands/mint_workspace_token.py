import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from workspaces.models import Workspace
from workspaces.tokens import callback_token_mint


class Command(BaseCommand):
    help = "Mint a new callback token for a running workspace and print it once (JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace_id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workspace = Workspace.objects.get(pk=options["workspace_id"])
        except (Workspace.DoesNotExist, ValidationError):
            raise CommandError(f"No workspace {options['workspace_id']!r}.") from None
        if not workspace.is_running:
            raise CommandError(
                f"Workspace {workspace.pk} is {workspace.status}; tokens would be refused."
            )
        token, raw = callback_token_mint(workspace=workspace, actor_label="mint_workspace_token")
        self.stdout.write(
            json.dumps(
                {
                    "workspace_id": str(workspace.pk),
                    "callback_token": raw,
                    "expires_at": token.expires_at.isoformat(),
                }
            )
        )
