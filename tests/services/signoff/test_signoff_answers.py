"""The sign-off as the cycle flow drives it, without Prefect: where a stage stands
(``signoff_state``), asking the signer (``ask_signer``) and each answer typed into the resume
form (``record_answer``), counted so that the next question gets a new key."""

from __future__ import annotations

from datetime import timedelta

from kaoping.models import AuditEntry, CycleStatus, OutboxMessage, SignoffRequest
from kaoping.models.types import utcnow
from sqlmodel import select

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.signoff.signatures import (
    SignoffAnswer,
    ask_signer,
    record_answer,
    signoff_state,
)
from tests.factories import accept_default_points, open_cycle, pass_objection_window, scored_cycle

CODE = "2022H1"
RUN = "6a1f0c2e-0000-4000-8000-000000000001"


#: Counting answers, a code's expiry and a rejection's changes are checked on PostgreSQL too; what blocks a stage and
#: what the signer may confirm do not depend on the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_each_answer_is_counted_and_only_the_right_code_signs",
                 "test_an_expired_code_is_not_usable_and_is_refused",
                 "test_a_rejection_needs_comments_and_sends_the_cycle_back"}


def ask(settings, stage: str, *, link: str = "") -> str:
    """Ask the signer as the flow does; returns the code emailed to them."""
    with db.session_scope(settings) as session:
        request = ask_signer(session, settings, cycle_code=CODE, stage=stage, flow_run_id=RUN, link=link,
                             actor="flow:half_year_cycle")
        signer = request.signer_email
    with db.session_scope(settings) as session:
        message = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")
                               .order_by(OutboxMessage.id.desc())).first()
    assert message.to == [signer]
    from tests.factories import emailed_code

    return emailed_code(settings)


def state(settings, stage: str, **kwargs):
    with db.session_scope(settings) as session:
        return signoff_state(session, cycle_code=CODE, stage=stage, **kwargs)


def answer(settings, stage: str, given: SignoffAnswer | None, problem: str = "", **kwargs):
    with db.session_scope(settings) as session:
        return record_answer(session, settings, cycle_code=CODE, stage=stage, answer=given, problem=problem,
                             actor=f"Prefect 运行 {RUN}", **kwargs)


def latest(settings, stage: str) -> SignoffRequest:
    with db.session_scope(settings) as session:
        return session.exec(select(SignoffRequest).where(SignoffRequest.stage == stage)
                            .order_by(SignoffRequest.id.desc())).first()


def status_of(settings) -> str:
    with db.session_scope(settings) as session:
        return get_cycle(session, CODE).status


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_each_answer_is_counted_and_only_the_right_code_signs(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    before = state(settings, "verification")
    assert (before.done, before.usable, before.answers, before.blocking) == (False, False, 0, [])
    code = ask(settings, "verification", link="http://prefect.example/runs/flow-run/1")
    asked = latest(settings, "verification")
    assert asked.flow_run_id == RUN and asked.status == "pending"
    assert state(settings, "verification").usable and state(settings, "verification").answers == 0

    # A wrong code: refused, counted (the next question is signoff-verification-1), told why.
    outcome = answer(settings, "verification", SignoffAnswer(code=wrong(code), approve=True))
    assert not outcome.ok and "验证码不正确" in outcome.message and "还可再试 4 次" in outcome.message
    request = latest(settings, "verification")
    assert (request.answers, request.wrong_attempts, request.last_message) == (1, 1, outcome.message)
    # An empty answer (no code): refused without using up a try.
    outcome = answer(settings, "verification", SignoffAnswer(code="", approve=True))
    assert not outcome.ok and "未填写验证码" in outcome.message
    assert (latest(settings, "verification").answers, latest(settings, "verification").wrong_attempts) == (2, 1)
    # A form the UI could not validate: refused with the reason, counted.
    outcome = answer(settings, "verification", None, "Input should be '同意' or '退回修改'")
    assert not outcome.ok and outcome.message == "提交的内容无效，请重新填写：Input should be '同意' or '退回修改'"
    assert state(settings, "verification").answers == 3
    assert status_of(settings) == CycleStatus.open

    # The right code signs: the stage is done, the last answer has nothing more to say.
    outcome = answer(settings, "verification", SignoffAnswer.from_form(
        {"code": f" {code} ", "decision": "同意", "comments": "", "confirm_self_scored": True}))
    assert outcome.ok and outcome.decision == "approve" and "已完成专班核实签字" in outcome.message
    assert status_of(settings) == CycleStatus.verified
    signed = state(settings, "verification")
    assert (signed.done, signed.usable, signed.answers) == (True, False, 4)
    assert latest(settings, "verification").last_message == "" and latest(settings, "verification").status == "used"
    # The approval is a question of its own, numbered from 0.
    approval = state(settings, "approval")
    assert (approval.done, approval.usable, approval.answers, approval.blocking) == (False, False, 0, [])
    with db.session_scope(settings) as session:
        actions = [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.action.like("signoff.%"))
                                                         .order_by(AuditEntry.seq))]
        via = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.approve.verification")).one()
    assert actions == ["signoff.request.verification", "signoff.wrong_code.verification",
                       "signoff.approve.verification"]
    assert via.after["via"] == f"Prefect 运行 {RUN}"
    # Each of the four answers was confirmed to the signer by email: three refusals (why), one signature.
    with db.session_scope(settings) as session:
        told = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_answer").order_by(OutboxMessage.id)).all()
    assert [m.to for m in told] == [[settings.verifier_email]] * 4
    assert [m.subject[:5] for m in told] == ["【未签字】"] * 3 + ["【已签字】"]
    assert "验证码不正确" in told[0].text_body and "未填写验证码" in told[1].text_body
    assert told[3].subject.endswith("专班核实：同意") and "如这不是您本人的操作" in told[3].text_body


def test_an_expired_code_is_not_usable_and_is_refused(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    code = ask(settings, "verification")
    later = utcnow() + timedelta(hours=settings.signoff_code_hours, minutes=1)
    assert state(settings, "verification").usable
    assert not state(settings, "verification", now=later).usable  # the flow sends a new code before asking
    outcome = answer(settings, "verification", SignoffAnswer(code=code, approve=True), now=later)
    assert not outcome.ok and "已过期" in outcome.message
    assert latest(settings, "verification").answers == 1 and status_of(settings) == CycleStatus.open


def test_a_rejection_needs_comments_and_sends_the_cycle_back(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    assert answer(settings, "verification", SignoffAnswer(code=ask(settings, "verification"), approve=True)).ok
    pass_objection_window(settings)  # the objection stage between the two sign-offs (issue 17)
    code = ask(settings, "approval")

    silent = answer(settings, "approval", SignoffAnswer.from_form({"code": code, "decision": "退回修改", "comments": " "}))
    assert not silent.ok and "须写明意见" in silent.message
    # The right code with an answer that could not be taken is spent (issue 24): the run asks with a new one.
    assert silent.spent and "已作废" in silent.message
    assert status_of(settings) == CycleStatus.verified and not state(settings, "approval").usable
    code = ask(settings, "approval")

    rejected = answer(settings, "approval", SignoffAnswer(code=code, approve=False, comments="请再核实市卫健委得分"))
    assert rejected.ok and rejected.decision == "reject" and "请再核实市卫健委得分" in rejected.message
    assert status_of(settings) == CycleStatus.open
    request = latest(settings, "approval")
    assert (request.status, request.decision, request.comments, request.answers) == ("used", "reject",
                                                                                        "请再核实市卫健委得分", 1)
    assert not state(settings, "approval").done and not state(settings, "approval").usable
    # The approver is told it was sent back (已退回), not signed, and what happens next (issue 26 item 7).
    with db.session_scope(settings) as session:
        told = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_answer")
                            .order_by(OutboxMessage.id.desc())).first()
        assert told.subject.startswith("【已退回】") and told.subject.endswith("：退回修改")
        assert "已签字" not in told.text_body and "退回意见已记录在案" in told.text_body
        assert "已退回专班修改，通报和报告暂不印发" in told.text_body and "意见：请再核实市卫健委得分" in told.text_body
    # Back at the verification: its count goes on from the first request, so the new question's
    # key (signoff-verification-1) is not the one already answered (signoff-verification-0).
    again = state(settings, "verification")
    assert (again.done, again.usable, again.answers) == (False, False, 1)
    ask(settings, "verification")
    assert state(settings, "verification").answers == 1 and state(settings, "verification").usable


def test_what_blocks_the_verification_and_what_the_signer_may_confirm(initialized_db, settings, tmp_path):
    open_cycle(settings, CODE)
    blocked = state(settings, "verification")
    assert not blocked.done and blocked.blocking  # nothing scored yet
    assert state(settings, "approval").blocking == []  # the approval is never blocked: it waits for the verification


def test_self_scored_items_are_left_to_the_signer(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path, verify=False)
    accept_default_points(settings)
    assert state(settings, "verification").blocking == []  # unconfirmed self-scored items do not block the question
    code = ask(settings, "verification")
    plain = answer(settings, "verification", SignoffAnswer(code=code, approve=True))
    assert not plain.ok and "自评项未核实" in plain.message and status_of(settings) == CycleStatus.open
    assert plain.spent and not state(settings, "verification").usable  # the run asks again with a new code
    code = ask(settings, "verification")
    confirmed = answer(settings, "verification", SignoffAnswer(code=code, approve=True, confirm_self_scored=True))
    assert confirmed.ok and status_of(settings) == CycleStatus.verified
    assert latest(settings, "verification").answers == 1
