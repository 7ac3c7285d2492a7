"""The half-year cycle end to end, as production runs it: the deployments of prefect.yaml
registered with `prefect deploy --all` on a real Prefect server, a process worker running
them in subprocesses, a real SMTP server on loopback, simulated people returning the Word
forms through the inbox, sign-offs given by resuming the suspended run with the emailed
code. Only the clock is faked (the flows' ``today`` / ``received_at`` parameters)."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from kaoping.models import (
    AuditEntry,
    CycleStatus,
    FormKind,
    IssuedForm,
    MessageStatus,
    OutboxMessage,
    SignoffRequest,
)
from sqlmodel import func, select

from kaoping import db
from kaoping.adapters.prefect_server import TERMINAL, LocalPrefect, wait_for_state
from kaoping.notifications.delivery import UNRECORDED
from kaoping.demo.people import People, drop_in_inbox, issued_forms, signoff_code
from kaoping.services.cycles.cycle import get_cycle
from kaoping.settings import get_settings
from tests.smtp_server import SmtpServer

DEPLOYMENT = "半年考评/半年考评"
TZ = ZoneInfo("Asia/Shanghai")
START = {"start": {"year": 2022, "half": "上半年", "self_assessment_deadline": "2022-07-08", "visit_start": "2022-06-20",
                   "accept_default_responsibilities": "测试：沿用默认承担规则", "visit_end": "2022-07-01",
                   "visit_early_reason": "测试：调研组七月另有任务，提前调研", "today": "2022-06-20"}}

pytestmark = pytest.mark.e2e
# Each scenario runs on one backend (a minute each): the whole cycle and the crash on
# PostgreSQL, production's database; `make demo`'s test runs the whole cycle on SQLite.
ON_POSTGRESQL = pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                                        indirect=True)
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def deployed(prefect_server, tmp_path_factory):
    """`prefect deploy --all` from the repository root, once per session."""
    from prefect.settings import PREFECT_API_URL

    local = LocalPrefect(PREFECT_API_URL.value(), tmp_path_factory.mktemp("prefect-home"), {})
    local.deploy()
    return local


@dataclass
class World:
    settings: object
    smtp: SmtpServer
    worker: LocalPrefect
    inbox: Path
    people: People

    def mails_to(self, address: str) -> list:
        return [r.message for r in self.smtp.received if address in r.rcpt_tos]

    def code_for(self, address: str) -> str:
        return signoff_code(reversed(self.mails_to(address)), address)

    def return_forms(self, kind: FormKind, *, skip: tuple[str, ...] = (), only: tuple[str, ...] = (),
                     sloppy: bool = False) -> int:
        with db.session_scope(self.settings) as session:
            forms = issued_forms(session, get_cycle(session, "2022H1"), kind, self.settings)
        count = 0
        for form, name, sender in forms:
            if name in skip or (only and name not in only):
                continue
            data = self.people.fill(kind, Path(form.path).read_bytes(), sloppy=sloppy)
            drop_in_inbox(self.inbox, f"{form.form_no}-{name}{'-第一次' if sloppy else ''}.docx", data, sender)
            count += 1
        return count

    def intake(self, at: str) -> list[dict]:
        from kaoping.flows.daily import intake

        return intake(received_at=datetime.fromisoformat(at).replace(tzinfo=TZ))  # KAOPING_INBOX_DIR is self.inbox


@pytest.fixture
def world(request, initialized, settings, monkeypatch, deployed, tmp_path):
    smtp = SmtpServer().start()
    inbox = tmp_path / "inbox"
    # A minute's lease on a sender's claimed messages and its slot of kaoping-smtp (the default is 15 minutes), or
    # what the test's ``smtp_claim_seconds`` mark says: a killed worker's are taken over within the test.
    claim = request.node.get_closest_marker("smtp_claim_seconds")
    env = {**initialized.env, "KAOPING_SMTP_HOST": "127.0.0.1", "KAOPING_SMTP_PORT": str(smtp.port),
           "KAOPING_SMTP_RETRY_INITIAL": "0.01", "KAOPING_INBOX_DIR": str(inbox),
           "KAOPING_SMTP_CLAIM_SECONDS": str(claim.args[0] if claim else 60)}
    for key, value in env.items():  # the in-process flows (intake, reminders) read the same settings
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    from tests.factories import import_teams

    import_teams(settings)  # kaoping visits teams import kaoping/data/demo/teams.yaml
    free_smtp_slots()  # a slot an earlier test's stopped worker held (the harness frees no expired lease)
    worker = LocalPrefect(deployed.api_url, deployed.home, env)
    worker.start_worker()
    yield World(settings, smtp, worker, inbox, People(2022))
    worker.stop_worker()
    _cancel_unfinished_runs()
    smtp.stop()
    get_settings.cache_clear()


def free_smtp_slots() -> None:
    """What Prefect's repossessor service does once a dead holder's lease on a slot of ``kaoping-smtp`` has run
    out: free it. `prefect server start` runs that service; the test harness's ephemeral server does not."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.update_global_concurrency_limit("kaoping-smtp", GlobalConcurrencyLimitUpdate(active_slots=0))
        except ObjectNotFound:  # no sender has run on this server yet
            pass


def _cancel_unfinished_runs() -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelled

    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs():
            if run.state is not None and run.state.type.value not in TERMINAL:
                client.set_flow_run_state(run.id, Cancelled(), force=True)


def cycle_runs() -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])))


def kill_tree(pid: int) -> None:
    """SIGKILL a process and everything it started (the worker and its flow-run subprocess)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo, tree = [pid], []
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start(**parameters):
    from prefect.deployments import run_deployment

    return run_deployment(DEPLOYMENT, parameters=parameters, timeout=0)


def resume(run_id, **answer):
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(run_id, run_input=answer)


def flow_run(run_id):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def dialog_description(run_id) -> str:
    """What the Resume dialog shows above the form (the description saved with the question)."""
    import time

    from prefect.input import read_flow_run_input

    keyset = flow_run(run_id).state.state_details.run_input_keyset
    for _ in range(100):  # the run saves the form just after it enters the paused state
        description = read_flow_run_input(keyset["description"], flow_run_id=run_id)
        if description:
            return description
        time.sleep(0.1)
    raise AssertionError("no description saved with the question")


def newest_run_id(known: set) -> object:
    fresh = [r for r in cycle_runs() if r.id not in known]
    assert len(fresh) == 1, f"expected one new cycle run, got {len(fresh)}"
    return fresh[0].id


def signoff_rows(settings, stage: str) -> list[SignoffRequest]:
    with db.session_scope(settings) as session:
        return list(session.exec(select(SignoffRequest).where(SignoffRequest.stage == stage).order_by(SignoffRequest.id)))


def cycle_status(settings) -> str:
    with db.session_scope(settings) as session:
        return get_cycle(session, "2022H1").status


@ON_POSTGRESQL
def test_a_whole_cycle_from_the_ui_to_the_reports(world, settings):
    """Started once by a person; moved on by intake and reminders; two sign-offs with emailed
    codes (a wrong code, an invalid form and a rejection on the way); reports distributed."""
    from kaoping.flows.daily import reminders
    from prefect.client.orchestration import get_client

    earlier = {r.id for r in cycle_runs()}  # other tests' runs on the session's server
    first = start(**START)
    state = wait_for_state(first.id, TERMINAL).state
    assert state.type.value == "COMPLETED", state.message
    assert flow_run(first.id).name == "2022年上半年考评 · 开启"
    with db.session_scope(settings) as session:
        counts = dict(session.exec(select(IssuedForm.kind, func.count()).group_by(IssuedForm.kind)).all())
    assert counts == {"self_assessment": 36, "third_party": 1, "opinion": 1}  # the visit records follow the returns
    liaisons = Counter(r.rcpt_tos[0] for r in world.smtp.received if "自评表" in r.message["Subject"])
    assert len(liaisons) == 36 and set(liaisons.values()) == {1}

    # The units return their self-assessments; one first sends an incomplete form, one is late.
    late = "青山区"
    world.return_forms(FormKind.self_assessment, only=("东河区",), sloppy=True)
    refused = world.intake("2022-07-05T16:00")
    assert [o["accepted"] for o in refused] == [False] and "完成进度" in refused[0]["reason"]
    assert world.return_forms(FormKind.self_assessment, skip=(late,)) == 35
    assert all(o["accepted"] for o in world.intake("2022-07-06T10:00"))
    assert {r.id for r in cycle_runs()} - earlier == {first.id}  # still waiting for one unit before its deadline: nothing to start

    # After the deadline: the daily reminders escalate and start the cycle flow, which
    # issues the lead scoring sheets without waiting for the late unit any longer.
    known = {r.id for r in cycle_runs()}
    daily = reminders(today="2022-07-11")
    assert late in daily["escalations"] and daily["started"] == ["2022H1"]
    daily_run = newest_run_id(known)
    assert wait_for_state(daily_run, TERMINAL).state.type.value == "COMPLETED"
    assert flow_run(daily_run).name == "2022年上半年考评 · 每日推进"
    with db.session_scope(settings) as session:
        assert session.exec(select(func.count()).select_from(IssuedForm).where(IssuedForm.kind == "lead_scoring")).one() == 26
        assert session.exec(select(func.count()).select_from(IssuedForm).where(IssuedForm.kind == "field_visit")).one() == 36
    world.return_forms(FormKind.self_assessment, only=(late,))
    assert world.intake("2022-07-11T15:00")[0]["late"] is True

    # Lead assessors return their sheets (市工信局 allocates area 三); the team accepts the items still on
    # default points; visiting teams and evaluators return theirs: the flow asks for the verification.
    world.return_forms(FormKind.lead_scoring)
    assert all(o["accepted"] for o in world.intake("2022-07-12T16:00"))
    from tests.factories import accept_default_points

    assert 54 not in accept_default_points(settings)
    for kind in (FormKind.field_visit, FormKind.third_party, FormKind.opinion):
        world.return_forms(kind)
    known = {r.id for r in cycle_runs()}
    assert all(o["accepted"] for o in world.intake("2022-07-13T09:00"))
    run_id = newest_run_id(known)
    wait_for_state(run_id, ("PAUSED",))
    assert flow_run(run_id).name == "2022年上半年考评 · 收到交回的表格"
    assert flow_run(run_id).state.name == "等待签字"
    first_ask = dialog_description(run_id)
    assert "签字的含义" in first_ask and "暂定排名" in first_ask and "待核实" in first_ask
    assert "kaoping " not in first_ask and "上次提交未生效" not in first_ask
    [verification] = signoff_rows(settings, "verification")
    assert verification.flow_run_id == str(run_id)
    verifier_code = world.code_for(settings.verifier_email)
    assert not world.mails_to(settings.approver_email)

    # A wrong code: the run asks again (a new question), it does not fail.
    resume(run_id, code="000000" if verifier_code != "000000" else "111111", decision="同意", comments="",
           confirm_self_scored=True)
    wait_for_state(run_id, ("PAUSED",))
    [verification] = signoff_rows(settings, "verification")
    assert verification.answers == 1 and "验证码不正确" in verification.last_message
    # The dialog says so at the top, and so does the run's state.
    assert flow_run(run_id).state.name == "等待签字（上次未生效：验证码不正确）"
    assert dialog_description(run_id).startswith("> **上次提交未生效**：验证码不正确（还可再试 4 次）")
    # An answer that is not one of the choices is refused by the server; the run keeps waiting.
    with pytest.raises(RuntimeError):
        resume(run_id, code=verifier_code, decision="随便", comments="")
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run_id).state.type.value == "PAUSED"
    resume(run_id, code=verifier_code, decision="同意", comments="", confirm_self_scored=True)
    # The objection stage (issue 17): every unit gets its provisional 反馈函; the run ends while the window
    # (3 working days: 07-14, 07-15, 07-18) is open; the daily run after it asks for the approval.
    assert wait_for_state(run_id, TERMINAL).state.type.value == "COMPLETED"
    assert cycle_status(settings) == CycleStatus.verified
    drafts = [r for r in world.smtp.received if "征求意见" in r.message["Subject"]]
    assert len({r.rcpt_tos[0] for r in drafts}) == 36
    assert reminders(today="2022-07-18")["started"] == []  # the window is still open
    known = {r.id for r in cycle_runs()}
    assert reminders(today="2022-07-19")["started"] == ["2022H1"]
    run_id = newest_run_id(known)
    wait_for_state(run_id, ("PAUSED",))

    # The approver rejects with comments: back to verification, a new code to the verifier.
    resume(run_id, code=world.code_for(settings.approver_email), decision="退回修改", comments="请再核实市卫健委的实地调研得分")
    wait_for_state(run_id, ("PAUSED",))
    assert cycle_status(settings) == CycleStatus.open
    assert len(signoff_rows(settings, "verification")) == 2
    second_code = world.code_for(settings.verifier_email)
    # (the decisive switch is required in the schema: an answer through the API gives it, as the UI does)
    resume(run_id, code=second_code, decision="同意", comments="已核实，维持原分", confirm_self_scored=False)
    wait_for_state(run_id, ("PAUSED",))
    resume(run_id, code=world.code_for(settings.approver_email), decision="同意", comments="")
    assert wait_for_state(run_id, TERMINAL).state.type.value == "COMPLETED"

    assert cycle_status(settings) == CycleStatus.closed
    with db.session_scope(settings) as session:
        unsent = session.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status != MessageStatus.sent)).one()
        actions = Counter(session.exec(select(AuditEntry.action).where(AuditEntry.cycle_code == "2022H1")).all())
    assert unsent == 0
    assert actions["signoff.wrong_code.verification"] == 1 and actions["signoff.reject.approval"] == 1
    assert actions["signoff.approve.verification"] == 2 and actions["signoff.approve.approval"] == 1
    assert actions["reports.publish"] == 1 and actions["cycle.closed"] == 1
    reports = [r for r in world.smtp.received if "结果通报" in r.message["Subject"]]
    assert any(set(settings.leadership_emails) <= set(r.rcpt_tos) for r in reports) and len(reports) == 37
    letters = [r for r in reports if "反馈函" in r.message["Subject"]]
    assert len({r.rcpt_tos[0] for r in letters}) == 36  # every unit its own letter, once
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_latest_artifacts()}
    assert {"kaoping-2022h1-jinzhan", "kaoping-2022h1-returns", "kaoping-2022h1-results", "kaoping-2022h1-daihexiao",
            "kaoping-2022h1-objections"} <= keys
    # kaoping status prints the same stages.
    assert world_cli(settings)("audit", "verify").exit_code == 0  # the hash chain holds every step
    result = world_cli(settings)("status", "--cycle", "2022H1")
    assert "[已完成] 印发报告并分发" in result.output


def world_cli(settings):
    from typer.testing import CliRunner

    from tests.conftest import Cli

    return Cli(CliRunner(), {"KAOPING_DATABASE_URL": settings.database_url, "KAOPING_VAR_DIR": str(settings.var_dir),
                             "KAOPING_ENVIRONMENT": "development", "COLUMNS": "200"})


@ON_POSTGRESQL
# The shortest lease kaoping allows (settings: at least 30 s): the test waits it out after the kill. Only this run
# sends meanwhile, so no live sender's claim can run out under it on a busy machine.
@pytest.mark.smtp_claim_seconds(30)
def test_a_run_killed_while_issuing_forms_is_resumed_without_duplicates(world, settings):
    world.smtp.handler.hold_at = 10  # the 10th email stalls on the wire …
    first = start(**START)
    assert world.smtp.handler.held.wait(120)
    kill_tree(world.worker.worker.pid)  # … and the machine dies
    world.worker.worker.wait()
    world.smtp.handler.release.set()
    world.worker.start_worker()
    with db.session_scope(settings) as session:
        held = session.exec(select(OutboxMessage.claimed_by, OutboxMessage.claimed_until).where(
            OutboxMessage.status == MessageStatus.sending)).all()
    # The one on the wire (never confirmed by the server) and the rest of the dead sender's claim: they stay
    # its own until its lease runs out — no other sender touches them before, so none goes out twice.
    assert held and all(by and until is not None for by, until in held), held
    lease_ends = max(until if until.tzinfo else until.replace(tzinfo=UTC) for _, until in held)
    time.sleep(max(0.0, (lease_ends - datetime.now(UTC)).total_seconds()) + 1)
    free_smtp_slots()  # the dead sender's slot of kaoping-smtp: its lease is at least the minute Prefect requires

    second = start(start={"year": 2022, "half": "上半年", "today": "2022-06-20"})  # the team starts it again
    assert wait_for_state(second.id, TERMINAL).state.type.value == "COMPLETED"
    with db.session_scope(settings) as session:
        forms = session.exec(select(IssuedForm.subject, IssuedForm.version).where(IssuedForm.kind == "self_assessment")).all()
        statuses = Counter(session.exec(select(OutboxMessage.status)).all())
    assert len(forms) == 36 and {v for _, v in forms} == {1}
    assert set(statuses) == {MessageStatus.sent}
    per_liaison = Counter(r.rcpt_tos[0] for r in world.smtp.received if "自评表" in r.message["Subject"])
    # Nothing lost; nothing twice but, at most, what the server had taken and the dead sender had not yet recorded
    # (``UNRECORDED``: it records its outcomes a few at a time) and the one on the wire, which the server took after
    # its sender was gone (the held DATA completes on release) and never told it: those are sent again, with the same
    # Message-ID — at least once is what SMTP allows (notifications/delivery.py).
    twice = [to for to, count in per_liaison.items() if count == 2]
    assert len(per_liaison) == 36 and max(per_liaison.values()) <= 2 and len(twice) <= UNRECORDED + 1, per_liaison
    same_id = Counter(r.message["Message-ID"] for r in world.smtp.received if r.rcpt_tos[0] in twice
                      and "自评表" in r.message["Subject"])
    assert set(same_id.values()) <= {2}, same_id  # the same message again, not a second one
    assert first.id != second.id


@ON_SQLITE
def test_an_approver_who_never_answers_gets_reminders_and_nothing_fails(world, settings, initialized, tmp_path):
    """A cycle whose scores were imported by operators (not through the forms) is started from the UI at the
    approval: the run waits, the daily reminders remind the approver, the run stays paused."""
    from kaoping.flows.daily import reminders

    from tests.factories import scored_cycle

    scored_cycle(settings, tmp_path, "2022H1")
    assert initialized("signoff", "request", "--cycle", "2022H1", "--stage", "verification").exit_code == 0
    from kaoping.notifications.delivery import send_pending

    send_pending(get_settings())
    code = world.code_for(settings.verifier_email)
    assert initialized("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code", code,
                       "--approve").exit_code == 0
    assert cycle_status(settings) == CycleStatus.verified
    from datetime import date

    from tests.factories import open_objection_window

    open_objection_window(settings, today=date(2022, 7, 8))  # issue 17: the window closed on 07-13, no objection
    run = start(start={"year": 2022, "half": "上半年", "today": "2022-07-14"})
    wait_for_state(run.id, ("PAUSED",))
    before = len(world.mails_to(settings.approver_email))
    for day in ("2022-07-15", "2022-07-16", "2022-07-18"):  # Friday, Saturday, Monday
        result = reminders(today=day)
        assert result["started"] == []  # the paused run is the one waiting: no second run
    reminded = [m for m in world.mails_to(settings.approver_email)[before:] if "待签字" in m["Subject"]]
    assert len(reminded) == 2  # working days only
    assert "Resume" in reminded[0].get_body(("plain",)).get_content()
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.read_flow_run(run.id).state.type.value == "PAUSED"
    assert cycle_status(settings) == CycleStatus.verified
    # In the end an operator signs for the approver from the CLI with the emailed code: the
    # waiting run goes on by itself and publishes.
    given = initialized("signoff", "give", "--cycle", "2022H1", "--stage", "approval", "--code",
                        world.code_for(settings.approver_email), "--approve")
    assert given.exit_code == 0 and "已继续" in given.output, given.output
    assert wait_for_state(run.id, TERMINAL).state.type.value == "COMPLETED"
    assert cycle_status(settings) == CycleStatus.closed
