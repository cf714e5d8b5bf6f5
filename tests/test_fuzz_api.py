"""Fuzzing the workspace API against its own OpenAPI schema: no input may cause a 500.

Schemathesis generates bodies from the schema (valid and not) and sends them to the live
server with a valid callback token, so they get past authentication and reach validation.
"""

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings

from tests.support import make_workspace

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.config.generation.update(max_examples=40)
# 413 is how an oversized (schema-violating) body is rejected, besides the usual 4xx.
negative = schema.config.checks.negative_data_rejection
negative.expected_statuses = [*negative.expected_statuses, "413"]
# A credential can match the schema and still fail its agent's format check (400).
positive = schema.config.checks.positive_data_acceptance
positive.expected_statuses = [*positive.expected_statuses, "400"]


@pytest.fixture
def django_settings(settings):
    # Schemathesis's test functions take a `settings` of their own (Hypothesis's).
    return settings


@pytest.fixture
def fuzz_target(live_url, alice, project):
    return live_url, make_workspace(alice, project)


@schema.include(path_regex=r"^/api/workspaces/").parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_no_input_makes_the_workspace_api_fail(case, fuzz_target):
    base_url, ws = fuzz_target
    case.path_parameters = {"workspace_id": ws.id}

    case.call_and_validate(base_url=base_url, headers=ws.headers)


@schema.include(path_regex=r"^/ai/").parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_no_input_makes_the_ai_proxy_fail(case, fuzz_target, proxy_upstream, django_settings):
    base_url, ws = fuzz_target
    django_settings.AI_PROXY_RATE_LIMIT_RPM = 1_000_000

    response = case.call(base_url=base_url, headers=ws.headers)

    assert response.status_code < 500, response.text
