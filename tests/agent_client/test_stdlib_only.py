"""The client imports nothing but the standard library, and agrees with the server's catalog."""

import ast
import sys
from pathlib import Path

import pytest

import agent_client
from agent_client.catalog import AGENTS, PLATFORM_PROXY_SENTINEL
from catalog import agents as server_catalog

PACKAGE = Path(agent_client.__file__).parent


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_each_module_imports_only_the_standard_library_and_itself(path):
    for module in imported_modules(path):
        top = module.split(".")[0]
        assert top == "agent_client" or top in sys.stdlib_module_names, module


def test_the_client_knows_exactly_the_servers_agents():
    assert set(AGENTS) == set(server_catalog.AGENTS)


@pytest.mark.parametrize("agent_type", sorted(server_catalog.AGENTS))
def test_the_client_puts_each_credential_where_the_server_catalog_says(agent_type):
    ours, theirs = AGENTS[agent_type], server_catalog.AGENTS[agent_type]

    assert ours.key_env == theirs.key_env
    assert ours.oauth_env == theirs.oauth_env
    assert ours.oauth_accepted == theirs.oauth_accepted
    assert ours.proxy_provider == theirs.proxy_provider
    assert ours.renews_token == theirs.renews_token
    assert ours.key_env in ours.managed_env


def test_the_placeholder_is_the_servers():
    assert PLATFORM_PROXY_SENTINEL == server_catalog.PLATFORM_PROXY_SENTINEL
