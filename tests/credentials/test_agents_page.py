import re

import pytest
from django.test import Client

from audit.models import AuditAction, AuditEvent
from catalog.models import ProxySettings
from credentials.models import Credential, Scope
from tests.support import (
    CLAUDE_KEY,
    CLAUDE_PLATFORM_KEY,
    CLAUDE_PROJECT_KEY,
    OPENAI_KEY,
    add_credential,
    events_of,
    make_workspace,
    post_json,
)

pytestmark = pytest.mark.django_db

PAGE = "/settings/agents/"
GEMINI_KEY = "AIzaSy-alice-gemini-key-000000000000GGGG"


def last_action(credential):
    return events_of(credential).values_list("action", flat=True)[0]


def states(response):
    """agent → state, as the page marks each agent's card."""
    html = response.content.decode()
    return dict(re.findall(r'data-agent="([^"]+)" data-state="([^"]+)"', html))


def card(response, agent):
    html = response.content.decode()
    start = html.index(f'id="agent-{agent}"')
    return html[start : html.index("</article>", start)]


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/settings/agents/"


def test_signing_in_leads_to_the_agents_page(client, alice):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert 'name="password"' in page.content.decode()
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password-1"}
    )
    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert client.get(PAGE).status_code == 200


def test_a_wrong_password_is_refused(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_with_no_keys_the_three_proxy_agents_are_ready_through_the_platform(alice_client):
    response = alice_client.get(PAGE)
    assert response.status_code == 200
    assert states(response) == {
        "claude-code": "platform",
        "openai-codex": "platform",
        "opencode": "platform",
        "google-gemini": "unavailable",
        "mistral-vibe": "unavailable",
    }
    assert "ready: platform AI — no key needed" in card(response, "claude-code")
    assert "claude-sonnet-4-6" in card(response, "claude-code")
    assert "not available — add a key" in card(response, "google-gemini")
    assert "3 of 5 agents are ready" in response.content.decode()


def test_with_the_proxy_switched_off_nothing_is_ready_without_a_key(alice_client):
    ProxySettings(enabled=False).save()
    response = alice_client.get(PAGE)
    assert set(states(response).values()) == {"unavailable"}
    assert "The platform AI is switched off" in card(response, "claude-code")


def test_adding_a_key_makes_it_the_agents_key_and_shows_only_its_hint(alice_client, alice):
    response = alice_client.post(
        PAGE + "keys/",
        {"agent_type": "claude-code", "kind": "api-key", "secret": CLAUDE_KEY, "label": "laptop"},
    )
    assert response.status_code == 302
    assert response["Location"] == PAGE + "#agent-claude-code"
    page = alice_client.get(PAGE)
    assert states(page)["claude-code"] == "user"
    assert "ready: your key" in card(page, "claude-code")
    assert "…AAAA" in card(page, "claude-code")
    assert "Added your Claude Code API key …AAAA" in page.content.decode()
    assert CLAUDE_KEY not in page.content.decode()
    credential = Credential.objects.get()
    assert (credential.scope, credential.owner, credential.label) == (Scope.USER, alice, "laptop")
    assert credential.reveal_secret() == CLAUDE_KEY
    assert events_of(credential).get().actor_user == alice


def test_adding_a_key_for_an_agent_with_a_key_replaces_it(alice_client, alice):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    replacement = "sk-ant-api03-alice-new-key-000000000000000000YYYY"
    alice_client.post(
        PAGE + "keys/", {"agent_type": "claude-code", "kind": "api-key", "secret": replacement}
    )
    credential = Credential.objects.get()
    assert credential.reveal_secret() == replacement
    assert last_action(credential) == AuditAction.UPDATED


def test_a_key_of_the_wrong_shape_is_refused_with_the_reason_and_not_echoed(alice_client):
    oauth_token = "sk-ant-oat01-alice-oauth-token-0000000000000"
    response = alice_client.post(
        PAGE + "keys/", {"agent_type": "claude-code", "kind": "api-key", "secret": oauth_token}
    )
    assert response.status_code == 400
    assert "This is an OAuth token, not an API key" in card(response, "claude-code")
    assert oauth_token not in response.content.decode()
    assert '<details class="add-key" open>' in card(response, "claude-code")
    assert not Credential.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"agent_type": "claude-code", "kind": "api-key", "secret": "   "},
            "This field is required",
        ),
        (
            {"agent_type": "opencode", "kind": "oauth-token", "secret": "tok"},
            "does not accept OAuth",
        ),
        (
            {"agent_type": "openai-codex", "kind": "oauth-token", "secret": "{}"},
            "tokens.access_token",
        ),
        ({"agent_type": "no-such-agent", "kind": "api-key", "secret": "x" * 30}, "valid choice"),
    ],
)
def test_bad_submissions_are_refused(alice_client, fields, message):
    response = alice_client.post(PAGE + "keys/", fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Credential.objects.exists()


def test_a_codex_login_file_is_accepted_as_an_oauth_credential(alice_client):
    auth_json = '{"tokens": {"access_token": "eyJ-alice-access-token-0000CODX"}}'
    response = alice_client.post(
        PAGE + "keys/", {"agent_type": "openai-codex", "kind": "oauth-token", "secret": auth_json}
    )
    assert response.status_code == 302
    page = alice_client.get(PAGE)
    assert states(page)["openai-codex"] == "user"
    assert "…CODX" in card(page, "openai-codex")


def test_turning_a_key_off_and_on_again(alice_client, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    response = alice_client.post(f"{PAGE}keys/{credential.pk}/deactivate")
    assert response.status_code == 302
    assert states(alice_client.get(PAGE))["claude-code"] == "platform"
    alice_client.post(f"{PAGE}keys/{credential.pk}/activate")
    assert states(alice_client.get(PAGE))["claude-code"] == "user"
    assert [e.action for e in events_of(credential)][:2] == [
        AuditAction.ACTIVATED,
        AuditAction.DEACTIVATED,
    ]


def test_deleting_a_key(alice_client, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    response = alice_client.post(f"{PAGE}keys/{credential.pk}/delete")
    assert response.status_code == 302
    assert not Credential.objects.exists()
    assert AuditEvent.objects.get(action=AuditAction.DELETED).actor_user == alice


@pytest.mark.parametrize("action", ["activate", "deactivate", "delete"])
def test_another_users_key_is_not_found(alice_client, bob, action):
    bobs = add_credential(
        Scope.USER, "claude-code", CLAUDE_KEY, owner=bob, active=action != "activate"
    )
    response = alice_client.post(f"{PAGE}keys/{bobs.pk}/{action}")
    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.is_active is (action != "activate")
    assert list(events_of(bobs).values_list("action", flat=True)) == [AuditAction.CREATED]


def test_a_project_key_is_not_the_users_to_manage(alice_client, project):
    project_key = add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)
    assert alice_client.post(f"{PAGE}keys/{project_key.pk}/delete").status_code == 404
    assert Credential.objects.filter(pk=project_key.pk).exists()


def test_another_users_keys_are_not_listed(alice_client, bob):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=bob)
    response = alice_client.get(PAGE)
    assert "…AAAA" not in response.content.decode()
    assert states(response)["claude-code"] == "platform"


def test_forms_need_the_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(
        PAGE + "keys/", {"agent_type": "claude-code", "kind": "api-key", "secret": CLAUDE_KEY}
    )
    assert response.status_code == 403
    assert not Credential.objects.exists()
    assert 'name="csrfmiddlewaretoken"' in client.get(PAGE).content.decode()


def test_key_actions_only_accept_post(alice_client, alice):
    credential = add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    assert alice_client.get(f"{PAGE}keys/{credential.pk}/delete").status_code == 405
    assert alice_client.get(PAGE + "keys/").status_code == 405


def test_in_a_project_the_project_key_comes_first(alice_client, alice, project):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)
    assert states(alice_client.get(PAGE))["claude-code"] == "user"
    response = alice_client.get(PAGE, {"project": project.pk})
    assert states(response)["claude-code"] == "project"
    assert "ready: project key" in card(response, "claude-code")
    assert "…BBBB" in card(response, "claude-code")


def test_another_users_project_is_not_found(alice_client, bob):
    bobs_project = bob.projects.create(name="bobs")
    assert alice_client.get(PAGE, {"project": bobs_project.pk}).status_code == 404
    assert alice_client.get(PAGE, {"project": "x"}).status_code == 404


def test_a_switched_off_project_key_stops_the_users_key_in_that_project(
    alice_client, alice, project
):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project, active=False)
    response = alice_client.get(PAGE, {"project": project.pk})
    assert states(response)["claude-code"] == "platform"
    assert "your own key is not used here" in card(response, "claude-code")


def test_the_page_is_built_with_a_fixed_number_of_queries(
    alice_client, alice, project, django_assert_max_num_queries
):
    for agent, key in (("claude-code", CLAUDE_KEY), ("openai-codex", OPENAI_KEY)):
        add_credential(Scope.USER, agent, key, owner=alice)
        add_credential(Scope.PROJECT, agent, key, project=project)
    alice_client.get(PAGE)  # warm the session and the proxy configuration cache
    # Two of them are the Today panel's (tests/credentials/test_agents_page_today.py).
    with django_assert_max_num_queries(8):
        alice_client.get(PAGE, {"project": project.pk})


# The page must say what the agent-key endpoint would do. Each scenario sets the stage; the
# page's state for every agent is then checked against the endpoint's actual answer, for a
# workspace in the project and for one outside any project.
ENDPOINT_STATE = {"user": "user", "project": "project", "platform": "platform"}


def _nothing(alice, project, settings):
    pass


def _user_keys(alice, project, settings):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.USER, "google-gemini", GEMINI_KEY, owner=alice)


def _project_and_user_keys(alice, project, settings):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)
    add_credential(Scope.PROJECT, "openai-codex", OPENAI_KEY, project=project)


def _switched_off_project_key(alice, project, settings):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    add_credential(Scope.USER, "google-gemini", GEMINI_KEY, owner=alice)
    add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project, active=False)
    add_credential(Scope.PROJECT, "google-gemini", GEMINI_KEY, project=project, active=False)


def _switched_off_user_key(alice, project, settings):
    add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice, active=False)


def _proxy_off(alice, project, settings):
    ProxySettings(enabled=False).save()
    add_credential(Scope.USER, "openai-codex", OPENAI_KEY, owner=alice)


def _proxy_off_in_env(alice, project, settings):
    settings.AI_PROXY_ENABLED = False


def _platform_keys_exposed(alice, project, settings):
    settings.EXPOSE_PLATFORM_KEYS_TO_WORKSPACES = True
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    add_credential(Scope.PLATFORM, "mistral-vibe", "mistral-platform-key-0000000000MMMM")


def _platform_keys_kept(alice, project, settings):
    add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    add_credential(Scope.PLATFORM, "mistral-vibe", "mistral-platform-key-0000000000MMMM")


@pytest.mark.parametrize(
    "scenario",
    [
        _nothing,
        _user_keys,
        _project_and_user_keys,
        _switched_off_project_key,
        _switched_off_user_key,
        _proxy_off,
        _proxy_off_in_env,
        _platform_keys_exposed,
        _platform_keys_kept,
    ],
)
def test_the_page_agrees_with_the_agent_key_endpoint(client, alice, project, settings, scenario):
    scenario(alice, project, settings)
    workspaces = {project.pk: make_workspace(alice, project), None: make_workspace(alice)}
    client.force_login(alice)
    for project_id, ws in workspaces.items():
        page = client.get(PAGE, {"project": project_id} if project_id else {})
        for agent, state in states(page).items():
            response = post_json(client, ws.url(), {"agentType": agent}, ws.token)
            expected = (
                ENDPOINT_STATE[response.json()["credentialSource"]]
                if response.status_code == 200
                else "unavailable"
            )
            assert state == expected, (scenario.__name__, project_id, agent)
