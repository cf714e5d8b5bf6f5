"""deploy/systemd/sam.service: systemd accepts it, and the server command it runs (several
uvicorn workers, the production flags) starts and serves, then stops cleanly on SIGTERM as
systemd stops it."""

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.deploy.unit import INSTALLED_UVICORN, UNIT, unit_server_command
from tests.processes import ROOT, database_url, free_port
from tests.support import make_workspace

SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")


def test_systemd_accepts_the_shipped_unit(tmp_path):
    if not SYSTEMD_ANALYZE.exists():
        pytest.fail(
            f"{SYSTEMD_ANALYZE} is missing: run `apt-get install -y systemd`, "
            "or set SAM_SKIP_DEPLOY_TESTS=1 to skip the deploy tests.",
            pytrace=False,
        )
    unit = UNIT.read_text()
    # Only where it is installed changes: the checkout and its virtualenv, the settings file.
    unit = unit.replace(INSTALLED_UVICORN, str(Path(sys.executable).parent / "uvicorn"))
    unit = unit.replace("WorkingDirectory=/opt/sam", f"WorkingDirectory={ROOT}")
    environment = tmp_path / "sam.env"
    environment.write_text("")
    unit = unit.replace("EnvironmentFile=/etc/sam/sam.env", f"EnvironmentFile={environment}")
    (tmp_path / "sam.service").write_text(unit)

    verified = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", str(tmp_path / "sam.service")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""


def test_the_units_server_command_starts_several_workers_that_serve(
    django_db_setup, tmp_path, monkeypatch
):
    port = free_port()
    monkeypatch.setenv("DATABASE_URL", database_url())
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            unit_server_command(port, workers=2), cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        ready = _wait_until_ready(f"http://127.0.0.1:{port}", server, log)
        assert ready, log.read_text(errors="replace")[-4000:]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=40) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)


def _wait_until_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None or "Traceback" in log.read_text(errors="replace"):
            return False
        try:
            if httpx.get(f"{url}/health/ready", timeout=5).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


def test_the_unit_gives_every_start_an_empty_metrics_directory():
    text = UNIT.read_text()
    directory = re.search(r"^RuntimeDirectory=(\S+)$", text, re.MULTILINE)
    assert directory, "the unit has no RuntimeDirectory for prometheus-client"
    assert f"Environment=PROMETHEUS_MULTIPROC_DIR=/run/{directory.group(1)}\n" in text


def test_the_units_workers_add_up_their_metrics(transactional_db, alice, tmp_path, monkeypatch):
    ws = make_workspace(alice)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    monkeypatch.setenv("DATABASE_URL", database_url())
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            unit_server_command(port, workers=2), cwd=ROOT, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        assert _wait_until_ready(url, server, log), log.read_text(errors="replace")[-4000:]
        for _ in range(10):
            answer = httpx.post(
                f"{url}/api/workspaces/{ws.id}/agent-key",
                json={"agentType": "claude-code"},
                headers={"Authorization": f"Bearer {ws.token}"},
                timeout=30,
            )
            assert answer.status_code == 200
        # Each scrape lands on either worker; each shows both workers' answers.
        for _ in range(6):
            page = httpx.get(f"{url}/metrics", timeout=30).text
            assert 'sam_agent_key_answers_total{source="proxy"} 10.0' in page
        assert len({path.name.split("_")[-1] for path in metrics_dir.glob("*.db")}) == 2
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=40)
