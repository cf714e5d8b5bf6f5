import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from credentials.models import Project
from workspaces.models import Workspace
from workspaces.tokens import callback_token_mint


class Command(BaseCommand):
    help = (
        "On an empty database, create a demo admin, a demo user with a project and a running "
        "workspace, and print their passwords and the workspace token once. Otherwise do nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        if user_model.objects.exists():
            self.stdout.write("Database already has users; no demo data created.")
            return
        admin_password = secrets.token_urlsafe(12)
        demo_password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", "admin@example.com", admin_password)
        demo = user_model.objects.create_user("demo", "demo@example.com", demo_password)
        project = Project.objects.create(owner=demo, name="demo")
        workspace = Workspace.objects.create(user=demo, project=project, name="demo workspace")
        token, raw = callback_token_mint(workspace=workspace, actor_label="bootstrap_demo")
        base = options["base_url"]
        self.stdout.write(
            f"""
=== Demo data (shown once; not stored in clear anywhere) ===
Admin     {base}/admin/            user: admin   password: {admin_password}
User      {base}/settings/agents/  user: demo    password: {demo_password}
Workspace {workspace.pk}  (user demo, project demo)
Callback token (expires {token.expires_at:%Y-%m-%d %H:%M} UTC): {raw}

Try it:
  curl -s -X POST {base}/api/workspaces/{workspace.pk}/agent-key \\
    -H "Authorization: Bearer {raw}" \\
    -H 'Content-Type: application/json' -d '{{"agentType":"claude-code"}}'
A new token later: python manage.py mint_workspace_token {workspace.pk}
============================================================
"""
        )
