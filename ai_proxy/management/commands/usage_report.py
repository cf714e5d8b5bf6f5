import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ai_proxy.reports import PERIODS, usage_totals

# (heading, key in the report's rows)
COLUMNS = (
    ("requests", "requests"),
    ("input", "input_tokens"),
    ("write_5m", "cache_write_5m_tokens"),
    ("write_1h", "cache_write_1h_tokens"),
    ("cache_read", "cache_read_tokens"),
    ("output", "output_tokens"),
    ("cost_usd", "cost_usd"),
    ("cache_hit", "cache_hit_rate"),
)
PRE_SPLIT_NOTE = (
    "* {n} request{s} recorded before cache tokens were counted apart: their input includes "
    "cache writes and reads, and the cache hit rate leaves them out."
)


def _cell(row: dict[str, Any], key: str) -> str:
    value = row[key]
    if key == "cache_hit_rate":
        return "-" if value is None else f"{value:.1%}"
    return str(value)


def _name(row: dict[str, Any], section: str) -> str:
    if section == "key" and row["paid_by"] != "platform":
        name = f"{row['paid_by']} (own key)"
    elif section == "key":
        name = f"{row['provider']}/{row['key'] or '(no label)'}"
    elif section == "payer":
        name = row["paid_by"]
    else:
        name = row[section]
    return name + (" *" if row["pre_split_requests"] else "")


class Command(BaseCommand):
    help = (
        "Proxy usage totals (token kinds, cost, cache hit rate) by model, user, key and payer "
        "over the last 24 h, 7 d or 30 d."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", choices=list(PERIODS), default="24h")
        parser.add_argument("--json", action="store_true", help="One JSON document.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = usage_totals(options["period"])
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        self.stdout.write(f"Proxy usage, last {report['period']}")
        sections = (("By model", "model"), ("By user", "user"), ("By key", "key"))
        for title, section in (*sections, ("By payer", "payer")):
            rows = report[f"by_{section}"]
            self.stdout.write(f"\n{title}")
            self.stdout.write(f"{section:<28}" + "".join(f"{c:>13}" for c, _k in COLUMNS))
            for row in rows:
                cells = "".join(f"{_cell(row, key):>13}" for _c, key in COLUMNS)
                self.stdout.write(f"{_name(row, section):<28}{cells}")
            if not rows:
                self.stdout.write("(no usage)")
        total = report["total"]
        self.stdout.write(
            "\n" + f"{'total':<28}" + "".join(f"{_cell(total, key):>13}" for _c, key in COLUMNS)
        )
        if count := total["pre_split_requests"]:
            self.stdout.write("\n" + PRE_SPLIT_NOTE.format(n=count, s="" if count == 1 else "s"))
