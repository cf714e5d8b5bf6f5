import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from credentials.encryption import UnreadableSecret, keyring
from credentials.models import Credential
from credentials.services import credential_reencrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt every credential under the newest key of CREDENTIAL_ENCRYPTION_KEYS, in "
        "batches. Safe to interrupt and to re-run; prints one JSON line with the counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=100)

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        newest = keyring().newest.key_id
        rotated = 0
        unreadable: list[int] = []
        last_id = 0
        while True:
            # Walk by id so unreadable rows are passed once; each row commits on its own,
            # so an interrupted run keeps what it did and the next run picks up the rest.
            batch = list(
                Credential.objects.not_on_key(newest)
                .filter(pk__gt=last_id)
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            for credential in batch:
                try:
                    credential_reencrypt(
                        credential=credential, actor_label="rotate_credential_keys"
                    )
                    rotated += 1
                except UnreadableSecret:
                    unreadable.append(credential.pk)
            last_id = batch[-1].pk
            self.stderr.write(f"rotated {rotated} so far")
        remaining = Credential.objects.not_on_key(newest).count()
        self.stdout.write(
            json.dumps(
                {
                    "newest_key_id": newest,
                    "rotated": rotated,
                    "unreadable_ids": unreadable,
                    "remaining_on_old_keys": remaining,
                }
            )
        )
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} credential(s) could not be decrypted with any configured key."
            )
