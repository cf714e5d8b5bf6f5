"""Personas shared by every test folder.

alice owns the project "acme" and a running workspace in it (`ws`, with a callback token);
bob is another user with his own workspace (`bob_ws`); admin_user is a superuser.
Helpers that are not fixtures live in `tests/support.py`.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from ai_proxy.runtime import runtime_reset
from catalog.models import ModelCatalogEntry
from catalog.seed import catalog_seed
from credentials.models import Project
from tests.support import LiveWorkspace, make_workspace

pytest_plugins = ["tests.live", "tests.fakes.fixtures"]

User = get_user_model()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked `postgres` run on the setup beyond one machine only (CI's second pass)."""
    if item.get_closest_marker("postgres") is None:
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql" or not settings.REDIS_URL:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…) and Redis (REDIS_URL)")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The proxy config snapshot and rate counters live in the cache (or Redis), and the
    proxy keeps platform keys and the snapshot briefly in process memory: no test sees
    another's."""
    cache.clear()
    runtime_reset()
    yield
    cache.clear()
    runtime_reset()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Production-strength hashing costs a quarter second per user; tests need none of it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db: Any) -> Any:
    return User.objects.create_user("alice", "alice@example.com", "alice-password-1")


@pytest.fixture
def bob(db: Any) -> Any:
    return User.objects.create_user("bob", "bob@example.com", "bob-password-1")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return User.objects.create_superuser("admin", "admin@example.com", "admin-password-1")


@pytest.fixture
def project(alice: Any) -> Project:
    return Project.objects.create(owner=alice, name="acme")


@pytest.fixture
def ws(alice: Any, project: Project) -> LiveWorkspace:
    """alice's running workspace in project acme."""
    return make_workspace(alice, project)


@pytest.fixture
def bob_ws(bob: Any) -> LiveWorkspace:
    return make_workspace(bob)


@pytest.fixture
def staff_user(db: Any) -> Any:
    """A staff member (not a superuser) allowed to manage user and project credentials."""
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("staff", "staff@example.com", "staff-password-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=[
                "audit",
                "catalog",
                "credentials",
                "workspaces",
                "ai_proxy",
            ]
        )
    )
    return user


@pytest.fixture
def model_catalog(db: Any) -> None:
    """The catalog the seed migration writes. Live-server tests need it put back: their
    database is flushed after each of them, migration data included."""
    catalog_seed(ModelCatalogEntry)
