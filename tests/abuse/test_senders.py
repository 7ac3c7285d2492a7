"""Issue 14 item 3: who may return a form. A stranger's file is held for the team (kept, no reply
to the stranger) until released (recorded as from the right sender, audited) or rejected; the
operator's CLI without --sender is trusted and says so; an inbox file without a sender is held;
an identical re-send changes nothing (an on-time return stays on time)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from kaoping.models import AuditEntry, FormKind, ReceivedFile, Submission
from sqlmodel import select

from kaoping import db
from kaoping.adapters.uploads import read_upload
from kaoping.services.returns.intake import receive
from tests.abuse.helpers import (
    build,
    counts,
    filled_self_assessment,
    last_received,
    mail_to,
)

EVIL = "evil@attacker.example"
TZ = ZoneInfo("Asia/Shanghai")


#: A held file released with its audit entry, and a resend after the deadline, on PostgreSQL too; who gets which reply
#: does not depend on the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_stranger_is_held_without_reply_then_released_with_audit",
                 "test_identical_resend_after_the_deadline_keeps_the_on_time_return"}


def test_stranger_is_held_without_reply_then_released_with_audit(cycle_cli, settings, tmp_path):
    path = filled_self_assessment(settings, tmp_path, "150203")  # 昆都仑区
    before = counts(settings)
    result = cycle_cli("intake", path, "--sender", EVIL)
    assert result.exit_code != 0 and "已暂存" in result.output and "Traceback" not in result.output
    assert counts(settings) == before and mail_to(settings, EVIL) == []
    held = last_received(settings)
    assert held.status == "held" and held.sender == EVIL
    listed = cycle_cli("intake", "held")
    assert listed.exit_code == 0 and str(held.id) in listed.output and EVIL in listed.output
    released = cycle_cli("intake", "release", str(held.id))
    assert released.exit_code == 0 and "已放行并录入" in released.output, released.output
    assert counts(settings)["Submission"] == before["Submission"] + 1 and mail_to(settings, EVIL) == []
    with db.session_scope(settings) as session:
        assert session.get(ReceivedFile, held.id).status == "released"
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "intake.release")).one().actor == "test:专班"
    assert "没有暂存待核实的文件" in cycle_cli("intake", "held").output


def test_held_file_rejected_with_reason(cycle_cli, settings, tmp_path):
    path = filled_self_assessment(settings, tmp_path, "150203")
    cycle_cli("intake", path, "--sender", EVIL)
    held = last_received(settings)
    assert cycle_cli("intake", "reject", str(held.id)).exit_code != 0  # a reason is required
    result = cycle_cli("intake", "reject", str(held.id), "--reason", "冒用邮箱")
    assert result.exit_code == 0 and "已退回" in result.output
    with db.session_scope(settings) as session:
        assert session.get(ReceivedFile, held.id).status == "rejected"
        assert session.exec(select(AuditEntry).where(AuditEntry.action == "intake.reject")).one().reason == "冒用邮箱"
    assert counts(settings)["Submission"] == 0 and mail_to(settings, EVIL) == []
    gone = cycle_cli("intake", "release", str(held.id))
    assert gone.exit_code != 0 and "没有编号为" in gone.output


def test_registered_contact_gets_the_receipt(cycle_cli, settings, tmp_path):
    path = filled_self_assessment(settings, tmp_path, "150203")
    result = cycle_cli("intake", path, "--sender", "Liaison@150203.baotou.example ")
    assert result.exit_code == 0 and "已接收" in result.output
    assert [m.kind for m in mail_to(settings, "Liaison@150203.baotou.example")] == ["return_received"]  # as written


def test_evaluator_returns_the_results_sheet_it_was_sent(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.third_party, tmp_path)
    result = cycle_cli("intake", path, "--sender", settings.third_party_email)
    assert result.exit_code == 0 and "已接收" in result.output


def test_operator_without_sender_is_trusted_and_told_so(cycle_cli, settings, tmp_path):
    result = cycle_cli("intake", filled_self_assessment(settings, tmp_path, "150203"))
    assert result.exit_code == 0 and "按操作员本人录入处理" in result.output and "已接收" in result.output


def test_inbox_file_without_sender_is_held(cycle_cli, settings, tmp_path):
    upload = read_upload(filled_self_assessment(settings, tmp_path, "150203"))
    outcome = receive(settings, upload, sender="", channel="inbox")
    assert outcome.held and not outcome.accepted and "没有发件人信息" in outcome.reason
    assert last_received(settings).status == "held" and counts(settings)["Submission"] == 0


def test_identical_resend_after_the_deadline_keeps_the_on_time_return(cycle_cli, settings, tmp_path):
    filled = filled_self_assessment(settings, tmp_path, "150205", deadline=date(2022, 7, 10))  # 石拐区
    upload = read_upload(filled)
    sender = "liaison@150205.baotou.example"
    first = receive(settings, upload, sender=sender, received_at=datetime(2022, 7, 9, 10, tzinfo=TZ))
    assert first.accepted and not first.result.late
    again = receive(settings, upload, sender=sender, received_at=datetime(2022, 7, 12, 10, tzinfo=TZ))
    assert again.accepted and again.result.details.get("unchanged") and "未作任何改动" in again.result.summary
    with db.session_scope(settings) as session:
        submissions = session.exec(select(Submission)).all()
        assert len(submissions) == 1 and submissions[0].current and not submissions[0].late
        statuses = [r.status for r in session.exec(select(ReceivedFile).order_by(ReceivedFile.id))
                    if r.purpose.startswith("intake")]
    assert statuses == ["accepted", "unchanged"]
