import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ai_proxy.reports import PERIODS, usage_totals

COLUMNS = ("requests", "input_tokens", "output_tokens", "cost_usd")


class Command(BaseCommand):
    help = "Proxy usage totals by model and by user over the last 24 h, 7 d or 30 d."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", choices=list(PERIODS), default="24h")
        parser.add_argument("--json", action="store_true", help="One JSON document.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = usage_totals(options["period"])
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"Proxy usage, last {report['period']}")
        for title, key in (("By model", "model"), ("By user", "user")):
            rows = report[f"by_{key}"]
            self.stdout.write(f"\n{title}")
            self.stdout.write(f"{key:<24}" + "".join(f"{c:>16}" for c in COLUMNS))
            for row in rows:
                self.stdout.write(f"{row[key]:<24}" + "".join(f"{row[c]!s:>16}" for c in COLUMNS))
            if not rows:
                self.stdout.write("(no usage)")
