"""deploy/nginx/sam.conf as nginx reads it: valid as shipped (TLS included), and its body
caps match the app's — a body at a cap reaches the app, one byte more is refused by nginx in
the JSON the app itself answers on that route."""

import datetime
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from tests.deploy.nginx import NGINX, SITE, Nginx
from tests.support import make_workspace

MiB = 1024 * 1024


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sam.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_shipped_site_is_valid_nginx_with_its_certificate_in_place(tmp_path):
    cert, key = _self_signed(tmp_path)
    site = SITE.read_text()
    assert "/etc/ssl/sam/fullchain.pem" in site
    assert "/etc/ssl/sam/privkey.pem" in site
    site = site.replace("/etc/ssl/sam/fullchain.pem", str(cert))
    site = site.replace("/etc/ssl/sam/privkey.pem", str(key))
    (tmp_path / "sam.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ include {tmp_path}/sam.conf; }}\n"
    )

    where = ["-p", str(tmp_path), "-e", str(tmp_path / "error.log")]
    checked = subprocess.run(
        [str(NGINX), "-t", *where, "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert checked.returncode == 0, checked.stderr


@pytest.fixture
def nginx_in_front(live_url, proxy_upstream, tmp_path):
    nginx = Nginx(tmp_path / "nginx", [live_url.removeprefix("http://")]).start()
    yield nginx
    nginx.stop()


def _claude_body(size: int) -> bytes:
    """A Messages request of exactly `size` bytes."""
    start, end = b'{"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "', b'"}]}'  # fmt: skip
    return start + b"x" * (size - len(start) - len(end)) + end


def _chat_body(size: int) -> bytes:
    start, end = b'{"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "', b'"}]}'
    return start + b"x" * (size - len(start) - len(end)) + end


def _post(url: str, body: bytes, token: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.post(url, content=body, headers=headers, timeout=30)


def test_a_proxy_body_at_the_apps_cap_passes_nginx(nginx_in_front, alice):
    ws = make_workspace(alice)
    cap = settings.AI_PROXY_MAX_BODY_BYTES
    assert cap == 8 * MiB  # the site's client_max_body_size on /ai/

    claude = _post(
        f"{nginx_in_front.url}/ai/anthropic/v1/messages", _claude_body(cap), ws.proxy_token()
    )
    chat = _post(f"{nginx_in_front.url}/ai/v1/chat/completions", _chat_body(cap), ws.proxy_token())

    assert claude.status_code == 200
    assert claude.headers["X-Served-By"]
    assert claude.json()["type"] == "message"
    assert chat.status_code == 200
    assert chat.json()["object"] == "chat.completion"


def test_a_proxy_body_over_the_cap_is_refused_by_nginx_in_the_routes_dialect(
    nginx_in_front, proxy_upstream, alice
):
    ws = make_workspace(alice)
    over = settings.AI_PROXY_MAX_BODY_BYTES + 1

    claude = _post(
        f"{nginx_in_front.url}/ai/anthropic/v1/messages", _claude_body(over), ws.proxy_token()
    )
    chat = _post(f"{nginx_in_front.url}/ai/v1/chat/completions", _chat_body(over), ws.proxy_token())

    assert claude.status_code == 413
    assert claude.headers["Content-Type"] == "application/json"
    assert claude.json() == {
        "type": "error",
        "error": {"type": "request_too_large", "message": "The request body is too large."},
    }
    assert chat.status_code == 413
    assert chat.json()["error"]["code"] == "payload_too_large"
    assert chat.json()["error"]["type"] == "invalid_request_error"
    # nginx answered itself: no instance is named, and the provider saw nothing.
    assert "X-Served-By" not in claude.headers
    assert "X-Served-By" not in chat.headers
    assert proxy_upstream.received == []


def test_an_api_body_over_djangos_cap_is_refused_by_nginx_as_the_api_does(nginx_in_front, alice):
    ws = make_workspace(alice)
    cap = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert cap == 2560 * 1024  # the site's client_max_body_size outside /ai/
    url = f"{nginx_in_front.url}{ws.url()}"
    body = b'{"agentType": "claude-code", "pad": "'

    by_the_app = _post(url, body + b"x" * (cap - len(body) - 2) + b'"}', ws.token)
    by_nginx = _post(url, body + b"x" * (cap - len(body) - 1) + b'"}', ws.token)

    # The app's own cap on this route is far smaller: it answers 413 itself, in its JSON.
    assert by_the_app.status_code == 413
    assert by_the_app.json()["error"] == "payload_too_large"
    assert by_the_app.headers["X-Served-By"]
    assert by_nginx.status_code == 413
    assert "X-Served-By" not in by_nginx.headers
    assert json.loads(by_nginx.content) == {
        "error": "payload_too_large",
        "message": "The request body is too large.",
    }
