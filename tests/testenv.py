"""Environment for the test suite, set before Django reads its settings.

Loaded as a pytest plugin (`-p tests.testenv` in pyproject.toml) so that it runs before
pytest-django imports the settings. A developer's `.env` is not read: tests are hermetic.
Values already in the environment win (CI sets DATABASE_URL for the PostgreSQL run).
"""

import os

os.environ["SAM_ENV_FILE"] = ""
for name, value in {
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdef",
    "CREDENTIAL_ENCRYPTION_KEYS": "k2:" + "2" * 64 + ",k1:" + "1" * 64,
    "BASE_DOMAIN": "sam.test",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(name, value)
