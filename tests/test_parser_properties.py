"""Property tests: the parsers of untrusted input fail only in the ways they document."""

import contextlib

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from catalog.agents import AGENTS, CREDENTIAL_KINDS, UnknownAgent
from credentials.encryption import (
    KeyConfigError,
    Keyring,
    SealedSecret,
    UnreadableSecret,
    _derive,
    parse_key_setting,
)
from credentials.formats import CredentialFormatError, check_secret_format, secret_last4
from workspaces.tokens import TokenRejected, bearer_token, token_authenticate

KEYRING = Keyring([_derive("k1", "1" * 64)])


@given(st.text(), st.sampled_from([*AGENTS, "cursor"]), st.sampled_from([*CREDENTIAL_KINDS, "x"]))
def test_format_checks_only_ever_refuse_with_their_own_errors(value, agent, kind):
    with contextlib.suppress(CredentialFormatError, UnknownAgent):
        check_secret_format(agent, kind, value)


@given(st.text())
def test_a_hint_never_shows_more_than_four_characters(value):
    hint = secret_last4(value)
    assert len(hint) <= 4
    if len(value.strip()) <= 8:
        assert hint == ""


@given(st.text())
def test_key_settings_parse_or_fail_with_a_config_error(raw):
    try:
        pairs = parse_key_setting(raw)
    except KeyConfigError:
        return
    assert all(len(secret) >= 32 for _, secret in pairs)


@given(st.text())
def test_any_stored_text_either_opens_or_is_unreadable(stored):
    with contextlib.suppress(UnreadableSecret):
        KEYRING.open(SealedSecret.parse(stored))


@given(st.text())
def test_sealing_round_trips(plaintext):
    assert KEYRING.open(SealedSecret.parse(str(KEYRING.seal(plaintext)))) == plaintext


@given(st.text())
def test_authorization_headers_parse_to_a_token_or_none(header):
    token = bearer_token(header)
    assert token is None or (token and " " not in token)


@given(st.text(max_size=200))
def test_malformed_tokens_are_rejected_before_any_query(raw):
    assume(not raw.startswith(("sam_cb_", "sam_px_")))
    # No database access is allowed in this test: a malformed token must stop before a query.
    with pytest.raises(TokenRejected, match="malformed"):
        token_authenticate(raw)
