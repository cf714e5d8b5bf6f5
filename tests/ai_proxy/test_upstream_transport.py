"""The upstream client's transport against real loopback servers: keep-alive, TLS, and
the httpx exceptions the proxy maps to 502 and 504."""

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ai_proxy.transport import LeanTransport
from tests.ai_proxy.live_proxy import CHAT, CLAUDE_MESSAGE, LiveProxy
from tests.fakes.upstream import FakeUpstream, Hang, refused_url


def test_the_proxy_keeps_its_upstream_connection_alive(proxy: LiveProxy):
    for _ in range(3):
        assert proxy.post("v1/chat/completions", CHAT).status_code == 200

    assert len({call.peer for call in proxy.upstream.received}) == 1


def test_a_connection_whose_answer_was_cut_short_is_not_reused(proxy: LiveProxy):
    proxy.upstream.answer_next(Hang(after_chunks=1))
    with httpx.stream(
        "POST",
        f"{proxy.base}/anthropic/v1/messages",
        json={**CLAUDE_MESSAGE, "stream": True},
        headers={"Authorization": f"Bearer {proxy.token}"},
    ) as response:
        next(response.iter_bytes())
    assert proxy.upstream.wait_for_disconnect()

    assert proxy.post("anthropic/v1/messages", CLAUDE_MESSAGE).status_code == 200
    first, second = proxy.upstream.received
    assert first.peer != second.peer


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def tls_upstream(certificate: tuple[Path, Path]) -> Iterator[FakeUpstream]:
    cert_file, key_file = certificate
    fake = FakeUpstream().start(ssl_certfile=str(cert_file), ssl_keyfile=str(key_file))
    yield fake
    fake.stop()


def post(transport: LeanTransport, url: str, body: dict, **timeouts: float) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.post(url, json=body, timeout=httpx.Timeout(5, **timeouts))
            await response.aread()
            return response

    return asyncio.run(send())


def test_it_speaks_tls_to_an_upstream_it_trusts(tls_upstream: FakeUpstream, certificate):
    trusted = ssl.create_default_context(cafile=str(certificate[0]))

    response = post(
        LeanTransport(ssl_context=trusted), f"{tls_upstream.url}/v1/messages", CLAUDE_MESSAGE
    )

    assert tls_upstream.url.startswith("https://")
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "Echo: hello proxy"


def test_it_refuses_an_upstream_certificate_it_cannot_verify(tls_upstream: FakeUpstream):
    with pytest.raises(httpx.ConnectError):
        post(LeanTransport(), f"{tls_upstream.url}/v1/messages", CLAUDE_MESSAGE)


def test_a_refused_connection_is_an_httpx_connect_error():
    with pytest.raises(httpx.ConnectError):
        post(LeanTransport(), f"{refused_url()}/v1/messages", CLAUDE_MESSAGE)


def test_silence_past_the_read_timeout_is_an_httpx_read_timeout(fake_upstream: FakeUpstream):
    fake_upstream.answer_next(Hang())

    with pytest.raises(httpx.ReadTimeout):
        post(LeanTransport(), f"{fake_upstream.openai_url}/chat/completions", CHAT, read=0.3)
