import getpass
import json
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.agents import AGENTS, API_KEY, CREDENTIAL_KINDS, UnknownAgent
from credentials.formats import CredentialFormatError
from credentials.models import PRIMARY_LABEL, Project, Scope
from credentials.services import credential_save


class Command(BaseCommand):
    help = (
        "Store a credential, reading the secret from standard input (never from the command "
        "line), and print one JSON line describing it without the secret."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scope", required=True, choices=[s.value for s in Scope])
        parser.add_argument("--agent", required=True, choices=list(AGENTS))
        parser.add_argument("--user", help="Username (required for user and project scope).")
        parser.add_argument("--project", help="Name of a project of --user (project scope).")
        parser.add_argument("--kind", default=API_KEY, choices=list(CREDENTIAL_KINDS))
        parser.add_argument(
            "--label",
            default=None,
            help="A name for the key. Platform keys: the key of the agent's pool to add (a new "
            f"label) or replace (an existing one); default {PRIMARY_LABEL!r}.",
        )
        parser.add_argument(
            "--weight",
            type=int,
            default=None,
            help="Platform keys: its share of requests among the pool's healthy keys (default 1).",
        )
        parser.add_argument("--inactive", action="store_true", help="Store it switched off.")

    def handle(self, *args: Any, **options: Any) -> None:
        scope = options["scope"]
        owner, project = self._target(scope, options["user"], options["project"])
        weight = options["weight"]
        if weight is not None and (scope != Scope.PLATFORM or weight < 1):
            raise CommandError("--weight is for platform keys, and at least 1.")
        secret = self._read_secret()
        try:
            credential, _created = credential_save(
                scope=scope,
                agent_type=options["agent"],
                kind=options["kind"],
                secret=secret,
                owner=owner,
                project=project,
                label=options["label"],
                weight=weight,
                active=not options["inactive"],
                actor_label="set_credential",
            )
        except (CredentialFormatError, UnknownAgent) as error:
            raise CommandError(str(error)) from None
        printed = {
            "id": credential.pk,
            "scope": credential.scope,
            "agent": credential.agent_type,
            "kind": credential.kind,
            "hint": credential.hint,
            "label": credential.label,
            "active": credential.is_active,
        }
        if scope == Scope.PLATFORM:
            printed["weight"] = credential.weight
        self.stdout.write(json.dumps(printed))

    def _target(
        self, scope: str, username: str | None, project_name: str | None
    ) -> tuple[Any, Any]:
        if scope == Scope.PLATFORM:
            if username or project_name:
                raise CommandError("Platform credentials belong to no user or project.")
            return None, None
        if not username:
            raise CommandError(f"--user is required for {scope} scope.")
        user_model = get_user_model()
        try:
            owner = user_model.objects.get(username=username)
        except user_model.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if scope == Scope.USER:
            if project_name:
                raise CommandError("--project is only for project scope.")
            return owner, None
        if not project_name:
            raise CommandError("--project is required for project scope.")
        project = Project.objects.filter(owner=owner, name=project_name).first()
        if project is None:
            raise CommandError(f"{username!r} has no project named {project_name!r}.")
        return owner, project

    def _read_secret(self) -> str:
        if sys.stdin.isatty():
            secret = getpass.getpass("Secret (input hidden): ")
        else:
            secret = sys.stdin.read()
        # `echo KEY | …` adds a newline; the secret itself never ends with one.
        secret = secret.rstrip("\r\n")
        if not secret.strip():
            raise CommandError("No secret on standard input.")
        return secret
