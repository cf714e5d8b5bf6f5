"""The OpenAPI schema says exactly what the server accepts and answers (SPEC §26): every
route is fuzzed against it with every schemathesis check (the Python API runs them all; on
the command line that is `--checks all`), with data that fits the schema and data that
does not.

Schemathesis generates requests from the schema and sends them to the live server with a
valid callback token, so they get past authentication to validation, the catalog and, when
valid, the fake upstream. The schema is generated in the test, from the enabled catalog it
describes (the proxy's models are an enum read from it).

The schema's one custom format, `json-object` (a string holding a JSON object: tool call
arguments), gets its values from a strategy registered here; with data that does not fit,
schemathesis draws strings that need not hold one.
"""

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.support import make_workspace

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=8,
)
schemathesis.openapi.format("json-object", st.dictionaries(st.text(), JSON_VALUES).map(json.dumps))

OPERATIONS = {
    "POST /api/workspaces/{workspace_id}/agent-key",
    "POST /api/workspaces/{workspace_id}/agent-credential-sync",
    "POST /api/workspaces/{workspace_id}/proxy-token",
    "POST /ai/anthropic/v1/messages",
    "POST /ai/anthropic/v1/messages/count_tokens",
    "POST /ai/v1/chat/completions",
    "POST /ai/v1/responses",
    "GET /ai/v1/models",
}


@pytest.fixture
def fuzz_target(live_url, alice, project, proxy_upstream, settings):
    settings.AI_PROXY_RATE_LIMIT_RPM = 1_000_000
    settings.AI_PROXY_TOKEN_MINTS_PER_MINUTE = 1_000_000
    return live_url, make_workspace(alice, project)


def operations():
    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        found.append(result.ok())
    return found


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_route_answers_as_its_schema_says(fuzz_target, mode):
    base_url, ws = fuzz_target
    # The VM's callback token on the workspace API; on /ai/ what agents hold (scoped mode).
    proxy_headers = {"Authorization": f"Bearer {ws.proxy_token()}"}
    found = operations()
    assert {operation.label for operation in found} == OPERATIONS

    for operation in found:
        path_parameters = {"workspace_id": ws.id} if "{workspace_id}" in operation.path else None

        @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
        @settings(
            max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def answers_as_documented(case):
            headers = proxy_headers if case.path.startswith("/ai/") else ws.headers
            case.call_and_validate(base_url=base_url, headers=headers)

        answers_as_documented()
