"""The objection stage (异议期, issue 17) on a real database (SQLite and PostgreSQL) and a real
SMTP server on loopback: the window on Chinese working days, the provisional 反馈函, objections
by reply (a stranger's held, a late one refused with the reason, one without an indicator kept
for the team), decisions (an upheld one changes the results and the ranking, each objector told
why), and the approval refused while the window or an objection is open."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import docx
import pytest
from kaoping.models import Objection, OutboxMessage, ReceivedFile
from kaoping.models.types import fixed_clock
from kaoping.notifications.delivery import send_pending
from sqlmodel import select

from kaoping import db
from kaoping.domain.clock import chinese_date
from kaoping.domain.errors import Conflict, InvalidInput
from kaoping.domain.incoming import Attachment, IncomingMessage
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.objections import record as objections
from kaoping.services.objections.summary import objections_markdown, summary_lines
from kaoping.services.objections.window import (
    approval_blockers,
    closing_day,
    office_today,
    window_state,
)
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.returns import intake
from kaoping.services.scoring.results import explain
from kaoping.services.stages.signoff_view import signoff_view
from tests.factories import (
    decide_objection,
    open_objection_window,
    request_signoff,
    result_rows,
    scored_cycle,
    sign_off,
)
from tests.smtp_server import mail_settings

LIAISON = "liaison@150204.baotou.example"  # 青山区


#: The objection stage from reply to decision, and a held reply released, on PostgreSQL too; the refusals' words and
#: the window's arithmetic do not depend on the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_objections_from_reply_to_decision",
                 "test_a_held_reply_is_released_by_the_team_as_of_the_day_it_arrived"}


def test_the_window_counts_chinese_working_days():
    calendar = WorkCalendar()
    # Friday before 国庆 2022: 10-01…10-07 are holidays, 10-08 and 10-09 (a weekend) 调休 working days.
    assert closing_day(calendar, date(2022, 9, 30), 3) == date(2022, 10, 10)
    assert closing_day(calendar, date(2022, 7, 8), 3) == date(2022, 7, 13)  # Friday: Mon, Tue, Wed
    assert closing_day(calendar, date(2022, 7, 9), 1) == date(2022, 7, 11)  # opened on a Saturday
    # The office's own override (a day declared a holiday) is honoured too.
    assert closing_day(WorkCalendar({date(2022, 7, 12): False}), date(2022, 7, 8), 3) == date(2022, 7, 14)


def _reply(settings, unit_code: str, text: str, *, sender: str, received_at: datetime, n: int = 1,
           attachments=()) -> IncomingMessage:
    with db.session_scope(settings) as session:
        letter = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == f"objection-letter:2022H1:{unit_code}")).one()
        replied = letter.message_id
    return IncomingMessage(message_id=f"<reply-{unit_code}-{n}@example>", sender=sender, subject="回复：初步结果反馈函",
                           text=text, received_at=received_at, in_reply_to=replied, attachments=tuple(attachments))


def _lead_answers(settings, objection_id: int, text: str, at: datetime) -> None:
    """The lead assessor replies to the email that routed the objection to it."""
    from kaoping.services.objections import opinions

    with db.session_scope(settings) as session:
        routed = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"objection-routed:{objection_id}:%"))).first()
        answer = IncomingMessage(message_id=f"<lead-{objection_id}@example>", sender=routed.to[0], subject=f"回复：{routed.subject}",
                                 text=text, received_at=at, in_reply_to=routed.message_id)
        assert opinions.take_reply(session, settings, answer).recorded


def _take(settings, message):
    with db.session_scope(settings) as session:
        return objections.take_reply(session, settings, message)


def test_objections_from_reply_to_decision(initialized_db, tmp_path, smtp):
    settings = mail_settings(initialized_db, smtp.port, smtp_attempts=2)
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    today = office_today()
    with db.session_scope(settings) as session:
        assert window_state(session, get_cycle(session, "2022H1"), today=today).step == "open"
    with pytest.raises(Conflict, match="征求意见稿"):  # the approval waits for the objection stage
        request_signoff(settings, "approval")

    opened = open_objection_window(settings, today=today)
    assert opened.letters == 36 and opened.queued == 36 and not opened.skipped
    assert opened.closes_on == closing_day(WorkCalendar(), today, 3)
    assert open_objection_window(settings, today=today).skipped  # a re-run sends nothing twice
    with db.session_scope(settings) as session:
        letter = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == "objection-letter:2022H1:150204")).one()
        assert letter.to == [LIAISON] and letter.attachments[0]["filename"].endswith("反馈函（征求意见稿）.docx")
        assert window_state(session, get_cycle(session, "2022H1"), today=today).step == "wait"
    letter_path = settings.var_dir / "objections" / "2022H1" / letter.attachments[0]["filename"]
    document = docx.Document(letter_path)
    text = "\n".join(p.text for p in document.paragraphs)
    assert "征求意见稿" in text and "包政办函" not in text and "指标序号" in text
    header = [c.text for c in document.tables[0].rows[0].cells]
    assert header == ["指标序号", "内容", "分值", "得分", "牵头考核单位", "扣分原因"]
    item_57 = next(r for r in document.tables[0].rows if r.cells[0].text == "57")
    assert item_57.cells[4].text == "市工信局" and item_57.cells[5].text  # who scored it, and why points were lost

    before = {r["unit_name"]: r for r in result_rows(settings) if r["group"] == "district"}
    assert before["青山区"]["rank"] == 8 and before["白云鄂博矿区"]["rank"] == 7
    now = datetime.now(UTC)

    # 青山区 replies from its registered address, full-width digits and evidence attached.
    accepted = _take(settings, _reply(settings, "150204", "您好：\n指标序号：５７\n异议内容：我区政务数据共享已全部完成，应得满分。\n"
                                      "依据：见附件验收报告。\n\n-----原始邮件-----\n指标序号：3",
                                      sender=LIAISON, received_at=now,
                                      attachments=[Attachment("验收报告.pdf", b"%PDF-1.4 proof")]))
    assert accepted.accepted and len(accepted.objection_ids) == 1
    # 昆都仑区 objects to two items in one paragraph; 东河区 writes without any indicator number.
    two = _take(settings, _reply(settings, "150203", "指标序号：54\n异议内容：评分偏低。\n依据：已按时上线。\n\n"
                                 "指标序号：55\n异议内容：同上。", sender="liaison@150203.baotou.example", received_at=now))
    vague = _take(settings, _reply(settings, "150202", "我们对分数有疑问，请核实。", sender="liaison@150202.baotou.example",
                                   received_at=now))
    assert len(two.objection_ids) == 2 and len(vague.objection_ids) == 1
    # A stranger replying to 青山区's letter is held, kept, and not answered.
    stranger = _take(settings, _reply(settings, "150204", "指标序号：57\n异议内容：应满分", sender="someone@example.org",
                                      received_at=now, n=2))
    assert not stranger.accepted and stranger.held and "不是青山区" in stranger.reason
    # Not a reply to a provisional 反馈函: another handler's message.
    other = IncomingMessage(message_id="<x@y>", sender=LIAISON, subject="你好", text="指标序号：57", received_at=now,
                            in_reply_to="<kaoping.unknown@baotou.example>")
    assert _take(settings, other) is None
    assert _take(settings, _reply(settings, "150204", "指标序号：57", sender=LIAISON, received_at=now)).reason == "此前已登记"

    with db.session_scope(settings) as session:
        stored = {o.id: o for o in session.exec(select(Objection))}
        held = session.exec(select(ReceivedFile).where(ReceivedFile.status == "held")).all()
        kinds = [m.kind for m in session.exec(select(OutboxMessage).where(OutboxMessage.kind.like("objection_%")))]
    qingshan = stored[accepted.objection_ids[0]]
    assert (qingshan.indicator_number, qingshan.previous_score) == (57, Decimal("3.0800"))
    assert qingshan.disputed == "我区政务数据共享已全部完成，应得满分。" and qingshan.evidence == "见附件验收报告。"
    assert qingshan.attachments[0]["filename"] == "验收报告.pdf"
    assert stored[vague.objection_ids[0]].indicator_number is None
    assert {r.sender for r in held} == {"someone@example.org"} and len(held) == 1
    assert kinds.count("objection_received") == 3 and kinds.count("objection_routed") == 3  # 57, 54, 55 to 市工信局

    # While the window is open (and objections are undecided) the approval is refused, with why.
    with pytest.raises(Conflict, match="异议期至") as refused:
        request_signoff(settings, "approval")
    assert any("4 项异议待处理" in p for p in refused.value.problems)

    # Decisions: 青山区's upheld (a verification adjustment: it passes 白云鄂博矿区), the others rejected.
    with pytest.raises(InvalidInput, match="--score"):
        decide_objection(settings, qingshan.id, uphold=True, reason="核实验收报告属实")
    with pytest.raises(InvalidInput, match="--indicator"):
        decide_objection(settings, vague.objection_ids[0], uphold=True, reason="x", score="1")
    # Issue 26: “经牵头考核单位复核” only with the lead assessor's opinion recorded.
    for claim in ("经市工信局核实验收报告属实", "牵头考核单位复核后维持原分"):
        with pytest.raises(InvalidInput, match="尚未收到牵头考核单位（市工信局）的意见"):
            decide_objection(settings, qingshan.id, uphold=True, reason=claim, score="4")
    _lead_answers(settings, qingshan.id, "同意更正为 4 分\n经核实验收报告属实。", now)
    decide_objection(settings, qingshan.id, uphold=True, reason="经市工信局核实验收报告属实", score="4")
    first, second = two.objection_ids
    decide_objection(settings, first, uphold=False, reason="专班核对该单位报送的材料：上线时间晚于时间节点，维持原分")
    with fixed_clock(now + timedelta(days=10)):  # after the lead assessor's deadline
        decide_objection(settings, second, uphold=False, reason="专班核对该单位报送的材料：上线时间晚于时间节点，维持原分")
    decide_objection(settings, vague.objection_ids[0], uphold=False, reason="未指明具体指标，经核对各项评分无误")
    with pytest.raises(Conflict, match="已于"):
        decide_objection(settings, qingshan.id, uphold=False, reason="again")

    after = {r["unit_name"]: r for r in result_rows(settings) if r["group"] == "district"}
    assert after["青山区"]["rank"] == 6 and after["白云鄂博矿区"]["rank"] == 8
    assert Decimal(after["青山区"]["total"]) > Decimal(before["青山区"]["total"])
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        trail = "\n".join(explain(session, cycle, "青山区", tz=settings.tz))
        summary = summary_lines(session, cycle)
        markdown = objections_markdown(session, cycle, settings.tz)
        dialog = signoff_view(session, cycle, "approval", settings.tz, today=opened.closes_on).markdown  # what the approver sees
    assert "采纳青山区第" in trail and "核实调整为 4" in trail
    assert "4个单位" not in summary[0] and "3个单位共提出异议4项：采纳1项，不予采纳3项" in summary[0]
    assert any("青山区由第8名变为第6名" in line for line in summary)
    assert "征求意见与异议处理" in dialog and "采纳1项，不予采纳3项" in dialog
    assert "## 已处理（4 项）" in markdown and "## 待处理（0 项）" in markdown
    with db.session_scope(settings) as session:
        told = {m.idempotency_key: m.text_body for m in session.exec(select(OutboxMessage).where(
            OutboxMessage.kind == "objection_decided"))}
    assert "处理依据：经牵头考核单位复核，市工信局同意更正为4分。" in told[f"objection-decided:{qingshan.id}"]
    due = chinese_date(max(closing_day(WorkCalendar(), now.astimezone(settings.tz).date(), 2), opened.closes_on))
    assert (f"牵头考核单位（市工信局）截至{chinese_date(now.astimezone(settings.tz).date())}尚未回复意见（回复期限为{due}），"
            "专班依据异议来函、牵头考核单位的评分表和评分说明、异议单位报送的自评材料作出处理。") in told[f"objection-decided:{first}"]
    assert f"牵头考核单位（市工信局）未在{due}前回复意见，专班依据" in told[f"objection-decided:{second}"]
    assert "经牵头考核单位复核" not in told[f"objection-decided:{first}"] + told[f"objection-decided:{second}"]
    assert any(line.startswith("采纳青山区对指标57的异议（经牵头考核单位复核，市工信局同意更正为4分）") for line in summary)
    assert any(line.startswith("不予采纳昆都仑区对指标54的异议（牵头考核单位（市工信局）") for line in summary)

    # After the window: refused, with the reason, to the sender; kept.
    late_at = datetime.combine(opened.closes_on + timedelta(days=1), datetime.min.time(), tzinfo=settings.tz)
    late = _take(settings, _reply(settings, "150204", "指标序号：43\n异议内容：偏低", sender=LIAISON, received_at=late_at, n=3))
    assert not late.accepted and not late.held and "异议期已于" in late.reason

    # Every objector is told by email why (the real SMTP server receives them).
    report = send_pending(settings)
    assert not report.failed
    mails = {(tuple(r.rcpt_tos), r.message["Subject"]): r.message for r in smtp.received}
    decided = next(m for (to, subject), m in mails.items() if LIAISON in to and "予以采纳" in subject)
    body = decided.get_body(("plain",)).get_content()
    assert "经市工信局核实验收报告属实" in body and "3.08 分调整为 4 分" in body
    assert any("liaison@150203.baotou.example" in to and "不予采纳" in s for to, s in mails)
    assert any(LIAISON in to and "未受理" in s for to, s in mails)
    assert not any("someone@example.org" in to for to, _ in mails)  # a stranger gets nothing
    routed = next(m for (to, subject), m in mails.items() if "请提出意见" in subject and "青山区" in subject)
    assert "我区政务数据共享已全部完成" in routed.get_body(("plain",)).get_content()

    # Once the window has closed and every objection is decided, the approval may be requested.
    with db.session_scope(settings) as session:
        assert approval_blockers(session, get_cycle(session, "2022H1"), today=opened.closes_on + timedelta(days=1)) == []
    with fixed_clock(late_at):
        request_signoff(settings, "approval")


def test_objections_recorded_by_the_team_and_refusals(initialized_db, tmp_path):
    settings = initialized_db
    scored_cycle(settings, tmp_path)
    from tests.factories import record_objection

    with pytest.raises(Conflict, match="尚未开始异议期"):
        record_objection(settings, unit="东河区", numbers=[19], text="偏低")
    sign_off(settings)
    opened = open_objection_window(settings, today=date(2022, 7, 11))
    within = datetime(2022, 7, 12, 10, tzinfo=settings.tz)
    with pytest.raises(InvalidInput, match="不承担指标 999"):
        record_objection(settings, unit="东河区", numbers=[999], text="偏低", received_at=within)
    with pytest.raises(InvalidInput, match="异议内容不能为空"):
        record_objection(settings, unit="东河区", numbers=[19], text=" ", received_at=within)
    [oid] = record_objection(settings, unit="东河区", numbers=[19], text="电话反映：偏低", received_at=within)
    with pytest.raises(Conflict, match="异议期已于2022年7月14日截止|异议期已于 2022年7月14日"):
        record_objection(settings, unit="东河区", numbers=[19], text="偏低",
                         received_at=datetime(2022, 7, 15, 9, tzinfo=settings.tz))
    assert opened.closes_on == date(2022, 7, 14)
    with db.session_scope(settings) as session:
        assert approval_blockers(session, get_cycle(session, "2022H1"), today=date(2022, 7, 20)) == [
            "2022H1 还有 1 项异议待处理：请用 `kaoping objections decide` 逐项处理。"]
        state = window_state(session, get_cycle(session, "2022H1"), today=date(2022, 7, 20))
    assert state.step == "wait" and "待处理异议 1 项" in state.waiting_for()
    decide_objection(settings, oid, uphold=False, reason="复核无误")
    with db.session_scope(settings) as session:
        assert window_state(session, get_cycle(session, "2022H1"), today=date(2022, 7, 20)).step == "done"


def test_a_policy_without_objections_goes_straight_to_the_approval(initialized_db, tmp_path):
    settings = initialized_db
    from tests.factories import policy_without_objections

    scored_cycle(settings, tmp_path, policy=policy_without_objections(settings, tmp_path))
    sign_off(settings)
    with db.session_scope(settings) as session:
        assert window_state(session, get_cycle(session, "2022H1"), today=date(2022, 7, 20)).step == "done"
    request_signoff(settings, "approval")
    with pytest.raises(Conflict, match="未设异议期"):
        open_objection_window(settings, today=date(2022, 7, 20))


def test_a_held_reply_is_released_by_the_team_as_of_the_day_it_arrived(initialized_db, tmp_path):
    settings = initialized_db
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    opened = open_objection_window(settings, today=date(2022, 7, 11))
    arrived = datetime(2022, 7, 13, 9, tzinfo=settings.tz)
    held = _take(settings, _reply(settings, "150202", "指标序号：19\n异议内容：偏低\n依据：已上线",
                                  sender="director.private@example.com", received_at=arrived,
                                  attachments=[Attachment("通知.pdf", b"%PDF proof")]))
    assert held.held
    with db.session_scope(settings) as session:
        [reply] = objections.held_replies(session)
        assert reply.sender == "director.private@example.com"
        assert intake.held_files(session) == [] and intake.held_objections(session) == 1  # the text part, not the PDF
    with pytest.raises(Conflict, match=f"kaoping objections release {reply.id}"):  # released in one place only
        intake.release_held(settings, reply.id, actor="test:专班")
    with db.session_scope(settings) as session:
        assert not session.exec(select(OutboxMessage).where(OutboxMessage.kind == "objection_received")).all()
    # Released after the window closed: still taken, as it arrived within it.
    with db.session_scope(settings) as session:
        released = objections.release_held(session, settings, reply.id, actor="test:专班")
    assert opened.closes_on == date(2022, 7, 14) and released.accepted
    with db.session_scope(settings) as session:
        [objection] = session.exec(select(Objection)).all()
        assert objection.indicator_number == 19 and objection.attachments[0]["filename"] == "通知.pdf"
        assert objections.held_replies(session) == []
        # The receipt answers, in its thread, the email the objection came in (issue 26 item 6).
        receipt = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "objection_received")).one()
        assert receipt.to == ["director.private@example.com"] and receipt.in_reply_to == "<reply-150202-1@example>"
        with pytest.raises(Exception, match="没有编号为"):
            objections.release_held(session, settings, reply.id, actor="test:专班")
