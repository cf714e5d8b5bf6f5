import pytest

from audit.models import AuditAction, AuditEvent
from credentials.models import Credential, Scope
from tests.support import (
    CLAUDE_KEY,
    CLAUDE_PLATFORM_KEY,
    CLAUDE_PROJECT_KEY,
    OPENAI_KEY,
    add_credential,
    events_of,
    post_json,
)

pytestmark = pytest.mark.django_db

PLATFORM = "/admin/credentials/platformcredential/"
USERS = "/admin/credentials/usercredential/"
PROJECTS = "/admin/credentials/projectcredential/"
EVENTS = "/admin/audit/auditevent/"
NEW_CLAUDE_KEY = "sk-ant-api03-replacement-key-000000000000000ZZZZ"


def last_action(credential):
    return events_of(credential).values_list("action", flat=True)[0]


def squeeze(html):
    return "".join(html.split())


def form(**fields):
    return fields


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    response = client.get(USERS)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_signed_in_user_who_is_not_staff_cannot_open_the_admin(client, alice):
    client.force_login(alice)
    response = client.get(USERS)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_cannot_see_platform_credentials_whatever_their_permissions(client, staff_user):
    assert staff_user.has_perm("credentials.view_platformcredential")
    client.force_login(staff_user)
    assert client.get(PLATFORM).status_code == 403
    assert client.get(PLATFORM + "add/").status_code == 403
    assert "platformcredential" not in client.get("/admin/").content.decode()


def test_staff_with_permissions_manage_user_credentials(client, staff_user, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(staff_user)
    response = client.get(USERS)
    assert response.status_code == 200
    assert "…AAAA" in response.content.decode()


def test_a_superuser_adds_a_platform_key_and_pages_show_only_its_hint(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        PLATFORM + "add/",
        form(
            agent_type="claude-code",
            kind="api-key",
            label="main",
            new_secret=CLAUDE_PLATFORM_KEY,
            is_active="on",
        ),
    )
    assert response.status_code == 302
    credential = Credential.objects.get(scope=Scope.PLATFORM)
    assert credential.reveal_secret() == CLAUDE_PLATFORM_KEY
    assert credential.is_active
    assert credential.created_by == admin_user
    assert list(events_of(credential).values_list("action", "actor_user")) == [
        (AuditAction.CREATED, admin_user.pk)
    ]
    pages = [
        PLATFORM,
        f"{PLATFORM}{credential.pk}/change/",
        f"{PLATFORM}{credential.pk}/history/",
        f"{PLATFORM}{credential.pk}/delete/",
        EVENTS,
        "/admin/",
    ]
    for page in pages:
        html = client.get(page).content.decode()
        assert CLAUDE_PLATFORM_KEY not in html, page
        assert CLAUDE_PLATFORM_KEY[:-4] not in html, page
    assert "…CCCC" in client.get(PLATFORM).content.decode()


def test_the_secret_box_never_renders_a_value(client, admin_user):
    credential = add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    client.force_login(admin_user)
    html = client.get(f"{PLATFORM}{credential.pk}/change/").content.decode()
    assert 'type="password" name="new_secret"' in html
    assert "Currently …CCCC" in html
    assert CLAUDE_PLATFORM_KEY not in html


def test_a_secret_of_the_wrong_shape_is_refused_with_the_reason(client, admin_user):
    oauth_token = "sk-ant-oat01-this-is-an-oauth-token-0000000000"
    client.force_login(admin_user)
    response = client.post(
        PLATFORM + "add/",
        form(agent_type="claude-code", kind="api-key", new_secret=oauth_token, is_active="on"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "This is an OAuth token, not an API key" in html
    assert oauth_token not in html
    assert not Credential.objects.exists()


def test_adding_a_key_needs_a_secret(client, admin_user):
    client.force_login(admin_user)
    response = client.post(PLATFORM + "add/", form(agent_type="opencode", kind="api-key"))
    assert response.status_code == 200
    assert not Credential.objects.exists()


def test_a_second_key_of_the_same_kind_for_the_same_owner_is_refused(client, admin_user, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(admin_user)
    response = client.post(
        USERS + "add/",
        form(owner=alice.pk, agent_type="claude-code", kind="api-key", new_secret=NEW_CLAUDE_KEY),
    )
    assert response.status_code == 200
    assert "User alice already has a API key for Claude Code" in response.content.decode()
    assert Credential.objects.get().reveal_secret() == CLAUDE_KEY


def test_a_user_key_needs_an_owner(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        USERS + "add/",
        form(agent_type="claude-code", kind="api-key", new_secret=CLAUDE_KEY, is_active="on"),
    )
    assert response.status_code == 200
    assert not Credential.objects.exists()


def test_a_project_key_belongs_to_the_project_owner(client, staff_user, project, alice):
    client.force_login(staff_user)
    response = client.post(
        PROJECTS + "add/",
        form(
            project=project.pk,
            agent_type="claude-code",
            kind="api-key",
            new_secret=CLAUDE_PROJECT_KEY,
            is_active="on",
        ),
    )
    assert response.status_code == 302
    credential = Credential.objects.get()
    assert (credential.scope, credential.project, credential.owner) == (
        Scope.PROJECT,
        project,
        alice,
    )


def test_saving_without_a_secret_keeps_it_and_records_the_label_change(client, admin_user, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(admin_user)
    response = client.post(
        f"{USERS}{credential.pk}/change/", form(label="laptop", new_secret="", is_active="on")
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.label == "laptop"
    assert credential.reveal_secret() == CLAUDE_KEY
    assert last_action(credential) == AuditAction.UPDATED


def test_a_new_secret_on_the_change_page_replaces_the_old_one(client, admin_user, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(admin_user)
    response = client.post(
        f"{USERS}{credential.pk}/change/", form(new_secret=NEW_CLAUDE_KEY, is_active="on")
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.reveal_secret() == NEW_CLAUDE_KEY
    assert credential.hint == "…ZZZZ"
    assert last_action(credential) == AuditAction.UPDATED


def test_unticking_active_on_the_change_page_deactivates_through_the_audit(
    client, admin_user, alice
):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(admin_user)
    client.post(f"{USERS}{credential.pk}/change/", form(label="", new_secret=""))
    credential.refresh_from_db()
    assert not credential.is_active
    assert last_action(credential) == AuditAction.DEACTIVATED


def test_activating_a_key_turns_off_the_other_key_of_that_agent_and_owner(
    client, admin_user, alice
):
    api_key = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    oauth = add_credential(
        Scope.USER,
        "claude-code",
        "sk-ant-oat01-alice-oauth-token-000000000000",
        owner=alice,
        kind="oauth-token",
        active=False,
    )
    client.force_login(admin_user)
    response = client.post(USERS, {"action": "activate", "_selected_action": [oauth.pk]})
    assert response.status_code == 302
    api_key.refresh_from_db()
    oauth.refresh_from_db()
    assert oauth.is_active
    assert not api_key.is_active
    assert last_action(api_key) == AuditAction.DEACTIVATED
    assert last_action(oauth) == AuditAction.ACTIVATED


def test_activating_two_keys_of_one_agent_and_owner_at_once_is_refused(client, admin_user, alice):
    first = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice, active=False)
    second = add_credential(
        Scope.USER,
        "claude-code",
        "sk-ant-oat01-alice-oauth-token-000000000000",
        owner=alice,
        kind="oauth-token",
        active=False,
    )
    client.force_login(admin_user)
    response = client.post(
        USERS, {"action": "activate", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert "Only one credential per agent and owner can be active" in response.content.decode()
    assert not Credential.objects.filter(is_active=True).exists()


def test_the_deactivate_action_writes_one_event_per_key(client, admin_user, alice, bob):
    keys = [
        add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice),
        add_credential(Scope.USER, "openai-codex", OPENAI_KEY, owner=bob),
    ]
    client.force_login(admin_user)
    client.post(USERS, {"action": "deactivate", "_selected_action": [k.pk for k in keys]})
    assert not Credential.objects.filter(is_active=True).exists()
    assert AuditEvent.objects.filter(action=AuditAction.DEACTIVATED).count() == 2


def test_deleting_keeps_a_deleted_event_in_the_trail(client, admin_user, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    client.force_login(admin_user)
    response = client.post(f"{USERS}{credential.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Credential.objects.exists()
    deleted = AuditEvent.objects.get(action=AuditAction.DELETED)
    assert (deleted.target_id, deleted.actor_user, deleted.before["agent_type"]) == (
        str(credential.pk),
        admin_user,
        "claude-code",
    )


def test_bulk_delete_goes_through_the_audit_too(client, admin_user, alice, bob):
    keys = [
        add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice),
        add_credential(Scope.USER, "claude-code", NEW_CLAUDE_KEY, owner=bob),
    ]
    client.force_login(admin_user)
    client.post(
        USERS,
        {"action": "delete_selected", "_selected_action": [k.pk for k in keys], "post": "yes"},
    )
    assert not Credential.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.DELETED).count() == 2


def test_the_change_page_shows_the_audit_trail_and_when_the_key_was_last_used(
    client, admin_user, ws
):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=ws.workspace.user)
    client.force_login(admin_user)
    assert 'field-last_used">never<' in squeeze(client.get(USERS).content.decode())

    assert post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token).status_code == 200
    page = squeeze(client.get(f"{USERS}{credential.pk}/change/").content.decode())
    assert "Audittrail(newest50)" in page
    assert '<tdclass="field-action">Served</td>' in page
    assert '<tdclass="field-action">Created</td>' in page
    assert 'field-last_used">never<' not in squeeze(client.get(USERS).content.decode())


def test_the_list_filters_by_agent_and_searches_by_owner(client, admin_user, alice, bob):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.USER, "openai-codex", OPENAI_KEY, owner=bob)
    client.force_login(admin_user)
    by_agent = client.get(USERS, {"agent_type__exact": "openai-codex"}).content.decode()
    assert "…DDDD" in by_agent
    assert "…AAAA" not in by_agent
    by_owner = client.get(USERS, {"q": "alice"}).content.decode()
    assert "…AAAA" in by_owner
    assert "…DDDD" not in by_owner


def test_each_scope_page_lists_only_its_scope(client, admin_user, alice, project):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    client.force_login(admin_user)
    for page, hint in ((USERS, "…AAAA"), (PROJECTS, "…BBBB"), (PLATFORM, "…CCCC")):
        html = client.get(page).content.decode()
        assert [h for h in ("…AAAA", "…BBBB", "…CCCC") if h in html] == [hint]


def test_staff_see_the_audit_trail_without_platform_events(client, staff_user, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    client.force_login(staff_user)
    html = client.get(EVENTS).content.decode()
    assert "…AAAA" in html
    assert "…CCCC" not in html


def test_the_audit_trail_page_filters_by_credential(client, admin_user, alice, bob):
    mine = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.USER, "openai-codex", OPENAI_KEY, owner=bob)
    client.force_login(admin_user)
    response = client.get(
        EVENTS, {"target_type": "credentials.credential", "target_id": str(mine.pk)}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "…AAAA" in html
    assert "…DDDD" not in html


def test_a_second_platform_key_joins_the_pool_and_a_taken_label_is_refused(client, admin_user):
    first = add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    client.force_login(admin_user)
    second = form(
        agent_type="claude-code",
        kind="api-key",
        label="second",
        weight="3",
        new_secret="sk-ant-api03-second-platform-key-7777",
        is_active="on",
    )

    assert client.post(PLATFORM + "add/", second).status_code == 302
    taken = client.post(PLATFORM + "add/", {**second, "label": "primary"})

    first.refresh_from_db()
    assert first.is_active
    added = Credential.objects.get(scope=Scope.PLATFORM, label="second")
    assert (added.is_active, added.weight) == (True, 3)
    assert taken.status_code == 200
    assert "already has a Claude Code key labelled &#x27;primary&#x27;" in taken.content.decode()
    listing = client.get(PLATFORM).content.decode()
    assert "second" in listing
    assert "primary" in listing


def test_renaming_a_platform_key_to_a_taken_label_is_refused_not_a_500(client, admin_user):
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    other = add_credential(
        Scope.PLATFORM, "claude-code", "sk-ant-api03-second-platform-key-7777", label="second"
    )
    client.force_login(admin_user)

    response = client.post(
        f"{PLATFORM}{other.pk}/change/",
        form(label="primary", weight="1", is_active="on", new_secret=""),
    )

    assert response.status_code == 200
    other.refresh_from_db()
    assert other.label == "second"


def test_a_weight_below_one_is_refused_by_the_form(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        PLATFORM + "add/",
        form(
            agent_type="claude-code",
            kind="api-key",
            label="light",
            weight="0",
            new_secret=CLAUDE_PLATFORM_KEY,
            is_active="on",
        ),
    )
    assert response.status_code == 200
    assert not Credential.objects.exists()
