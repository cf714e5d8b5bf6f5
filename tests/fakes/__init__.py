"""Fakes of what lies outside the machine. `upstream.FakeUpstream` is an AI provider; its
pytest fixtures are in `fixtures.py` (registered in tests/conftest.py)."""
