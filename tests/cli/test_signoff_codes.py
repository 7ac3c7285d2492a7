"""`kaoping signoff request|give` and `kaoping status`: sign-offs proven by a one-time code emailed only to the
signer, refused out of turn, with a wrong, used or expired code; the cycle status report. (Asking and answering
as the flow does: tests/services/signoff/; reminders: tests/services/signoff/test_signoff_reminders.py.)"""

from __future__ import annotations

from datetime import timedelta

from kaoping.models import AuditEntry, Cycle, CycleStatus, SignoffRequest
from kaoping.models.types import utcnow
from sqlmodel import select

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.signoff.signatures import give_signoff
from tests.factories import (
    accept_default_points,
    audit_chain_ok,
    emailed_code,
    open_cycle,
    pass_objection_window,
    request_signoff,
    scored_cycle,
)

#: What these commands leave in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_codes_expire_and_lock_after_five_wrong_tries",
                 "test_status_counts_returns_and_late_units",
                 "test_the_verifier_may_confirm_self_scored_items_with_the_signature",
                 "test_wrong_code_then_right_code_then_rejection_then_approval"}


def status_of(settings) -> str:
    with db.session_scope(settings) as session:
        return session.exec(select(Cycle)).one().status


def test_wrong_code_then_right_code_then_rejection_then_approval(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path)
    assert cli("signoff", "request", "--cycle", "2022H1", "--stage", "approval").exit_code != 0  # not verified yet
    request_signoff(settings, "verification")
    code = emailed_code(settings, "verification")
    wrong = cli("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code", "000000" if code != "000000" else "111111",
                "--approve")
    assert wrong.exit_code != 0 and "验证码不正确" in wrong.output and "还可再试 4 次" in wrong.output
    assert status_of(settings) == CycleStatus.open
    right = cli("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code", code, "--approve")
    assert right.exit_code == 0 and "专班负责人已完成专班核实签字" in right.output
    assert status_of(settings) == CycleStatus.verified
    # The code is used: it cannot sign twice.
    again = cli("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code", code, "--approve")
    assert again.exit_code != 0 and "没有待签" in again.output
    # The approver rejects with comments: back to verification (after the objection window, issue 17).
    refused = cli("signoff", "request", "--cycle", "2022H1", "--stage", "approval")
    assert refused.exit_code != 0 and "征求意见稿" in refused.output
    pass_objection_window(settings)
    request_signoff(settings, "approval")
    approval_code = emailed_code(settings, "approval")
    no_comment = cli("signoff", "give", "--cycle", "2022H1", "--stage", "approval", "--code", approval_code, "--reject")
    assert no_comment.exit_code != 0 and "须写明意见" in no_comment.output
    # The right code came with an answer that could not be taken: it is spent (issue 24); a new one is asked for.
    assert "已作废" in no_comment.output and "kaoping signoff request" in no_comment.output
    request_signoff(settings, "approval")
    approval_code = emailed_code(settings, "approval")
    rejected = cli("signoff", "give", "--cycle", "2022H1", "--stage", "approval", "--code", approval_code, "--reject",
                   "--comment", "市卫健委得分请再核实")
    assert rejected.exit_code == 0 and "周期回到核实环节" in rejected.output
    assert status_of(settings) == CycleStatus.open
    with db.session_scope(settings) as session:
        actions = [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.cycle_code == "2022H1")
                                                  .order_by(AuditEntry.seq))]
        decided = session.exec(select(AuditEntry).where(AuditEntry.action == "signoff.reject.approval")).one()
    assert "signoff.wrong_code.verification" in actions and "cycle.rejected" in actions
    assert "fenguan@baotou.example" in decided.actor and decided.reason == "市卫健委得分请再核实"
    status = cli("status", "--cycle", "2022H1").output
    assert "分管领导审定（分管领导）已退回" in status and "市卫健委得分请再核实" in status
    assert audit_chain_ok(settings)


def test_codes_expire_and_lock_after_five_wrong_tries(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path)
    request_signoff(settings, "verification")
    code = emailed_code(settings, "verification")
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        late = give_signoff(session, settings, cycle, "verification", code=code, approve=True, actor="t",
                            now=utcnow() + timedelta(hours=settings.signoff_code_hours + 1))
    assert not late.ok and "已过期" in late.message
    wrong = "123456" if code != "123456" else "654321"
    for _ in range(5):
        result = cli("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code", wrong, "--approve")
    assert "已作废" in result.output
    with db.session_scope(settings) as session:
        assert session.exec(select(SignoffRequest)).one().status == "locked"
    assert cli("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code", code, "--approve").exit_code != 0


def test_status_counts_returns_and_late_units(initialized, settings, tmp_path):
    cli = initialized
    open_cycle(settings)
    assert cli("forms", "send", "--cycle", "2022H1", "--kind", "self_assessment", "--deadline", "2022-07-08").exit_code == 0
    status = cli("status", "--cycle", "2022H1").output
    assert "自评表：应收 36，已收 0" in status and "逾期未交" in status and "发件箱：待发送 36" in status


def test_the_verifier_may_confirm_self_scored_items_with_the_signature(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path, verify=False)
    accept_default_points(settings)
    assert "自评" in cli("check", "--cycle", "2022H1").output  # unconfirmed self-scored items block the results
    request_signoff(settings, "verification")  # the signer may confirm them
    code = emailed_code(settings, "verification")
    plain = cli("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code", code, "--approve")
    assert plain.exit_code != 0 and "自评项未核实" in plain.output and status_of(settings) == CycleStatus.open
    request_signoff(settings, "verification")  # that code was spent (issue 24): a new one
    code = emailed_code(settings, "verification")
    signed = cli("signoff", "give", "--cycle", "2022H1", "--stage", "verification", "--code", code, "--approve",
                 "--confirm-self-scored")
    assert signed.exit_code == 0, signed.output
    assert status_of(settings) == CycleStatus.verified
    with db.session_scope(settings) as session:
        confirmations = session.exec(select(AuditEntry).where(AuditEntry.action.like("verify.confirm%"))).all()
    assert confirmations and all("zhuanban-fzr@baotou.example" in e.actor for e in confirmations)
