"""The agent-key endpoint's query budget (SPEC §18): ≤ 3 per branch, + 1 to update a task.

The proxy configuration is a cached snapshot (loaded at most once a minute per deployment),
so each test warms it first, as any running server has.
"""

import pytest

from catalog.config import stored_config
from credentials.models import Scope
from tests.support import (
    CLAUDE_KEY,
    CLAUDE_PLATFORM_KEY,
    CLAUDE_PROJECT_KEY,
    add_credential,
    post_json,
)
from workspaces.models import Task

pytestmark = pytest.mark.django_db


def setup_branch(branch, alice, project, settings):
    if branch == "user":
        add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
    elif branch == "project":
        add_credential(Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project)
    elif branch == "project-halt":
        add_credential(Scope.USER, "claude-code", CLAUDE_KEY, owner=alice)
        add_credential(
            Scope.PROJECT, "claude-code", CLAUDE_PROJECT_KEY, project=project, active=False
        )
    elif branch == "platform-exposed":
        settings.EXPOSE_PLATFORM_KEYS_TO_WORKSPACES = True
        add_credential(Scope.PLATFORM, "claude-code", CLAUDE_PLATFORM_KEY)
    elif branch == "proxy-callback":
        settings.AI_PROXY_TOKEN_MODE = "callback"
    elif branch == "proxy-scoped":
        settings.AI_PROXY_TOKEN_MODE = "scoped"
    elif branch == "proxy-disabled":
        settings.AI_PROXY_ENABLED = False


BRANCHES = [
    ("user", "claude-code", 200),
    ("project", "claude-code", 200),
    ("project-halt", "claude-code", 200),
    ("platform-exposed", "claude-code", 200),
    ("proxy-callback", "claude-code", 200),
    ("proxy-scoped", "claude-code", 200),
    ("proxy-disabled", "claude-code", 404),
    ("not-eligible", "google-gemini", 404),
]


@pytest.mark.parametrize("with_task", [False, True], ids=["no-task", "task"])
@pytest.mark.parametrize(("branch", "agent_type", "status"), BRANCHES)
def test_every_branch_stays_within_its_query_budget(
    client,
    ws,
    alice,
    project,
    settings,
    django_assert_max_num_queries,
    branch,
    agent_type,
    status,
    with_task,
):
    setup_branch(branch, alice, project, settings)
    if with_task:
        Task.objects.create(workspace=ws.workspace, title="fix the build")
    stored_config()

    budget = 3 + (1 if with_task and status == 200 else 0)
    with django_assert_max_num_queries(budget):
        response = post_json(client, ws.url(), {"agentType": agent_type}, ws.token)

    assert response.status_code == status


def test_a_cold_configuration_cache_costs_two_queries_once(
    client, ws, settings, django_assert_max_num_queries
):
    settings.AI_PROXY_TOKEN_MODE = "callback"  # no mint: only the cache's cost is counted
    with django_assert_max_num_queries(2 + 2):
        post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)
    with django_assert_max_num_queries(2):
        post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)
