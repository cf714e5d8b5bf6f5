"""The second release moves models between apps (the catalog and proxy settings to
`catalog`, projects to `credentials`, credential events into the audit trail): a database
of the first release, with data in every moved table, migrates without losing or changing a
row."""

import importlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from credentials.encryption import SealedSecret

# The first release's data migration, as it ran.
FIRST_RELEASE_SEED = importlib.import_module("ai_proxy.migrations.0002_seed_catalog")

SERVED_AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
CREATED_AT = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)

# Django's own apps, as they are in both releases.
CONTRIB = [
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
]
# The latest migration of each app in the first release.
FIRST_RELEASE = [
    *CONTRIB,
    ("credentials", "0002_scope_pages"),
    ("workspaces", "0001_initial"),
    ("ai_proxy", "0002_seed_catalog"),
]
MOVED_MODELS = [
    ("ai_proxy", "catalog", "modelcatalogentry"),
    ("ai_proxy", "catalog", "proxysettings"),
    ("workspaces", "credentials", "project"),
]
LATEST = [
    *CONTRIB,
    ("audit", "0001_initial"),
    ("catalog", "0003_cache_prices_and_policy"),
    ("credentials", "0006_platform_key_pool"),
    ("workspaces", "0003_move_out_project"),
    ("ai_proxy", "0005_platform_key_health"),
]


def _first_release_data(apps: Any) -> dict[str, Any]:
    user = apps.get_model("auth", "User").objects.create(username="carol")
    project = apps.get_model("workspaces", "Project").objects.create(owner=user, name="apollo")
    workspace = apps.get_model("workspaces", "Workspace").objects.create(
        id=uuid.uuid4(), user=user, project=project
    )
    credential = apps.get_model("credentials", "Credential").objects.create(
        scope="project",
        owner=user,
        project=project,
        agent_type="claude-code",
        kind="api-key",
        secret=SealedSecret(key_id="k1", token="opaque-ciphertext"),
        key_id="k1",
        last4="abcd",
    )
    event = apps.get_model("credentials", "CredentialEvent")
    created = event.objects.create(
        credential=credential,
        action="created",
        scope="project",
        agent_type="claude-code",
        kind="api-key",
        actor_user=user,
    )
    served = event.objects.create(
        credential=credential,
        action="served",
        scope="project",
        agent_type="claude-code",
        kind="api-key",
        actor_workspace=workspace,
    )
    # `created_at` is auto_now_add: the times are set after the rows are written.
    event.objects.filter(pk=created.pk).update(created_at=CREATED_AT)
    event.objects.filter(pk=served.pk).update(created_at=SERVED_AT)
    platform = apps.get_model("credentials", "Credential").objects.create(
        scope="platform",
        agent_type="openai-codex",
        kind="api-key",
        secret=SealedSecret(key_id="k1", token="opaque-ciphertext-2"),
        key_id="k1",
        last4="wxyz",
    )
    event.objects.create(
        credential=None,  # the trail of a deleted key: SET_NULL had cleared its id
        action="deleted",
        scope="platform",
        agent_type="openai-codex",
        kind="api-key",
        actor_user=user,
    )
    platform.delete()
    entry = apps.get_model("ai_proxy", "ModelCatalogEntry")
    FIRST_RELEASE_SEED.seed(apps, None)  # what the first release's data migration wrote
    entry.objects.filter(id="gpt-4.1").update(input_price_per_mtok=Decimal("2.5"), enabled=False)
    apps.get_model("ai_proxy", "ProxySettings").objects.create(
        id=1, token_mode="scoped", default_model_claude_code="claude-haiku-4-5"
    )
    apps.get_model("ai_proxy", "UsageRecord").objects.create(
        user=user,
        workspace=workspace,
        project=project,
        model="claude-haiku-4-5",
        provider="anthropic",
        route="anthropic.messages",
        input_tokens=10,
        output_tokens=5,
        status=200,
    )
    apps.get_model("ai_proxy", "DailyUsage").objects.create(
        user=user, day="2026-11-30", requests=1, input_tokens=10, output_tokens=5
    )
    _grant_on_first_release_content_types(apps, user)
    return {"project_id": project.pk, "workspace_id": workspace.pk, "credential_id": credential.pk}


def _grant_on_first_release_content_types(apps: Any, user: Any) -> None:
    """Permissions as that database has them: on the models' first-release content types."""
    content_type = apps.get_model("contenttypes", "ContentType")
    permission = apps.get_model("auth", "Permission")
    for old_app, new_app, model in MOVED_MODELS:
        content_type.objects.filter(app_label=new_app, model=model).delete()
        old, _ = content_type.objects.get_or_create(app_label=old_app, model=model)
        user.user_permissions.add(
            permission.objects.create(content_type=old, codename=f"change_{model}", name=model)
        )
    events, _ = content_type.objects.get_or_create(app_label="credentials", model="credentialevent")
    view_events, _ = permission.objects.get_or_create(
        content_type=events, codename="view_credentialevent", defaults={"name": "view events"}
    )
    user.user_permissions.add(view_events)


def _migrate(targets: list[tuple[str, str]]) -> Any:
    """Migrate the test database to `targets`; returns the models as they are there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def first_release() -> Iterator[Any]:
    """The test database taken back to the first release's schema (and forward after)."""
    yield _migrate(FIRST_RELEASE)
    call_command("migrate", verbosity=0)


def test_a_first_release_database_migrates_without_losing_a_row(first_release: Any) -> None:
    ids = _first_release_data(first_release)

    new = _migrate(LATEST)

    project = new.get_model("credentials", "Project").objects.get()
    assert (project.pk, project.name, project.owner.username) == (
        ids["project_id"],
        "apollo",
        "carol",
    )
    workspace = new.get_model("workspaces", "Workspace").objects.get()
    assert workspace.project_id == project.pk
    credential = new.get_model("credentials", "Credential").objects.get()
    assert (credential.pk, credential.project_id) == (ids["credential_id"], project.pk)
    assert str(credential.secret) == "k1$opaque-ciphertext"
    catalog = new.get_model("catalog", "ModelCatalogEntry").objects
    assert catalog.count() == 6
    changed = catalog.get(id="gpt-4.1")
    assert (changed.input_price_per_mtok, changed.enabled) == (Decimal("2.5"), False)
    # Cache prices follow each entry's input price (OpenAI GPT-4.1: reads at a quarter).
    assert changed.cache_read_price_per_mtok == Decimal("0.625")
    sonnet = catalog.get(id="claude-sonnet-4-6")
    assert (
        sonnet.cache_write_5m_price_per_mtok,
        sonnet.cache_write_1h_price_per_mtok,
        sonnet.cache_read_price_per_mtok,
    ) == (Decimal("3.75"), Decimal("6"), Decimal("0.3"))
    proxy_settings = new.get_model("catalog", "ProxySettings").objects.get()
    assert (proxy_settings.token_mode, proxy_settings.default_model_claude_code) == (
        "scoped",
        "claude-haiku-4-5",
    )
    usage = new.get_model("ai_proxy", "UsageRecord").objects.get()
    assert (usage.project_id, usage.workspace_id) == (project.pk, workspace.pk)
    # Its input counted cache writes and reads too: kept as recorded, marked pre-split.
    assert (usage.input_tokens, usage.cache_read_tokens, usage.pre_split) == (10, 0, True)
    assert usage.paid_by == "platform"
    day = new.get_model("ai_proxy", "DailyUsage").objects.get()
    assert (day.input_tokens, day.paid_by, day.pre_split) == (10, "platform", True)
    granted = new.get_model("auth", "User").objects.get().user_permissions
    assert sorted(granted.values_list("content_type__app_label", "codename")) == [
        ("audit", "view_auditevent"),
        ("catalog", "change_modelcatalogentry"),
        ("catalog", "change_proxysettings"),
        ("credentials", "change_project"),
        ("credentials", "view_credentialevent"),
    ]


def test_todays_platform_keys_become_their_pools_first_members(first_release: Any) -> None:
    credential = first_release.get_model("credentials", "Credential")

    def platform(agent: str, active: bool, label: str = "") -> int:
        row = credential.objects.create(
            scope="platform",
            agent_type=agent,
            kind="api-key",
            label=label,
            is_active=active,
            secret=SealedSecret(key_id="k1", token=f"ciphertext-{agent}-{active}-{label}"),
            key_id="k1",
        )
        return int(row.pk)

    active = platform("claude-code", True)
    spare = platform("claude-code", False)
    labelled = platform("openai-codex", True, label="ops")

    new = _migrate(LATEST)

    rows = new.get_model("credentials", "Credential").objects.in_bulk()
    assert (rows[active].label, rows[active].weight, rows[active].is_active) == ("primary", 1, True)
    assert (rows[spare].label, rows[spare].is_active) == (f"key-{spare}", False)
    assert rows[labelled].label == "ops"


def test_every_credential_event_moves_into_the_audit_trail(first_release: Any) -> None:
    ids = _first_release_data(first_release)

    new = _migrate(LATEST)

    events = new.get_model("audit", "AuditEvent").objects.order_by("id")
    assert [
        (e.action, e.target_type, e.target_id, e.actor_kind, e.actor_label, e.superusers_only)
        for e in events
    ] == [
        ("created", "credentials.credential", str(ids["credential_id"]), "user", "carol", False),
        ("served", "credentials.credential", str(ids["credential_id"]), "workspace", "", False),
        ("deleted", "credentials.credential", "", "user", "carol", True),
    ]
    created, served, deleted = events
    assert (created.created_at, served.created_at) == (CREATED_AT, SERVED_AT)
    assert created.actor_user.username == "carol"
    assert served.actor_workspace_id == ids["workspace_id"]
    assert served.target_label == "Project claude-code api-key"
    assert deleted.target_label == "Platform openai-codex api-key"


def test_last_used_still_reads_the_served_events_once_moved(first_release: Any) -> None:
    from credentials.models import Credential

    ids = _first_release_data(first_release)
    _migrate(LATEST)
    call_command("migrate", verbosity=0)

    row = Credential.objects.with_last_used().get(pk=ids["credential_id"])
    assert row.last_used_at == SERVED_AT  # type: ignore[attr-defined]  # an annotation


def test_deleting_a_workspace_keeps_its_credential_events(first_release: Any) -> None:
    """The trail names the workspace by id: no foreign key ties it to the workspace row."""
    ids = _first_release_data(first_release)
    new = _migrate(LATEST)

    new.get_model("workspaces", "Workspace").objects.filter(pk=ids["workspace_id"]).delete()

    event = new.get_model("audit", "AuditEvent").objects.get(action="served")
    assert event.actor_workspace_id == ids["workspace_id"]


def test_the_move_into_the_audit_trail_can_be_undone(first_release: Any) -> None:
    ids = _first_release_data(first_release)
    _migrate(LATEST)

    old = _migrate([("credentials", "0004_rename_project_table"), ("audit", "0001_initial")])

    events = old.get_model("credentials", "CredentialEvent").objects.order_by("id")
    assert [(e.action, e.credential_id, e.scope, e.agent_type) for e in events] == [
        ("created", ids["credential_id"], "project", "claude-code"),
        ("served", ids["credential_id"], "project", "claude-code"),
        ("deleted", None, "platform", "openai-codex"),
    ]
    assert events[1].created_at == SERVED_AT
    assert not old.get_model("audit", "AuditEvent").objects.exists()


pytestmark = pytest.mark.django_db(transaction=True)
