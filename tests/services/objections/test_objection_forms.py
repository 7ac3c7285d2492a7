"""Issue 17, objections by form and the lead assessor's answer by reply, on a real database (SQLite
and PostgreSQL) and a real SMTP server on loopback: the provisional 反馈函 email carries the unit's
signed objection form (异议表); a filled form returned by email (a reply or not) or dropped in the
inbox folder becomes one objection per row — with the rules of a reply: a stranger's form held (and
released or rejected in one place, ``kaoping objections``, not the form intake's held list), a form
after the window refused with the reason, a blank or wrongly filled form refused with what to fix,
never taken for a self-assessment; the lead assessor's reply to the routing email is recorded as its
opinion, which the team sees when deciding."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import docx
import pytest
from kaoping.models import (
    FormKind,
    Objection,
    ObjectionOpinion,
    ObjectionSource,
    OutboxMessage,
    ReceivedFile,
    Submission,
)
from kaoping.notifications.delivery import send_pending
from kaoping.notifications.mailbox import route_text_reply
from sqlmodel import func, select

from kaoping import db
from kaoping.adapters.uploads import Upload
from kaoping.adapters.word.identity import identity_from_properties
from kaoping.adapters.word.package import read_custom_properties
from kaoping.domain.errors import Conflict, InvalidInput
from kaoping.domain.incoming import Attachment, IncomingMessage
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.objections import by_form as objection_intake
from kaoping.services.objections.summary import objections_markdown, opinion_lines
from kaoping.services.objections.window import office_today
from kaoping.services.returns import intake
from tests.factories import (
    build,
    decide_objection,
    filled_objection_form,
    objection_form,
    open_objection_window,
    scored_cycle,
    sign_off,
)
from tests.smtp_server import mail_settings

LIAISON = "liaison@150204.baotou.example"  # 青山区
STRANGER = "someone@example.org"


#: A filled form by email recorded, routed and answered on PostgreSQL too; the inbox folder's path and the refusals do
#: not depend on the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_a_filled_form_by_email_is_recorded_routed_and_answered_by_the_lead_assessor"}


def _letter(settings, unit_code: str = "150204") -> OutboxMessage:
    with db.session_scope(settings) as session:
        letter = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == f"objection-letter:2022H1:{unit_code}")).one()
        session.expunge(letter)
        return letter


def _mail(settings, data: bytes, *, sender: str = LIAISON, at: datetime | None = None, n: int = 1, reply_to: str = "",
          extra=(), text: str = "异议表见附件。") -> IncomingMessage:
    return IncomingMessage(message_id=f"<form-{n}@example>", sender=sender, subject="回复：初步结果反馈函", text=text,
                           received_at=at or datetime.now(UTC), in_reply_to=reply_to,
                           attachments=(Attachment("青山区异议表.docx", data), *extra))


def _route(settings, message):
    with db.session_scope(settings) as session:
        return route_text_reply(session, settings, message)


def _count(settings, model) -> int:
    with db.session_scope(settings) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def _outbox(settings, kind: str) -> list[OutboxMessage]:
    with db.session_scope(settings) as session:
        found = list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))
        for m in found:
            session.expunge(m)
        return found


def test_a_filled_form_by_email_is_recorded_routed_and_answered_by_the_lead_assessor(initialized_db, tmp_path, smtp):
    settings = mail_settings(initialized_db, smtp.port, smtp_attempts=2)
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())

    # The letter carries the form: the unit and the cycle printed and signed into it.
    letter = _letter(settings)
    assert [a["filename"] for a in letter.attachments] == ["150204-青山区-反馈函（征求意见稿）.docx", "150204-青山区-异议表.docx"]
    blank = objection_form(settings)
    identity, _ = identity_from_properties(read_custom_properties(blank))
    assert (identity.kind, identity.cycle, identity.subject) == ("objection", "2022H1", "150204")
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(blank)).paragraphs)
    assert "提出单位：" in text and "青山区" in text
    assert "2022年上半年" in text and identity.form_no in text

    # 青山区 returns it filled, replying to its letter, with a proof attached.
    data = filled_objection_form(settings, [("５７", "政务数据共享已全部完成，应得满分。", "市大数据局验收报告（附件）"),
                                  ("43", "事项已全部上线，得分偏低。", "")])
    proof = Attachment("验收报告.pdf", b"%PDF-1.4 proof", "application/pdf")
    routed = _route(settings, _mail(settings, data, reply_to=letter.message_id, extra=(proof,)))
    assert routed is not None and "异议表：已登记异议 2 条" in routed.summary, routed
    with db.session_scope(settings) as session:
        made = session.exec(select(Objection).order_by(Objection.id)).all()
        assert [(o.indicator_number, o.source, o.sender) for o in made] == [
            (57, ObjectionSource.form, LIAISON), (43, ObjectionSource.form, LIAISON)]
        assert made[0].disputed == "政务数据共享已全部完成，应得满分。" and made[0].evidence == "市大数据局验收报告（附件）"
        assert made[0].previous_score == Decimal("3.0800")
        names = [a["filename"] for a in made[0].attachments]
        assert names == ["青山区异议表.docx", "验收报告.pdf"] and made[0].attachments[0]["form"]
        assert session.exec(select(func.count()).select_from(Submission)).one() == 0  # never a self-assessment
        kept = session.exec(select(ReceivedFile).where(ReceivedFile.purpose == "objection")).all()
        assert {(r.filename, r.status) for r in kept} >= {("青山区异议表.docx", "accepted"), ("验收报告.pdf", "kept")}
        ids = [o.id for o in made]
    # The same message delivered again records nothing twice.
    assert "此前已登记" in _route(settings, _mail(settings, data, reply_to=letter.message_id, extra=(proof,))).summary
    assert _count(settings, Objection) == 2

    [receipt] = _outbox(settings, "objection_received")
    assert receipt.to == [LIAISON] and identity.form_no in receipt.text_body and "共 2 项" in receipt.text_body
    assert "所附材料 1 份" in receipt.text_body
    routing = _outbox(settings, "objection_routed")
    assert len(routing) >= 2 and "维持原分" in routing[0].text_body and "同意更正为 X 分" in routing[0].text_body
    to_57 = next(m for m in routing if m.idempotency_key.startswith(f"objection-routed:{ids[0]}:"))
    assert "验收报告.pdf" in to_57.text_body and "青山区异议表.docx" not in to_57.text_body

    # The lead assessor answers by reply; a stranger's answer to the same email is kept, not recorded.
    lead = to_57.to[0]
    stranger = IncomingMessage(message_id="<op-0@example>", sender=STRANGER, subject=f"回复：{to_57.subject}",
                               text="同意更正为 4 分", received_at=datetime.now(UTC), in_reply_to=to_57.message_id)
    assert "未作为牵头考核单位意见记录" in _route(settings, stranger).summary
    answer = IncomingMessage(message_id="<op-1@example>", sender=lead.upper(), subject=f"回复：{to_57.subject}",
                             text="同意更正为４分\n经核实，验收报告属实。\n\n-----原始邮件-----\n请核实后直接回复本邮件，维持原分",
                             received_at=datetime.now(UTC), in_reply_to=to_57.message_id)
    assert "已记录（同意更正（4 分））" in _route(settings, answer).summary
    assert "此前已记录" in _route(settings, answer).summary
    with db.session_scope(settings) as session:
        [opinion] = session.exec(select(ObjectionOpinion)).all()
        assert (opinion.objection_id, opinion.stance, opinion.score) == (ids[0], "correct", Decimal("4"))
        assert opinion.text == "同意更正为4分\n经核实，验收报告属实。" and opinion.sender == lead
        cycle = get_cycle(session, "2022H1")
        shown = opinion_lines(session, cycle, ids)
        markdown = objections_markdown(session, cycle, settings.tz)
    assert shown[ids[0]].startswith("市工信局：同意更正（4 分）——同意更正为4分") and ids[1] not in shown
    assert "同意更正（4 分）" in markdown and "尚未回复" in markdown
    decide_objection(settings, ids[0], uphold=True, score="4", reason="经市工信局核实验收报告属实")  # the team decides

    report = send_pending(settings)
    assert not report.failed
    subjects = {(tuple(r.rcpt_tos), r.message["Subject"]) for r in smtp.received}
    assert any(lead in to and "已收到你单位对第" in s for to, s in subjects)
    assert any(LIAISON in to and "【回执】" in s for to, s in subjects)
    assert not any(STRANGER in to for to, _ in subjects)


def test_the_form_through_the_inbox_folder_and_its_refusals(initialized_db, tmp_path):
    settings = initialized_db
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    opened = open_objection_window(settings, today=date(2022, 7, 11))
    within = datetime(2022, 7, 12, 10, tzinfo=settings.tz)

    def receive(data: bytes, sender: str = LIAISON, at: datetime = within, name: str = "异议表.docx"):
        return intake.receive(settings, Upload(name, data), sender=sender, received_at=at, channel="inbox")

    # A blank form: refused with what to do, kept; not a self-assessment either.
    blank = receive(objection_form(settings))
    assert not blank.accepted and not blank.held and "没有填写任何异议" in blank.reason
    # Rows to correct: every one named, nothing recorded.
    wrong = receive(filled_objection_form(settings, [("999", "偏低", ""), ("57", "", "验收报告"), ("第五项", "偏低", "")]))
    assert not wrong.accepted and "3 处需要更正" in wrong.reason
    assert "第 2 行：指标 999 不是青山区在本期承担的指标" in wrong.reason
    assert "第 3 行“异议内容”列未填写" in wrong.reason and "第 4 行“指标序号”列“第五项”不是指标序号" in wrong.reason
    assert _count(settings, Objection) == 0 and _count(settings, Submission) == 0
    refusals = _outbox(settings, "objection_refused")
    assert [m.to for m in refusals] == [[LIAISON], [LIAISON]] and "999" in refusals[1].text_body

    data = filled_objection_form(settings, [("57", "应得满分。", "验收报告")])
    got = receive(data)
    assert got.accepted and got.held_in == "objections" and "登记异议 1 项" in got.result.summary, got
    again = receive(data, name="异议表（再次发送）.docx")
    assert again.accepted and "完全相同" in again.result.summary and _count(settings, Objection) == 1
    told = _outbox(settings, "objection_received")[-1]  # the unit told it was recorded before
    assert told.to == [LIAISON] and "本次未重复登记" in told.text_body

    # A stranger's form: held where objections are released, not among the held forms.
    other = filled_objection_form(settings, [("43", "偏低", "")])
    held = receive(other, sender=STRANGER)
    assert held.held and held.held_in == "objections" and "objections release" in held.reason
    with db.session_scope(settings) as session:
        assert [r.id for r in objection_intake.held(session)] == [held.received_file_id]
        assert intake.held_files(session) == [] and intake.held_objections(session) == 1
    with pytest.raises(Conflict, match=f"kaoping objections release {held.received_file_id}"):
        intake.release_held(settings, held.received_file_id, actor="test:专班")
    with pytest.raises(Conflict, match="异议表"):
        intake.reject_held(settings, held.received_file_id, reason="x", actor="test:专班")
    assert not [m for m in _outbox(settings, "objection_received") if STRANGER in m.to]  # the stranger got nothing
    # Released after the window: taken as of the day it arrived; the receipt to the unit's contacts.
    with db.session_scope(settings) as session:
        released = objection_intake.release(session, settings, held.received_file_id, actor="test:专班")
    assert released.accepted and len(released.objection_ids) == 1 and opened.closes_on == date(2022, 7, 14)
    with db.session_scope(settings) as session:
        assert objection_intake.held(session) == []
        assert session.get(ReceivedFile, held.received_file_id).status == "accepted"
    receipts = [m for m in _outbox(settings, "objection_received") if not m.idempotency_key.startswith("objection-duplicate:")]
    assert len(receipts) == 2 and receipts[1].to == [STRANGER]  # the team vouched for the address it came from

    # After the window: refused with the reason.
    late = receive(filled_objection_form(settings, [("43", "偏低，请复核。", "")]), at=datetime(2022, 7, 15, 9, tzinfo=settings.tz))
    assert not late.accepted and "异议期已于" in late.reason and _count(settings, Objection) == 2

    # A stranger's form rejected by the team: kept, audited, nothing recorded.
    held = receive(filled_objection_form(settings, [("43", "冒名", "")]), sender=STRANGER)
    with db.session_scope(settings) as session:
        with pytest.raises(InvalidInput, match="--reason"):
            objection_intake.reject(session, held.received_file_id, reason=" ", actor="test:专班")
        objection_intake.reject(session, held.received_file_id, reason="冒用单位名义", actor="test:专班")
    with db.session_scope(settings) as session:
        assert session.get(ReceivedFile, held.received_file_id).status == "rejected" and objection_intake.held(session) == []
    assert _count(settings, Objection) == 2


def test_a_forged_or_foreign_form_is_refused(initialized_db, tmp_path):
    settings = initialized_db
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())
    data = filled_objection_form(settings, [("57", "偏低", "")])
    document = docx.Document(io.BytesIO(data))
    from docxcompose.properties import CustomProperties

    CustomProperties(document)["kaoping.subject"] = "150203"  # claims to be 昆都仑区's
    buffer = io.BytesIO()
    document.save(buffer)
    forged = intake.receive(settings, Upload("异议表.docx", buffer.getvalue()), sender=LIAISON, received_at=datetime.now(UTC),
                            channel="inbox")
    assert not forged.accepted and "签名无效" in forged.reason
    # Another unit's registered address returning 青山区's form: held, as a stranger's.
    other = intake.receive(settings, Upload("异议表.docx", data), sender="liaison@150203.baotou.example",
                           received_at=datetime.now(UTC) + timedelta(seconds=1), channel="inbox")
    assert other.held and "不是青山区在考评对象名录中登记的邮箱" in other.reason
    assert _count(settings, Objection) == 0
    # A reply carrying the objection form and another kaoping form is no text objection: the intake takes
    # each file on its own (the objection form as objections, the other as what it is).
    [self_assessment] = build(settings, FormKind.self_assessment, tmp_path, "150204")
    mixed = _mail(settings, data, reply_to=_letter(settings).message_id, n=9,
                  extra=(Attachment("自评表.docx", self_assessment.read_bytes()),))
    assert _route(settings, mixed) is None
