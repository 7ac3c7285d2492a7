"""`make serve` (``kaoping serve``): the production topology on one machine, for trying a set-up and
for CI's browser test — a Prefect server on PostgreSQL closed by its credential
(``PREFECT_SERVER_API_AUTH_STRING``), the ``kaoping`` work pool with this checkout's deployments,
two process workers on it, kaoping's own database on PostgreSQL, and (unless ``KAOPING_SMTP_HOST``
is set) a loopback mail sink saving every message as .eml.

Both databases are created on the PostgreSQL server given (default: the local one,
``postgres@127.0.0.1:5432``) if they do not exist; kaoping's is initialised (``kaoping init``, safe to
repeat). A fresh credential is made for each start (or the one in ``PREFECT_SERVER_API_AUTH_STRING``
is used), written to ``HOME/prefect-auth`` (mode 600) and printed with how to log in. When everything
is up, ``--ready-file`` gets a JSON description (URLs, the credential, the mail folder, the workers'
logs) for automation. Ctrl-C (or SIGTERM) stops the workers, the server and the mail sink.

kaoping's settings come from the environment (or ``.env``) as for any command; only the database,
the var folder, Prefect's addresses and — without ``KAOPING_SMTP_HOST`` — the SMTP server are set here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from kaoping.adapters.prefect_server import DEPLOYMENT_HOME, POOL, LocalPrefect, ServerProcess

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def ensure_database(url: str) -> None:
    """Create the database ``url`` names on its server if it does not exist (the server must run)."""
    import psycopg

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{parsed.database}"')


def asyncpg_url(url: str) -> str:
    """Prefect's server speaks to PostgreSQL through asyncpg."""
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def _new_credential() -> str:
    import secrets

    return f"kaoping:{secrets.token_urlsafe(32)}"


def _start_workers(local: LocalPrefect, count: int, home: Path) -> list[subprocess.Popen]:
    workers = []
    for number in range(1, count + 1):
        log = (home / f"worker-{number}.log").open("ab")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--type", "process",
             "--name", f"kaoping-serve-{number}"],
            cwd=DEPLOYMENT_HOME, env=local.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return workers


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_workers(api_url: str, auth: str, count: int, timeout: float = 180) -> None:
    import httpx

    user, _, password = auth.partition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.post(f"{api_url}/work_pools/{POOL}/workers/filter", json={}, auth=(user, password), timeout=10)
        if response.status_code == 200 and len([w for w in response.json() if w.get("status") == "ONLINE"]) >= count:
            return
        time.sleep(1)
    raise RuntimeError(f"{count} 个 worker 未能在 {timeout:.0f} 秒内上线：请查看 worker 的日志")


def serve(console, *, home: Path, port: int, workers: int, database_url: str, prefect_database_url: str,
          ready_file: Path | None = None) -> None:
    from kaoping.notifications.mail.sink import MailSink
    from kaoping.services.reference.setup import initialize
    from kaoping.settings import Settings

    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]kaoping serve[/bold]：Prefect 服务器（PostgreSQL，需登录）、{workers} 个进程 worker、kaoping 数据库（PostgreSQL）")
    for url in (database_url, prefect_database_url):
        ensure_database(url)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    auth = env.get("PREFECT_SERVER_API_AUTH_STRING") or env.get("PREFECT_API_AUTH_STRING") or _new_credential()
    auth_file = home / "prefect-auth"
    auth_file.touch(mode=0o600, exist_ok=True)
    os.chmod(auth_file, 0o600)
    auth_file.write_text(auth + "\n", encoding="utf-8")
    base = {**env, "KAOPING_DATABASE_URL": database_url, "KAOPING_VAR_DIR": str(home / "var")}
    sink = None
    if not base.get("KAOPING_SMTP_HOST"):
        sink = MailSink(home / "mail").__enter__()
        base.update(KAOPING_SMTP_HOST="127.0.0.1", KAOPING_SMTP_PORT=str(sink.port), KAOPING_SMTP_SECURITY="none")
    settings = Settings(database_url=database_url, var_dir=home / "var")
    for line in initialize(settings):
        console.print(f"  {line}")
    server = ServerProcess(home / "prefect", port=port, database_url=asyncpg_url(prefect_database_url))
    server.env.update(PREFECT_SERVER_API_AUTH_STRING=auth, PREFECT_API_AUTH_STRING=auth)
    processes: list[subprocess.Popen] = []

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if SIGINT came ignored
    try:
        server.start()
        local = LocalPrefect(server.api_url, home / "prefect-client", {**base, "PREFECT_API_AUTH_STRING": auth})
        local.deploy()
        processes = _start_workers(local, workers, home)
        _wait_for_workers(server.api_url, auth, workers)
        described = {"ui_url": server.url, "api_url": server.api_url, "auth_string": auth, "auth_file": str(auth_file),
                     "database_url": make_url(database_url).render_as_string(hide_password=True),
                     "prefect_database_url": make_url(prefect_database_url).render_as_string(hide_password=True),
                     "var_dir": str(home / "var"), "mail_dir": str(home / "mail") if sink else "",
                     "workers": [str(home / f"worker-{n}.log") for n in range(1, workers + 1)], "server_log": str(server.log)}
        _announce(console, described, workers)
        if ready_file is not None:
            ready_file.parent.mkdir(parents=True, exist_ok=True)
            ready_file.write_text(json.dumps(described, ensure_ascii=False, indent=1), encoding="utf-8")
            os.chmod(ready_file, 0o600)
        while all(p.poll() is None for p in processes) and server.process is not None and server.process.poll() is None:
            time.sleep(1)
        console.print("[red]有进程意外退出[/red]：请查看日志 " + "、".join(described["workers"] + [described["server_log"]]))
    except KeyboardInterrupt:
        console.print("\n正在停止 worker、Prefect 服务器和邮件服务……")
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        _stop(processes)
        server.stop()
        if sink is not None:
            sink.__exit__(None, None, None)
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
        console.print("已停止。")


def _announce(console, described: dict, workers: int) -> None:
    console.print(f"\n[bold]已就绪[/bold]：界面 {described['ui_url']}（登录：在 Login 页面输入整段凭据，含冒号）")
    console.print(f"  凭据：{described['auth_string']}（也保存在 {described['auth_file']}，仅本用户可读）")
    console.print(f"  {workers} 个 worker 在线（工作池 {POOL}）；kaoping 数据库 {described['database_url']}")
    if described["mail_dir"]:
        console.print(f"  邮件保存在 {described['mail_dir']}/（本地邮件服务）")
    console.print("  检查这套部署：另开终端，设置以下环境变量后运行 kaoping doctor")
    console.print(f"    export PREFECT_API_URL={described['api_url']} PREFECT_API_AUTH_STRING='<凭据>' "
                  f"KAOPING_DATABASE_URL='{described['database_url']}' KAOPING_VAR_DIR={described['var_dir']}")
    console.print("  按 Ctrl-C 结束。")
