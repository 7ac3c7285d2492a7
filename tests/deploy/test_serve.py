"""Issue 25 item 2: `make serve` runs the production topology on one machine — a Prefect server on
PostgreSQL closed by its credential, two process workers, kaoping on PostgreSQL — and it works: a
stranger's request is refused, both workers are online, a flow run started through the API runs on
a worker against kaoping's PostgreSQL database, `kaoping doctor` finds the Prefect side ✔, and
SIGTERM stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kaoping.adapters.prefect_server import DEPLOYMENT_HOME
from tests.conftest import PG_SERVER_URL
from tests.smtp_server import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not PG_SERVER_URL, reason="PostgreSQL not configured: set "
                                                                       "KAOPING_TEST_DATABASE_URL (CI does)")]


@pytest.fixture
def databases():
    names = [f"kp_serve_{uuid.uuid4().hex[:8]}", f"pf_serve_{uuid.uuid4().hex[:8]}"]
    server = make_url(PG_SERVER_URL)
    yield [server.set(database=name).render_as_string(hide_password=False) for name in names]
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _wait_ready(process: subprocess.Popen, ready: Path, log: Path, timeout: float = 400) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            return json.loads(ready.read_text(encoding="utf-8"))
        if process.poll() is not None:
            raise AssertionError(f"kaoping serve ended: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(2)
    raise AssertionError(f"kaoping serve not ready after {timeout:.0f} s: {log.read_text(errors='replace')[-3000:]}")


def test_make_serve_runs_the_production_topology(databases, tmp_path):
    kaoping_db, prefect_db = databases
    port = free_port()
    ready, log = tmp_path / "ready.json", tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAOPING_", "PREFECT_"))}
    env.update(KAOPING_ENVIRONMENT="development", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    with log.open("wb") as output:
        process = subprocess.Popen([str(Path(sys.executable).parent / "kaoping"), "serve", "--home", str(tmp_path / "serve"),
                                    "--port", str(port), "--database-url", kaoping_db, "--prefect-database-url", prefect_db,
                                    "--ready-file", str(ready)], cwd=tmp_path, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        described = _wait_ready(process, ready, log)
        api, auth = described["api_url"], tuple(described["auth_string"].split(":", 1))
        assert httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).status_code == 401  # a stranger
        workers = httpx.post(f"{api}/work_pools/kaoping/workers/filter", json={}, auth=auth, timeout=10).json()
        assert len([w for w in workers if w["status"] == "ONLINE"]) == 2
        assert oct(os.stat(described["auth_file"]).st_mode & 0o777) == "0o600"

        intake = next(d for d in httpx.post(f"{api}/deployments/filter", json={}, auth=auth, timeout=10).json()
                      if d["entrypoint"] == "flows/daily.py:intake")
        run = httpx.post(f"{api}/deployments/{intake['id']}/create_flow_run", json={}, auth=auth, timeout=10).json()
        state = ""
        for _ in range(240):
            state = httpx.get(f"{api}/flow_runs/{run['id']}", auth=auth, timeout=10).json()["state"]["type"]
            if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            time.sleep(1)
        assert state == "COMPLETED"  # run by a worker, against kaoping's PostgreSQL database

        doctor = subprocess.run([str(Path(sys.executable).parent / "kaoping"), "doctor"], cwd=tmp_path, capture_output=True,
                                text=True, timeout=300,
                                env={**env, "PREFECT_API_URL": api, "PREFECT_API_AUTH_STRING": described["auth_string"],
                                     "KAOPING_DATABASE_URL": kaoping_db, "KAOPING_VAR_DIR": described["var_dir"]})
        for line in ("✔ Prefect 服务器", "✔ 工作池 kaoping", "✔ 部署", "✔ 数据库"):
            assert line in doctor.stdout, doctor.stdout
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=120)
    assert "已停止" in log.read_text(encoding="utf-8")
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=3)
    assert not ready.exists() and DEPLOYMENT_HOME.exists()
