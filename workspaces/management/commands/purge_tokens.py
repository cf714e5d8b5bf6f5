import json
from typing import Any

from django.core.management.base import BaseCommand

from workspaces.tokens import PURGE_AFTER, tokens_purge


class Command(BaseCommand):
    help = (
        f"Delete workspace tokens that expired or were revoked more than {PURGE_AFTER.days} "
        "day ago, and print one JSON line with how many. The server also runs this hourly."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps({"tokens_purged": tokens_purge()}))
