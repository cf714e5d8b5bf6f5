import pytest

from tests.support import post_json

pytestmark = pytest.mark.django_db


def test_it_answers(client, ws):
    response = post_json(client, ws.url(), {"agentType": "claude-code"}, ws.token)
    assert response.status_code == 200
