"""The whole half-year cycle at province scale (issues 7, 29): 600 units (Baotou's 36 plus 564
synthetic ones, 49,210 responsibilities), 20 visiting teams, through the real flows
(half_year_cycle, intake) on a Prefect test server, every email over SMTP to a local
server that saves .eml files. Each stage is timed; the people (filling in 1,200+ Word
forms) are timed apart and excluded, as are the waits. Returned files carry their senders, as
the mailbox gives them (a file with no known sender is held for the team). Sign-offs: the run
cannot suspend outside a deployment, so the signer's answer is given through the same service the
resumed run calls, with the code read from the .eml, and the flow is run again.

``--units 60``: the smoke variant CI runs as a test (tests/e2e/test_province_smoke.py), so the
benchmark cannot silently break again. ``--backend postgresql``: kaoping's database on the local
PostgreSQL (a schema of its own). Target: under 3 minutes at 600 units on 2 cores.

``--prefect-db postgresql``: the Prefect server in a process of its own on a PostgreSQL database, as in
production (the default is the test harness's SQLite server).

``--task-runner dask`` (issue 29; needs ``kaoping[scale]``): the flows' pure work — forms, 反馈函, reading the
returned files — on a ``LocalCluster(n_workers=2, processes=True)`` started once for the run and reached
through ``KAOPING_DASK_ADDRESS`` (so no flow run pays for starting a cluster); every stage is timed as in the
serial run, and the result says how many worker processes did each kind of work. ``--keep DIR``: the run's
folder (database, forms, reports, mails) is kept in DIR (tests/flows/test_dask.py compares two runs)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from pathlib import Path

import yaml

from benchmarks.rules_province import setup_province


def teams_file(path: Path, unit_names: list[str]) -> Path:
    count = 20 if len(unit_names) >= 300 else max(2, len(unit_names) // 30)
    teams = [{"name": f"调研{t + 1}组",
              "members": [{"name": f"成员{t}-{k}", "email": f"m{t}-{k}@province.example", "unit": unit_names[t * 3 + k]}
                          for k in range(3)]} for t in range(count)]
    path.write_text(yaml.safe_dump({"max_per_day": 2, "length": "half", "teams": teams}, allow_unicode=True), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=600)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--task-runner", choices=["serial", "dask"], default="serial")
    parser.add_argument("--prefect-db", choices=["sqlite", "postgresql"], default="sqlite",
                        help="the Prefect server's own database: the test harness's SQLite, or a PostgreSQL database of its "
                             "own on the local server (production's topology; `prefect server start` in a process)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run's folder here (it must not exist)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kaoping-cycle-bench-"))
    if args.keep:
        workdir.rmdir()
        args.keep.mkdir(parents=True)
        workdir = args.keep.resolve()
    from kaoping.notifications.mail.sink import MailSink

    schema = ""
    if args.backend == "postgresql":
        from sqlalchemy import create_engine, text

        from benchmarks.rules_province import PG_URL

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(PG_URL, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    else:
        url = ""
    if args.task_runner == "dask" and importlib.util.find_spec("prefect_dask") is None:
        print("--task-runner dask 需要 kaoping[scale]（pip install -e '.[scale]'）", file=sys.stderr)
        return 2
    try:
        with MailSink(workdir / "mail") as sink:
            os.environ.update({"KAOPING_VAR_DIR": str(workdir / "var"), "KAOPING_DATABASE_URL": url,
                               "KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(sink.port),
                               "KAOPING_INBOX_DIR": str(workdir / "inbox"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                               "PREFECT_LOGGING_LEVEL": "WARNING", "KAOPING_ENVIRONMENT": "development"})
            with prefect_server(workdir, args.prefect_db):
                run(workdir, sink, "PostgreSQL" if schema else "SQLite", args.units, args.task_runner)
    finally:
        if schema:
            from kaoping import db

            db.dispose_engine(url)
            with create_engine(PG_URL, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


@contextmanager
def prefect_server(workdir: Path, database: str):
    """``postgresql``: a Prefect server in a process of its own on a new PostgreSQL database (dropped afterwards),
    which the run's clients reach through PREFECT_API_URL; ``sqlite``: nothing here (``run`` starts the test harness)."""
    if database != "postgresql":
        yield
        return
    import prefect.settings
    from sqlalchemy import create_engine, make_url, text

    from benchmarks.rules_province import PG_URL
    from kaoping.adapters.prefect_server import ServerProcess

    name = f"prefect_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        with ServerProcess(workdir / "prefect", port=port, database_url=url) as server, \
                prefect.settings.temporary_settings(updates={prefect.settings.PREFECT_API_URL: server.api_url}):
            os.environ["KAOPING_BENCH_PREFECT_API"] = os.environ["PREFECT_API_URL"] = server.api_url
            yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(workdir: Path, sink, backend: str, units: int = 600, task_runner: str = "serial") -> None:
    from kaoping.flows.cycle import half_year_cycle as cycle_flow
    from kaoping.flows.daily import intake as intake_flow
    from kaoping.flows.forms import CycleStart
    from kaoping.models import FormKind, Unit
    from prefect.testing.utilities import prefect_test_harness
    from sqlmodel import select

    from kaoping import db
    from kaoping.demo.people import (
        People,
        drop_in_inbox,
        issued_forms,
        mailbox,
        signoff_code,
    )
    from kaoping.services.cycles.cycle import get_cycle
    from kaoping.services.cycles.points import accept_default_points
    from kaoping.services.signoff.signatures import give_signoff
    from kaoping.settings import get_settings

    logging.getLogger("kaoping.calendar").setLevel(logging.ERROR)
    settings = get_settings()
    stages: dict[str, float] = {}
    people: dict[str, float] = {}

    def timed(name: str, into: dict = stages):
        class Timer:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                into[name] = time.perf_counter() - self.t
                print(f"  {name}: {into[name]:.1f} s", flush=True)
        return Timer()

    with timed(f"准备：名录与承担关系（{units} 个单位）", people):
        pairs = setup_province(settings, workdir, units)
    with db.session_scope(settings) as session:
        names = [u.name for u in session.exec(select(Unit).order_by(Unit.code))]
    teams = teams_file(workdir / "teams.yaml", names)
    from kaoping.services.visits.schedule import import_teams

    with db.session_scope(settings) as session:
        import_teams(session, teams.read_bytes(), source_name=teams.name, actor="bench")
    crowd = People(7)
    tz = settings.tz

    @contextmanager
    def workers(runner: str):
        """``dask``: a LocalCluster of 2 worker processes for the whole run, reached as KAOPING_DASK_ADDRESS says.
        Started inside the Prefect test server's context: a cluster started before it, the server's process
        died within minutes (seen on this machine; the runs then failed with "connection refused")."""
        if runner != "dask":
            yield None
            return
        from distributed import LocalCluster

        from kaoping.flows.runner import dask_task_runner
        from kaoping.settings import Settings

        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
            os.environ.update({"KAOPING_TASK_RUNNER": "dask", "KAOPING_DASK_ADDRESS": cluster.scheduler_address})
            get_settings.cache_clear()
            yield dask_task_runner(Settings())

    def returns(kind: FormKind) -> int:
        with db.session_scope(settings) as session:
            forms = issued_forms(session, get_cycle(session, "2022H1"), kind, settings)
        for form, name, sender in forms:
            drop_in_inbox(settings.effective_inbox_dir, f"{form.form_no}.docx",
                          crowd.fill(kind, Path(form.path).read_bytes()), sender)
        return len(forms)

    def collect(at: str) -> int:
        outcomes = intake(received_at=datetime.fromisoformat(at).replace(tzinfo=tz))
        refused = [o for o in outcomes if not o["accepted"]]
        assert not refused, refused[:3]
        return len(outcomes)

    def sign(stage: str, address: str) -> None:
        with db.session_scope(settings) as session:
            outcome = give_signoff(session, settings, get_cycle(session, "2022H1"), stage, code=signoff_code(mailbox(sink.folder), address),
                                   approve=True, confirm_self_scored=True, actor="bench")
        assert outcome.ok, outcome.message

    harness = nullcontext() if os.environ.get("KAOPING_BENCH_PREFECT_API") else prefect_test_harness(server_startup_timeout=120)
    with harness, workers(task_runner) as runner:
        if runner is not None:  # the flows as KAOPING_TASK_RUNNER=dask declares them, on the cluster started for the run
            half_year_cycle = cycle_flow.with_options(task_runner=runner)
            intake = intake_flow.with_options(task_runner=runner)
        else:
            half_year_cycle, intake = cycle_flow, intake_flow
        t0 = time.perf_counter()
        with timed(f"开启周期，下发 {units} 份自评表和委托，排期 {units} 次调研并发邀请，下发调研记录表，发送邮件"):
            half_year_cycle(CycleStart(year=2022, half="上半年", accept_default_responsibilities="基准测试",
                                       self_assessment_deadline=date(2022, 7, 8), visit_start=date(2022, 7, 11),
                                       visit_end=date(2022, 8, 19), today=date(2022, 6, 20)))
        with timed(f"{units} 个单位填写自评表", people):
            returns(FormKind.self_assessment)
        with timed(f"回收流程：识别、校验、录入 {units} 份自评表并回执"):
            collect("2022-07-06T10:00")
        with timed("下发评分表（附各单位自评内容）并发送"):
            half_year_cycle(CycleStart.resume(2022, 1, date(2022, 7, 8)))
        with timed("牵头考核单位、调研组、第三方、民调机构填写", people):
            counts = {k.label: returns(k) for k in (FormKind.lead_scoring, FormKind.field_visit, FormKind.third_party,
                                                     FormKind.opinion)}
        with timed("回收流程：评分表、调研记录、第三方评估和民意调查结果"):
            collect("2022-08-22T09:00")
        with timed("核实签字：提请（验证码邮件）、签字"):
            # The team accepts the items still on default points first: the flow asks for the verification
            # only when nothing blocks it (it would otherwise end, having asked no one).
            with db.session_scope(settings) as session:
                accept_default_points(session, get_cycle(session, "2022H1"), reason="基准测试", actor="bench")
            half_year_cycle(CycleStart.resume(2022, 1, date(2022, 8, 22)))
            sign("verification", settings.verifier_email)
        with timed(f"征求意见稿：{units} 份反馈函（征求意见稿）及异议表并发送，异议期开始"):
            half_year_cycle(CycleStart.resume(2022, 1, date(2022, 8, 22)))
        with timed("异议期截止（无异议）：提请审定（验证码邮件）"):
            half_year_cycle(CycleStart.resume(2022, 1, date(2022, 8, 26)))
        with timed(f"审定签字后：计算、印发通报/报告/{units} 份反馈函/结果表并分发"):
            sign("approval", settings.approver_email)
            half_year_cycle(CycleStart.resume(2022, 1, date(2022, 8, 26)))
        total = time.perf_counter() - t0 - sum(v for k, v in people.items() if not k.startswith("准备"))
    with db.session_scope(settings) as session:
        status = get_cycle(session, "2022H1").status
    assert status == "closed", status
    print(f"Half-year cycle, province case ({backend}, task runner {task_runner}, Prefect server on "
          f"{'PostgreSQL' if os.environ.get('KAOPING_BENCH_PREFECT_API') else 'SQLite'}): {units} units, {pairs:,} responsibilities, "
          f"returns {counts} (target < 180 s at 600 units, excluding waits and the people)")
    print(f"kaoping's stages took {total:.1f} s; {sink.count} emails; simulated people "
          f"{sum(v for k, v in people.items() if not k.startswith('准备')):.1f} s")
    tongbao = next((settings.var_dir / "reports" / "2022H1").glob("*通报.docx"))
    print(f"通报 {tongbao.stat().st_size / 1024:.0f} KB (target < 300 KB at 600 units)")
    from kaoping.flows.runner import WORKERS

    if WORKERS:
        print(f"Dask：{'；'.join(f'{label} 由 {len(pids)} 个工作进程完成' for label, pids in sorted(WORKERS.items()))}")
    prefect_db = "PostgreSQL" if os.environ.get("KAOPING_BENCH_PREFECT_API") else "SQLite"
    print("RESULT " + json.dumps({"backend": backend, "units": units, "task_runner": task_runner, "pid": os.getpid(),
                                  "prefect_db": prefect_db,
                                  "workers": {label: sorted(pids) for label, pids in sorted(WORKERS.items())},
                                  "total_s": round(total, 1), "emails": sink.count,
                                  "tongbao_kb": round(tongbao.stat().st_size / 1024),
                                  "stages_s": {k: round(v, 1) for k, v in stages.items()}}, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
