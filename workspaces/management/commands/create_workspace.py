import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from credentials.models import Project
from workspaces.models import Workspace
from workspaces.tokens import callback_token_mint


class Command(BaseCommand):
    help = (
        "Create a running workspace for a user and print one JSON line with its id and "
        "callback token (shown once)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="Username of the workspace's owner.")
        parser.add_argument("--project", help="Name of one of the user's projects.")
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="Create the user (without a usable password) and the project when missing.",
        )
        parser.add_argument("--name", default="", help="A display name for the workspace.")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["user"]
        if options["create_user"]:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(username=username)
                user.set_unusable_password()
                user.save()
        else:
            try:
                user = user_model.objects.get(username=username)
            except user_model.DoesNotExist:
                raise CommandError(
                    f"No user named {username!r}; pass --create-user to create it."
                ) from None

        project = None
        if options["project"]:
            if options["create_user"]:
                project, _ = Project.objects.get_or_create(owner=user, name=options["project"])
            else:
                project = Project.objects.filter(owner=user, name=options["project"]).first()
                if project is None:
                    raise CommandError(
                        f"{username!r} has no project named {options['project']!r}; "
                        "pass --create-user to create it."
                    )

        workspace = Workspace(user=user, project=project, name=options["name"])
        try:
            workspace.full_clean()
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        workspace.save()
        _token, raw = callback_token_mint(workspace=workspace, actor_label="create_workspace")
        self.stdout.write(
            json.dumps(
                {
                    "workspace_id": str(workspace.pk),
                    "callback_token": raw,
                    "user": user.get_username(),
                    "project": project.name if project else None,
                }
            )
        )
