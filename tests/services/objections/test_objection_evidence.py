"""Issue 26: an objection is decided on evidence. The demo's reply (“验收意见附后” with nothing attached,
ending with 此致) is recorded without its closing and forwarded to the lead assessor without it; the
record, the receipt, the routing email, the team's listing and the decision say the attachment never
came; the lead assessor does not answer, so the decision may not claim its review (nor a review of the
missing attachment) and says it did not reply by its deadline, with the date; and the final 反馈函 of
the unit whose objection was upheld no longer lists that item under 需要改进."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from kaoping.models import AuditEntry, FormKind, IssuedForm, OutboxMessage
from kaoping.models.types import fixed_clock
from sqlmodel import select

from kaoping import db
from kaoping.demo.objections import reply_text
from kaoping.demo.people import People
from kaoping.domain.clock import chinese_date
from kaoping.domain.errors import InvalidInput
from kaoping.domain.incoming import IncomingMessage
from kaoping.domain.scoring import points_text
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.cycles.milestones import overdue_milestones
from kaoping.services.objections import record as objections
from kaoping.services.objections.summary import objections_markdown, summary_lines
from kaoping.services.scoring.results import compute_cycle
from tests.conftest import write
from tests.factories import (
    approve,
    decide_objection,
    open_objection_window,
    scored_cycle,
    send_forms,
    sign_off,
    take_in,
    write_reports,
)

UNIT, LIAISON = "150202", "liaison@150202.baotou.example"  # 东河区


#: On PostgreSQL too: a corrected score is stored in a NUMERIC(14,4) column there (an exact string on SQLite).
BOTH_BACKENDS = {"test_an_objection_is_decided_on_what_the_record_shows"}


def _improvement(path) -> str:
    """The text of section 四 (需要改进的方面) of a 反馈函."""
    text = "\n".join(p.text for p in docx.Document(path).paragraphs)
    return text.split("需要改进的方面", 1)[1].split("五、整改要求", 1)[0]


def _outbox(settings, kind: str) -> list[OutboxMessage]:
    with db.session_scope(settings) as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def test_an_objection_is_decided_on_what_the_record_shows(initialized_db, tmp_path):
    settings = initialized_db
    scored_cycle(settings, tmp_path)
    send_forms(settings, FormKind.self_assessment, deadline=date(2022, 7, 8), units=["东河区"])
    with db.session_scope(settings) as session:  # 东河区 returns its self-assessment: it reports its progress
        form = session.exec(select(IssuedForm).where(IssuedForm.kind == FormKind.self_assessment)).one()
    filled = People(2022).fill(FormKind.self_assessment, Path(form.path).read_bytes())
    assert take_in(settings, write(tmp_path / "returns" / f"{form.form_no}.docx", filled), sender=LIAISON).accepted
    sign_off(settings)
    opened = open_objection_window(settings, today=date(2022, 7, 11))
    with db.session_scope(settings) as session:  # an item below full points whose milestone it reported missed
        cycle = get_cycle(session, "2022H1")
        _, results = compute_cycle(session, cycle, detailed=True)
        result = next(r for r in results if r.unit.code == UNIT)
        missed = {m.number for m in overdue_milestones(session, cycle)[result.unit.unit_id]}
    item = max((i for i in result.items if i.number in missed), key=lambda i: i.points - i.value)
    number, points = item.number, Decimal(points_text(item.points))
    preview = write_reports(settings, tmp_path / "preview", cycle="2022H1", signed=date(2022, 7, 11))
    letter = next(p for p in preview.letters if p.name.startswith(UNIT))
    assert f"指标 {number}（" in _improvement(letter)  # listed to improve before the objection

    at = datetime(2022, 7, 12, 10, tzinfo=settings.tz)
    with db.session_scope(settings) as session:
        sent = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == f"objection-letter:2022H1:{UNIT}")).one()
        outcome = objections.take_reply(session, settings, IncomingMessage(
            message_id="<demo-reply@150202.example>", sender=LIAISON, subject=f"回复：{sent.subject}",
            text=reply_text(number), received_at=at, in_reply_to=sent.message_id))
    [oid] = outcome.objection_ids
    with db.session_scope(settings) as session:
        [objection] = objections.listing(session, get_cycle(session, "2022H1"))
        recorded = session.exec(select(AuditEntry).where(AuditEntry.action == "objections.record")).one()
    assert objection.evidence == "已于6月底通过验收，验收意见附后。"  # the closing is not part of the 依据
    assert "此致" not in objection.disputed + objection.evidence
    assert "所称附件（验收意见）未随异议提交" in recorded.reason and recorded.after["note"]
    [routed] = _outbox(settings, "objection_routed")
    [receipt] = _outbox(settings, "objection_received")
    assert "此致" not in routed.text_body and "依据：已于6月底通过验收，验收意见附后。\n" in routed.text_body
    assert "注意：所称附件（验收意见）未随异议提交，专班未收到该材料。" in routed.text_body
    assert "来信所称附件（验收意见）未随异议提交。如需专班参考" in receipt.text_body
    due = opened.closes_on  # 2 working days after 07-12 is 07-14, the window's own close
    assert f"请核实后于{chinese_date(due)}前直接回复本邮件" in routed.text_body

    # The lead assessor never answers: the team may not say it reviewed, nor that the attachment was reviewed.
    with pytest.raises(InvalidInput, match="尚未收到牵头考核单位"):
        decide_objection(settings, oid, uphold=True, reason="经牵头考核单位复核，该项工作已按时完成", score=str(points))
    for shortened in ("经牵头单位复核，该项工作已按时完成", "牵头单位确认已按时完成"):  # the office's short form
        with pytest.raises(InvalidInput, match="尚未收到牵头考核单位"):
            decide_objection(settings, oid, uphold=True, reason=shortened, score=str(points))
    with pytest.raises(InvalidInput, match="不能写已复核“验收意见”"):
        decide_objection(settings, oid, uphold=True, reason="经专班复核验收意见，该项工作已按时完成", score=str(points))
    with fixed_clock(datetime.combine(due + timedelta(days=1), datetime.min.time(), tzinfo=settings.tz)
                     + timedelta(hours=9)):
        decide_objection(settings, oid, uphold=True, reason="专班核对市政务服务平台的上线记录，该项工作已按时完成",
                         score=str(points))
    [told] = _outbox(settings, "objection_decided")
    assert (f"处理依据：牵头考核单位（{routed.text_body.split('：', 1)[0]}）未在{chinese_date(due)}前回复意见，"
            "专班依据异议来函、牵头考核单位的评分表和评分说明、异议单位报送的自评材料作出处理。") in told.text_body
    assert "你单位来信所称附件（验收意见）未随异议提交，专班未能核阅，处理未以该材料为依据。" in told.text_body
    assert "经牵头考核单位复核" not in told.text_body + told.html_body
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        summary = "\n".join(summary_lines(session, cycle))
        markdown = objections_markdown(session, cycle, settings.tz)
    assert f"采纳东河区对指标{number}的异议（牵头考核单位（" in summary and "未在" in summary
    assert "所称附件（验收意见）未随异议提交" in summary and "经牵头考核单位复核" not in summary
    assert "【所称附件（验收意见）未随异议提交】" in markdown

    # The final 反馈函: the upheld item, now at full points, is no longer an item to improve.
    approve(settings)
    final = write_reports(settings, tmp_path / "final", cycle="2022H1", signed=date(2022, 7, 20), publish=True)
    improvement = _improvement(next(p for p in final.letters if p.name.startswith(UNIT)))
    assert f"指标{number}“" not in improvement and f"指标 {number}（" not in improvement
