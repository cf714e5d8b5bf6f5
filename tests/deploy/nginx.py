"""nginx for the deploy test: the site of `deploy/nginx/sam.conf`, rendered for loopback.

What the rendering changes, and nothing else: the upstream's `server` lines become the test's
app instances (with the file's own parameters), the TLS listeners become one plain-HTTP
listener on a free loopback port, the certificate lines go, and the static root moves into
the test's folder. Every header, buffer, timeout and size limit is the file's. One line is
added: `X-Served-By`, the instance that answered, so the test can tell them apart.

nginx runs as the current user (as root, its workers stay root: the test's folder is
private), in the foreground, with its pid file, logs and temporary files in that folder.
"""

import os
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import ROOT, free_port

NGINX = Path("/usr/sbin/nginx")
SITE = ROOT / "deploy" / "nginx" / "sam.conf"

_UPSTREAM_SERVER = re.compile(r"^(\s*)server\s+\S+:\d+([^;]*);\n", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*)listen\s[^;]*;\n", re.MULTILINE)
_TLS = re.compile(r"^\s*ssl_\w+\s[^;]*;\n", re.MULTILINE)
_ALIAS = re.compile(r"^(\s*)alias\s[^;]*;", re.MULTILINE)


def nginx_required() -> None:
    if not NGINX.exists():
        pytest.fail(
            f"nginx is not installed at {NGINX}: run `apt-get install -y nginx`, "
            "or set SAM_SKIP_DEPLOY_TESTS=1 to skip the deploy test.",
            pytrace=False,
        )


def render_site(site: str, instances: list[str], port: int, static_root: Path) -> str:
    """The site for loopback; `instances` are host:port addresses of the app."""
    servers = _UPSTREAM_SERVER.findall(site)
    assert servers, "the site has no upstream servers to replace"
    indent, parameters = servers[0]
    lines = "".join(f"{indent}server {address}{parameters};\n" for address in instances)
    site = _UPSTREAM_SERVER.sub("", site, count=len(servers) - 1)
    site = _UPSTREAM_SERVER.sub(lines.replace("\\", "\\\\"), site, count=1)
    listeners = _LISTEN.findall(site)
    assert listeners, "the site has no listen lines to replace"
    # The commented HTTP→HTTPS block starts with "#", which these patterns never match.
    site = _LISTEN.sub("", site, count=len(listeners) - 1)
    site = _LISTEN.sub(
        f"{listeners[0]}listen 127.0.0.1:{port};\n"
        f"{listeners[0]}add_header X-Served-By $upstream_addr always;\n",
        site,
        count=1,
    )
    site = _TLS.sub("", site)
    site, aliased = _ALIAS.subn(rf"\1alias {static_root}/;", site)
    assert aliased == 1, "the site's /static/ alias was not found"
    return site


class Nginx:
    """nginx in front of `instances`, at `url` once started."""

    def __init__(self, folder: Path, instances: list[str]):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (folder / "static").mkdir(parents=True, exist_ok=True)
        site = render_site(SITE.read_text(), instances, self.port, folder / "static")
        (folder / "sam.conf").write_text(site)
        (folder / "nginx.conf").write_text(self._main_config())
        self.process: subprocess.Popen[bytes] | None = None

    def _main_config(self) -> str:
        f = self.folder
        return f"""
daemon off;
worker_processes 2;
pid {f}/nginx.pid;
error_log {f}/error.log warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    access_log {f}/access.log;
    client_body_temp_path {f}/client_body;
    proxy_temp_path {f}/proxy;
    fastcgi_temp_path {f}/fastcgi;
    uwsgi_temp_path {f}/uwsgi;
    scgi_temp_path {f}/scgi;
    include {f}/sam.conf;
}}
"""

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NGINX), "-t", *self._where()], capture_output=True, text=True, check=False
        )

    def _where(self) -> list[str]:
        folder = self.folder
        return [
            "-p",
            str(folder),
            "-e",
            str(folder / "error.log"),
            "-c",
            str(folder / "nginx.conf"),
        ]

    def start(self) -> "Nginx":
        checked = self.check()
        assert checked.returncode == 0, checked.stderr
        with (self.folder / "nginx.out").open("ab") as output:
            self.process = subprocess.Popen(
                [str(NGINX), *self._where()], stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/health", timeout=5)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start:\n{self.error_log()}")

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
