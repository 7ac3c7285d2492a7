"""A Prefect installation on this machine, for `make demo` and the end-to-end tests: a
server (the ephemeral one Prefect ships, its database under ``home``), this repository's
deployments registered with ``prefect deploy --all`` exactly as in production, and a
process worker on the ``kaoping`` pool running them in subprocesses with kaoping's
settings in their environment.

**Closed, as in production.** Anyone who reaches an open Prefect API can read a run's inputs and
change what a worker runs. So a server started here can require Prefect's own authentication
(``auth_string``: ``PREFECT_SERVER_API_AUTH_STRING`` on the server, ``PREFECT_API_AUTH_STRING`` on
every client and worker; the UI asks for it on its login page), and the ``kaoping`` work pool is
created from ``kaoping/data/prefect/kaoping-work-pool.json`` (``WORK_POOL_TEMPLATE``): a process
pool whose job has no variables at all — no deployment or run can set the command, the
environment or the working directory of the process a worker starts (the server refuses such job
variables). The job's one command is fixed in the template, ``ENGINE_COMMAND``: Prefect's engine,
started straight from the ``python`` on the worker's ``PATH`` (kaoping's interpreter: ``LocalPrefect``
puts its folder first, the systemd unit sets it). Without a command Prefect 3.9 starts two
interpreters a run — a supervisor that reads the deployment, then the engine — and each imports
Prefect: ~1.5 s of CPU a run saved.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def deployment_home() -> Path:
    """The folder prefect.yaml's entrypoints (``flows/cycle.py:…``) resolve from: the one that
    holds ``flows/`` — the checkout, or the installed ``kaoping`` package (a wheel carries its
    prefect.yaml there). Found without importing the flows."""
    spec = importlib.util.find_spec("kaoping.flows")
    return Path(spec.origin).resolve().parent.parent

DEPLOYMENT_HOME = deployment_home()

POOL = "kaoping"
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")
#: Prefect 3.8 made its new UI (served under /v2) the default at /, while every deep link (/runs/flow-run/…,
#: /deployments/…, /artifacts/key/…) still opens the classic one: two UIs with different buttons. kaoping
#: pins the classic UI (the setting ``server.ui.v2_enabled``), whose words its emails, dialog and README use.
UI_PINNED = {"PREFECT_SERVER_UI_V2_ENABLED": "false"}
#: The work pool's base job template: nothing a deployment or a run may override (see the docstring).
WORK_POOL_TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "prefect" / "kaoping-work-pool.json"
#: What the pool's worker starts for every run (the template's fixed ``command``): Prefect's engine.
ENGINE_COMMAND = "python -m prefect.engine"


def new_auth_string(user: str = "kaoping") -> str:
    """A Prefect API credential, ``user:password`` with 32 random bytes of password."""
    import secrets

    return f"{user}:{secrets.token_urlsafe(32)}"


class LocalPrefect:
    def __init__(self, api_url: str, home: Path, env: dict[str, str], *, query_seconds: int = 1,
                 auth_string: str | None = None):
        self.api_url = api_url
        self.home = Path(home)
        self.env = {
            **os.environ, **env,
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": str(self.home),
            "PREFECT_LOCAL_STORAGE_PATH": str(self.home / "storage"),
            "PREFECT_WORKER_QUERY_SECONDS": str(query_seconds),
            "PREFECT_WORKER_PREFETCH_SECONDS": "1",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "KAOPING_HOME": str(DEPLOYMENT_HOME),
        }
        # The pool's command starts ``python`` from the PATH: this interpreter's, as the systemd unit's PATH does. (A
        # ``python`` beside this one is this environment's: a virtual environment is found from the folder.)
        folder = str(Path(sys.executable).parent)
        if shutil.which(ENGINE_COMMAND.split()[0], path=folder) is None:
            raise RuntimeError(f"{folder} 中没有 python：工作池的命令（{ENGINE_COMMAND}）找不到 kaoping 所在的 Python。"
                               "请在 kaoping 的虚拟环境中运行（make install 创建 .venv）")
        self.env["PATH"] = os.pathsep.join([folder, self.env.get("PATH", os.defpath)])
        auth_string = auth_string or _current_auth_string()
        if auth_string:
            self.env["PREFECT_API_AUTH_STRING"] = auth_string
        self.worker: subprocess.Popen | None = None
        self.log = self.home / "worker.log"

    def _prefect(self, *args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "prefect", *args], cwd=DEPLOYMENT_HOME, env=self.env,
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def deploy(self, *names: str, worker: bool = False) -> None:
        """The pool and every deployment of prefect.yaml (`prefect deploy --all`), or only the
        ``names`` given (e.g. ``半年考评``); ``worker``: the worker starts as soon as the pool exists,
        booting while the deployments are registered (it takes their runs once they are)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.create_pool()
        if worker:
            self.start_worker()
        chosen = [arg for name in names for arg in ("--name", name)] or ["--all"]
        try:
            self._prefect("--no-prompt", "deploy", *chosen)
        except BaseException:
            self.stop_worker()  # a session of its own: it would outlive the caller, polling a server that is gone
            raise

    def create_pool(self) -> None:
        """The pool as `prefect work-pool create kaoping --type process --base-job-template
        kaoping/data/prefect/kaoping-work-pool.json --overwrite` makes it (the command production runs), through
        Prefect's client in this process: one interpreter importing Prefect fewer than the command."""
        import json

        import prefect.settings as ps
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import WorkPoolCreate

        updates = {ps.PREFECT_API_URL: self.api_url, ps.PREFECT_API_AUTH_STRING: self.env.get("PREFECT_API_AUTH_STRING")}
        pool = WorkPoolCreate(name=POOL, type="process", base_job_template=json.loads(WORK_POOL_TEMPLATE.read_text()))
        with ps.temporary_settings(updates=updates), get_client(sync_client=True) as client:
            client.create_work_pool(pool, overwrite=True)

    def start_worker(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process"],
                                       cwd=DEPLOYMENT_HOME, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker.kill()
            self.worker = None

def wait_for_state(flow_run_id, states: tuple[str, ...], *, timeout: float = 120, poll: float = 0.5):
    """Poll a flow run until its state type is one of ``states``; returns the run."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(flow_run_id)
            if run.state is not None and run.state.type.value in states:
                return run
            if run.state is not None and run.state.type.value in TERMINAL:
                raise RuntimeError(f"flow run {flow_run_id} ended {run.state.type.value} ({run.state.message}), "
                                   f"not {states}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"flow run {flow_run_id} still {run.state.type.value if run.state else None} "
                                   f"after {timeout:.0f} s (wanted {states})")
            time.sleep(poll)

def _current_auth_string() -> str | None:
    from prefect.settings import PREFECT_API_AUTH_STRING

    value = PREFECT_API_AUTH_STRING.value()
    return value.get_secret_value() if hasattr(value, "get_secret_value") else value


@contextmanager
def ephemeral_server(home: Path, *, server_log_level: str = "WARNING", auth_string: str | None = None) -> Iterator[str]:
    """Prefect's own ephemeral server with its database under ``home``; yields the API URL.
    On SQLite the server now and then retries a write that met a lock (and logs it as an
    error with a traceback): ``server_log_level="CRITICAL"`` keeps that out of a demo's console.
    ``auth_string``: the server requires it (and this process's clients send it)."""
    import prefect.settings
    from prefect.server.api.server import SubprocessASGIServer

    home.mkdir(parents=True, exist_ok=True)
    database = f"sqlite+aiosqlite:///{home / 'prefect.db'}"
    auth = {prefect.settings.PREFECT_SERVER_API_AUTH_STRING: auth_string,
            prefect.settings.PREFECT_API_AUTH_STRING: auth_string} if auth_string else {}
    with prefect.settings.temporary_settings(updates={prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL: database,
                                                      prefect.settings.PREFECT_HOME: home,
                                                      prefect.settings.PREFECT_SERVER_ANALYTICS_ENABLED: False,
                                                      prefect.settings.PREFECT_LOGGING_SERVER_LEVEL: server_log_level,
                                                      **auth}):
        # A port of its own: Prefect keeps one server object per port, and the default one
        # may belong to someone else (prefect_test_harness registers itself there).
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = SubprocessASGIServer(port=port)
        server.start(timeout=120)
        try:
            with prefect.settings.temporary_settings(updates={prefect.settings.PREFECT_API_URL: server.api_url}):
                try:
                    yield server.api_url
                finally:
                    _drain_workers()
        finally:
            server.stop()

def _drain_workers() -> None:
    """Deliver this process's pending logs and events while the server still listens (else
    Prefect's background workers would keep retrying a server that is gone)."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        try:
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:
            pass  # never started
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    run_coro_as_sync(drain())

class ServerProcess:
    """``prefect server start`` in a subprocess, with the UI, its SQLite database under ``home``
    or ``database_url`` (``postgresql+asyncpg://…``) (for `make demo-ui` at http://127.0.0.1:4200
    and the browser test on a free port), closed with ``auth_string`` as production is. On a busy machine SQLite makes the server answer 503 now
    and then (a write waited for a lock); Prefect's client retries those, the UI does not — so the
    statement timeouts are longer than Prefect's defaults.

    ``start()`` waits until the API answers and the UI's page is served; ``stop()`` ends the
    server (and the services it started) by its process group."""

    def __init__(self, home: Path, *, port: int = 4200, host: str = "127.0.0.1", log_level: str = "WARNING",
                 database_url: str | None = None, auth_string: str | None = None):
        self.home, self.port, self.host = Path(home), port, host
        self.url = f"http://{host}:{port}"
        self.api_url = f"{self.url}/api"
        self.log = self.home / "server.log"
        self.process: subprocess.Popen | None = None
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url or f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
            "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
            "PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT": "30",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
            # The UI the office uses, pinned (README, “Prefect 界面”): the classic one at / — the one every
            # link kaoping prints opens, whose buttons (Run → Custom run, Resume, Submit) its texts name.
            **UI_PINNED,
            "PREFECT_SERVER_UI_STATIC_DIRECTORY": str(self.home / "ui"),
            "PREFECT_LOGGING_SERVER_LEVEL": log_level,
            "PREFECT_API_URL": self.api_url,
        }
        self.auth_string = auth_string
        if auth_string:  # the API (and so the UI, which asks for it on its login page) requires it
            self.env["PREFECT_SERVER_API_AUTH_STRING"] = auth_string
            self.env["PREFECT_API_AUTH_STRING"] = auth_string

    def start(self, timeout: float = 120) -> "ServerProcess":
        return self.launch().wait_ready(timeout)

    def launch(self) -> "ServerProcess":
        """Start the process and return at once (``wait_ready`` before using it)."""
        with socket.socket() as probe:
            if probe.connect_ex((self.host, self.port)) == 0:
                raise RuntimeError(f"端口 {self.port} 已被占用：请先停止占用它的程序（例如另一个 Prefect 服务器）。"
                                   f" Port {self.port} is in use.")
        self.home.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", self.host, "--port", str(self.port),
             "--log-level", "WARNING"],
            cwd=self.home, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 120) -> "ServerProcess":
        """Until the API answers and the UI's page is served."""
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Prefect 服务器未能启动（日志：{self.log}）")
            time.sleep(0.5)
        with urllib.request.urlopen(f"{self.url}/", timeout=10) as response:
            page = response.read().decode("utf-8", "replace")
        if "<div id=\"app\"" not in page and "id=app" not in page:
            self.stop()
            raise RuntimeError(f"Prefect 服务器没有提供界面（{self.url}/ 不是界面页面）")
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        import signal

        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
