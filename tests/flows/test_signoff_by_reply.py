"""The waiting run goes on by itself after a sign-off by email reply — under a real Prefect
server, with the real SMTP server on loopback.

A run can only suspend when it belongs to a deployment, so the test registers one on the
server and executes its runs in this process with Prefect's own engine (``run_flow``), as a
worker would (the deployments-and-worker path is the e2e test's). The flow is the cycle's
sign-off stage itself (``verification_and_approval``, the same code ``half_year_cycle`` calls):
reaching it through the whole cycle would issue and collect every form first.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from kaoping.flows.cycle import verification_and_approval
from kaoping.models import CycleStatus, OutboxMessage, SignoffRequest
from prefect import flow
from sqlmodel import select

from kaoping import db
from kaoping.adapters.prefect_runs import release_paused_run
from kaoping.domain.incoming import IncomingMessage
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.signoff.reply import take_reply
from kaoping.services.stages import steps as stages
from tests.factories import import_teams, policy_without_objections, scored_cycle

CODE, DAY = "2022H1", "2022-07-01"


@flow(name="signoff_by_reply_probe", persist_result=True)
def signing(code: str, day: str) -> str:
    return verification_and_approval(code, day, {"next_step": "verification"})["next_step"]


@pytest.fixture
def waiting(flow_env, settings, smtp, tmp_path):
    """A cycle ready for the verification, a deployment of the probe flow, and the SMTP server."""
    # Without the objection stage (issue 17), so the verification leads straight to the approval.
    scored_cycle(settings, tmp_path, policy=policy_without_objections(settings, tmp_path))
    import_teams(settings)  # the field visits are planned from the imported teams
    with db.session_scope(settings) as session:  # the dates (a flow run fixes them on its first pass)
        stages.prepare(session, settings, CODE, stages.PlanChoice(), today=date.fromisoformat(DAY))
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        deployment = client.create_deployment(flow_id=client.create_flow(signing), name="probe",
                                              entrypoint=f"{__file__}:signing")
    return smtp, deployment


def execute(run_id) -> str:
    """Run (or re-run after a resume) the flow run in this process, as a worker does; its final state's name."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import Pause
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    try:
        run_flow(signing, flow_run=run, parameters=run.parameters)
    except Pause:
        pass
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state.name


def start(deployment) -> object:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.create_flow_run_from_deployment(deployment, parameters={"code": CODE, "day": DAY}).id


def code_mailed_to(server, address: str) -> tuple[str, str]:
    """The code and Message-ID of the newest sign-off email that reached ``address``."""
    mails = [r.message for r in server.received if address in r.rcpt_tos and r.message["X-Kaoping-Kind"] == "signoff_request"]
    body = mails[-1].get_body(("plain",)).get_content()
    return re.search(r"验证码：(\d{6})", body).group(1), mails[-1]["Message-ID"]


def answer_by_mail(settings, *, text: str, to: str) -> object:
    message = IncomingMessage(message_id=f"<reply-{to[1:9]}-{len(text)}@mail.baotou.example>",
                              sender=settings.verifier_email, subject="回复：【请审定】", text=text,
                              received_at=datetime.now(UTC), in_reply_to=to)
    with db.session_scope(settings) as session:
        return take_reply(session, settings, message)


def test_a_reply_resumes_the_waiting_run_and_the_stage_moves_on(waiting, settings):
    server, deployment = waiting
    run_id = start(deployment)
    assert execute(run_id) == "等待签字"
    code, request_id = code_mailed_to(server, settings.verifier_email)

    outcome = answer_by_mail(settings, text=f"同意\n{code}", to=request_id)
    assert outcome.accepted and outcome.flow_run_id == str(run_id)
    assert "已继续" in release_paused_run(outcome.flow_run_id, how="已通过邮件回复签字")
    # The run starts again from the top: the verification is signed, so it asks the approver.
    assert execute(run_id) == "等待签字"
    with db.session_scope(settings) as session:
        assert get_cycle(session, CODE).status == CycleStatus.verified
        approval = session.exec(select(SignoffRequest).where(SignoffRequest.stage == "approval")).one()
    assert approval.flow_run_id == str(run_id) and approval.status == "pending"
    assert code_mailed_to(server, settings.approver_email)[0]


def test_a_rejection_by_reply_stops_the_waiting_run_without_a_new_code(waiting, settings):
    server, deployment = waiting
    run_id = start(deployment)
    assert execute(run_id) == "等待签字"
    code, request_id = code_mailed_to(server, settings.verifier_email)

    outcome = answer_by_mail(settings, text=f"退回修改：请再核实市卫健委的实地调研得分\n验证码 {code}", to=request_id)
    assert outcome.accepted and outcome.decision == "reject"
    release_paused_run(outcome.flow_run_id, how="已通过邮件回复签字")
    assert execute(run_id) == "Completed"  # stopped as a rejection in the dialog: no new question
    with db.session_scope(settings) as session:
        asked = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")).all()
        assert get_cycle(session, CODE).status == CycleStatus.open
    assert len(asked) == 1  # no new code to the signer

    # After the team's changes, a new run asks again with a fresh code.
    again = start(deployment)
    assert execute(again) == "等待签字"
    with db.session_scope(settings) as session:
        assert len(session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")).all()) == 2


def test_a_run_left_waiting_after_a_signature_by_reply_goes_on_with_the_daily_step(waiting, settings):
    """The process that recorded the signature stopped before releasing the run (the next fetch sees
    the message as handled): the daily reminders' step lets it go on — and leaves alone a run that
    waits for the next stage, which an empty answer would count as a wrong code."""
    from kaoping.flows.tasks import release_signed_runs

    server, deployment = waiting
    run_id = start(deployment)
    assert execute(run_id) == "等待签字"
    code, request_id = code_mailed_to(server, settings.verifier_email)
    assert answer_by_mail(settings, text=f"同意\n{code}", to=request_id).accepted  # …and no release: a crash

    assert release_signed_runs.fn() == [f"{CODE} 专班核实：Prefect 中等待签字的运行 {run_id} 已继续。"]
    assert execute(run_id) == "等待签字"  # on to the approval, with a code for the approver
    approver_code = code_mailed_to(server, settings.approver_email)[0]
    assert release_signed_runs.fn() == []  # the verification's run now waits for the approval: not touched
    with db.session_scope(settings) as session:
        approval = session.exec(select(SignoffRequest).where(SignoffRequest.stage == "approval")).one()
        assert approval.status == "pending" and approval.answers == 0 and approval.wrong_attempts == 0
    assert approver_code
