"""The origin check: the token only goes to a proxy URL on the control plane's own origin."""

import pytest

from agent_client.origin import URLRefused, parse_url, same_origin_url

CONTROL_PLANE = parse_url("https://api.sam.test", what="control plane").origin
LOCAL_CONTROL_PLANE = parse_url("http://127.0.0.1:8000", what="control plane").origin


@pytest.mark.parametrize(
    ("base_url", "canonical"),
    [
        ("https://api.sam.test/ai/anthropic", "https://api.sam.test/ai/anthropic"),
        ("https://api.sam.test:443/ai/v1", "https://api.sam.test/ai/v1"),
        ("HTTPS://API.Sam.Test/ai/v1/", "https://api.sam.test/ai/v1"),
        ("https://api.sam.test:0443/ai/v1", "https://api.sam.test/ai/v1"),
        ("https://api.sam.test", "https://api.sam.test"),
    ],
)
def test_a_base_url_on_the_control_planes_origin_is_accepted_in_canonical_form(base_url, canonical):
    assert same_origin_url(base_url, CONTROL_PLANE) == canonical


def test_the_default_http_port_equals_an_explicit_80():
    control_plane = parse_url("http://cp.internal", what="control plane").origin

    assert (
        same_origin_url("http://cp.internal:80/ai/v1", control_plane) == "http://cp.internal/ai/v1"
    )


@pytest.mark.parametrize(
    "base_url",
    [
        "https://evil.test/ai/anthropic",
        "https://api.sam.test.evil.test/ai/anthropic",
        "https://sam.test/ai/anthropic",
        "https://xapi.sam.test/ai/anthropic",
        "https://api.sam.tes/ai/anthropic",
    ],
)
def test_another_host_is_refused(base_url):
    with pytest.raises(URLRefused, match="host differs"):
        same_origin_url(base_url, CONTROL_PLANE)


@pytest.mark.parametrize(
    "base_url", ["https://api.sam.test:8443/ai/v1", "https://api.sam.test:80/ai/v1"]
)
def test_another_port_is_refused(base_url):
    with pytest.raises(URLRefused, match="port differs"):
        same_origin_url(base_url, CONTROL_PLANE)


def test_plain_http_is_refused_for_an_https_control_plane():
    with pytest.raises(URLRefused, match="scheme and port differ"):
        same_origin_url("http://api.sam.test/ai/v1", CONTROL_PLANE)


def test_https_is_refused_for_an_http_control_plane():
    with pytest.raises(URLRefused, match="scheme differs"):
        same_origin_url("https://127.0.0.1:8000/ai/v1", LOCAL_CONTROL_PLANE)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://user:password@api.sam.test/ai/v1",
        "https://api.sam.test@evil.test/ai/v1",
        "https://api.sam.test:443@evil.test/ai/v1",
        "https://api.sam.test%2F@evil.test/ai/v1",
        "https://@api.sam.test/ai/v1",
    ],
)
def test_userinfo_is_refused(base_url):
    with pytest.raises(URLRefused, match="userinfo"):
        same_origin_url(base_url, CONTROL_PLANE)


@pytest.mark.parametrize(
    "base_url",
    [
        "https://evil.test#@api.sam.test/ai/v1",
        "https://evil.test?@api.sam.test/ai/v1",
        "https://evil.test\\@api.sam.test/ai/v1",
        "https://api.sam.test\\@evil.test/ai/v1",
        "https://api.sam.test/ai/v1?next=https://evil.test",
        "https://api.sam.test/ai/v1#fragment",
    ],
)
def test_at_sign_tricks_behind_fragments_queries_and_backslashes_are_refused(base_url):
    with pytest.raises(URLRefused):
        same_origin_url(base_url, CONTROL_PLANE)


def test_the_refusal_never_quotes_userinfo():
    with pytest.raises(URLRefused) as refused:
        same_origin_url("https://sam_cb_leaked:hunter2hunter2@evil.test/ai/v1", CONTROL_PLANE)

    assert "hunter2" not in str(refused.value)
    assert "sam_cb_leaked" not in str(refused.value)


def test_the_refusal_says_where_the_url_pointed_and_why():
    with pytest.raises(URLRefused) as refused:
        same_origin_url("https://evil.test:8443/ai/v1", CONTROL_PLANE)

    message = str(refused.value)
    assert "https://evil.test:8443" in message
    assert "https://api.sam.test" in message
    assert "host and port differ" in message


@pytest.mark.parametrize(
    "base_url",
    [
        "https://\u0430pi.sam.test/ai/v1",  # Cyrillic small a: another name entirely
        "https://api.sam.te\u0455t/ai/v1",  # Cyrillic small dze
        "https://api.sam.test\u2025/ai/v1",  # two-dot leader, not a dot
    ],
)
def test_unicode_lookalike_hosts_are_refused(base_url):
    with pytest.raises(URLRefused, match=r"valid domain name|host differs"):
        same_origin_url(base_url, CONTROL_PLANE)


def test_a_unicode_spelling_of_the_same_host_is_emitted_as_its_ascii_name():
    # IDNA maps full-width letters to ASCII: every client connects to api.sam.test, and the
    # agent is handed exactly that.
    assert (
        same_origin_url("https://\uff41\uff50\uff49.sam.test/ai/v1", CONTROL_PLANE)
        == "https://api.sam.test/ai/v1"
    )


def test_an_idna_control_plane_matches_its_punycode_form():
    control_plane = parse_url("https://b\u00fccher.example", what="control plane").origin

    assert control_plane.host == "xn--bcher-kva.example"
    assert (
        same_origin_url("https://xn--bcher-kva.example/ai/v1", control_plane)
        == "https://xn--bcher-kva.example/ai/v1"
    )
    assert (
        same_origin_url("https://B\u00dcCHER.example/ai/v1", control_plane)
        == "https://xn--bcher-kva.example/ai/v1"
    )


def test_an_invalid_internationalised_host_is_refused():
    with pytest.raises(URLRefused, match="not a valid domain name"):
        same_origin_url("https://" + "\u00fc" * 70 + ".sam.test/ai/v1", CONTROL_PLANE)


def test_a_trailing_dot_names_the_same_host():
    assert (
        same_origin_url("https://api.sam.test./ai/v1", CONTROL_PLANE)
        == "https://api.sam.test/ai/v1"
    )
    assert (
        same_origin_url("https://api.sam.test.:443/ai/v1", CONTROL_PLANE)
        == "https://api.sam.test/ai/v1"
    )


@pytest.mark.parametrize(
    "base_url", ["https://api.sam.test../ai/v1", "https://./ai/v1", "https:///ai/v1"]
)
def test_empty_labels_and_empty_hosts_are_refused(base_url):
    with pytest.raises(URLRefused):
        same_origin_url(base_url, CONTROL_PLANE)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.1:8000/ai/v1",
        "http://2130706433:8000/ai/v1",
        "http://0x7f.0.0.1:8000/ai/v1",
        "http://0177.0.0.1:8000/ai/v1",
        "http://127.0.0.01:8000/ai/v1",
    ],
)
def test_ipv4_addresses_in_non_standard_forms_are_refused(base_url):
    with pytest.raises(URLRefused, match="non-standard form"):
        same_origin_url(base_url, LOCAL_CONTROL_PLANE)


def test_a_loopback_control_plane_accepts_its_own_address():
    assert (
        same_origin_url("http://127.0.0.1:8000/ai/v1", LOCAL_CONTROL_PLANE)
        == "http://127.0.0.1:8000/ai/v1"
    )


def test_ipv6_addresses_are_compared_in_canonical_form():
    control_plane = parse_url("http://[::1]:8000", what="control plane").origin

    assert (
        same_origin_url("http://[0:0:0:0:0:0:0:1]:8000/ai/v1", control_plane)
        == "http://[::1]:8000/ai/v1"
    )
    with pytest.raises(URLRefused):
        same_origin_url("http://[::2]:8000/ai/v1", control_plane)


@pytest.mark.parametrize(
    "base_url",
    [
        None,
        42,
        "",
        "api.sam.test/ai/v1",
        "//api.sam.test/ai/v1",
        "ftp://api.sam.test/ai/v1",
        "javascript:alert(1)",
        "https://api.sam.test:99999/ai/v1",
        "https://api.sam.test:+443/ai/v1",
        "https://api.sam.test:/ai/v1",
        "https://api.sam.test/ai /v1",
        "https://api.sam.test\n.evil.test/ai/v1",
        "https://api.sam.test\t/ai/v1",
        "https://api%2Esam%2Etest/ai/v1",
        "https://api.sam.test/ai/\u00e9",
        "https://" + "a" * 2050,
        "http://[::1%25eth0]:8000/ai/v1",
        "https://api\uff20evil.test/ai/v1",
    ],
)
def test_urls_that_are_not_plain_http_urls_are_refused(base_url):
    with pytest.raises(URLRefused):
        same_origin_url(base_url, CONTROL_PLANE)
