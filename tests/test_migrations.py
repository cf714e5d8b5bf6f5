"""The second release moves models between apps (the catalog and proxy settings to
`catalog`, projects to `credentials`): a database of the first release, with data in every
moved table, migrates without losing or changing a row."""

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog.seed import catalog_seed
from credentials.encryption import SealedSecret

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
    ("catalog", "0002_rename_tables"),
    ("credentials", "0004_rename_project_table"),
    ("workspaces", "0003_move_out_project"),
    ("ai_proxy", "0003_move_out_catalog_and_project"),
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
    apps.get_model("credentials", "CredentialEvent").objects.create(
        credential=credential,
        action="served",
        scope="project",
        agent_type="claude-code",
        kind="api-key",
        actor_workspace=workspace,
    )
    entry = apps.get_model("ai_proxy", "ModelCatalogEntry")
    catalog_seed(entry)  # what the first release's data migration wrote
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
    event = new.get_model("credentials", "CredentialEvent").objects.get()
    assert event.actor_workspace_id == ids["workspace_id"]
    assert event.credential_id == credential.pk
    catalog = new.get_model("catalog", "ModelCatalogEntry").objects
    assert catalog.count() == 6
    changed = catalog.get(id="gpt-4.1")
    assert (changed.input_price_per_mtok, changed.enabled) == (Decimal("2.5"), False)
    proxy_settings = new.get_model("catalog", "ProxySettings").objects.get()
    assert (proxy_settings.token_mode, proxy_settings.default_model_claude_code) == (
        "scoped",
        "claude-haiku-4-5",
    )
    usage = new.get_model("ai_proxy", "UsageRecord").objects.get()
    assert (usage.project_id, usage.workspace_id) == (project.pk, workspace.pk)
    granted = new.get_model("auth", "User").objects.get().user_permissions
    assert sorted(granted.values_list("content_type__app_label", "codename")) == [
        ("catalog", "change_modelcatalogentry"),
        ("catalog", "change_proxysettings"),
        ("credentials", "change_project"),
    ]


def test_deleting_a_workspace_keeps_its_credential_events(first_release: Any) -> None:
    """The trail names the workspace by id: no foreign key ties it to the workspace row."""
    ids = _first_release_data(first_release)
    new = _migrate(LATEST)

    new.get_model("workspaces", "Workspace").objects.filter(pk=ids["workspace_id"]).delete()

    event = new.get_model("credentials", "CredentialEvent").objects.get()
    assert event.actor_workspace_id == ids["workspace_id"]


pytestmark = pytest.mark.django_db(transaction=True)
