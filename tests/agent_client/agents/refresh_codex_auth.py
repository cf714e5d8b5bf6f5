"""A stand-in for Codex refreshing its OAuth tokens during a session: rewrites auth.json.

The new access token is the old one with "-refreshed" appended, so a test can predict it.
Prints nothing.
"""

import json
import os
from pathlib import Path


def main() -> int:
    home = Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")
    path = home / "auth.json"
    document = json.loads(path.read_text())
    document["tokens"]["access_token"] += "-refreshed"
    document["last_refresh"] = "2026-06-01T00:00:00Z"
    path.write_text(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
