"""Write a local `.env` with freshly generated keys: `python -m sam_project.new_env .env`.

Used by `make run` on first start. Refuses to overwrite an existing file.
"""

import os
import secrets
import sys

TEMPLATE = """\
# Written by `make run` for this machine only. Keep it private; see .env.example.
SECRET_KEY={secret_key}
CREDENTIAL_ENCRYPTION_KEYS=k1:{encryption_key}
DEBUG=false
ALLOWED_HOSTS=127.0.0.1,localhost
# AI_PROXY_PUBLIC_URL: `make run` sets it to the address it serves (HOST and PORT).
"""


def main(path: str) -> None:
    content = TEMPLATE.format(
        secret_key=secrets.token_urlsafe(50), encryption_key=secrets.token_hex(32)
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    print(f"wrote {path} with new keys")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
