"""The demo's objection stage (异议期, issue 17): one unit replies to its provisional 反馈函, another
returns the objection form (异议表) that came with it; the lead assessor of the first item answers the
routing email ("同意更正"); the team upholds the first (a rank changes) and rejects the second. The
emails are handed to the services the IMAP intake hands them to (``mailbox.route_text_reply``), as
the office mailbox would."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import docx
from sqlmodel import select

from kaoping import db
from kaoping.domain.incoming import Attachment, IncomingMessage
from kaoping.domain.scoring import fmt_exact
from kaoping.models import OutboxMessage
from kaoping.services import objections
from kaoping.services.contacts import unit_contacts
from kaoping.services.cycles import get_cycle
from kaoping.services.mailbox import route_text_reply
from kaoping.services.objection_report import summary_lines
from kaoping.services.objection_window import letter_key
from kaoping.services.results import compute_cycle, result_rows
from kaoping.settings import Settings

ACTOR = "demo:专班"


def _candidates(settings: Settings):
    """(lower unit, its weakest item, the unit ranked just above, a unit to reject): the closest pair of
    districts where raising the lower one's weakest item to full marks should pass the upper one."""
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        inputs, results = compute_cycle(session, cycle, detailed=True)
        rows = {r["unit_code"]: r for r in result_rows(inputs, results)}
    districts = sorted((r for r in results if r.unit.group == "district"), key=lambda r: rows[r.unit.code]["rank"])
    best = None
    for upper, lower in zip(districts, districts[1:], strict=False):
        item = max(lower.items, key=lambda i: i.points - i.value)
        gap = Decimal(rows[upper.unit.code]["total"]) - Decimal(rows[lower.unit.code]["total"])
        gain = Decimal("0.6") * Decimal(fmt_exact(item.points - item.value, 4))
        if gain > gap + Decimal("0.05") and (best is None or gap < best[3]):
            best = (lower, item, upper, gap)
    lower, item, upper, _ = best
    other = next(r for r in districts if r.unit.code not in (lower.unit.code, upper.unit.code))
    return lower, item, upper, other


def _reply(settings: Settings, unit_code: str, text: str, at: datetime, n: int, attachments=()):
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        letter = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == letter_key(cycle, unit_code))).one()
        unit_id = next(u for u in cycle_unit_ids(session, cycle) if u[1] == unit_code)[0]
        sender = unit_contacts(session, unit_id)[0]
        message = IncomingMessage(message_id=f"<demo-objection-{n}@{sender.rpartition('@')[2]}>", sender=sender,
                                  subject="回复：【征求意见】2022年上半年数字政府建设考评初步结果反馈函", text=text,
                                  received_at=at, in_reply_to=letter.message_id, attachments=tuple(attachments))
        return route_text_reply(session, settings, message)


def _filled_form(settings: Settings, unit_code: str, number: int, disputed: str, evidence: str) -> Attachment:
    """The unit's objection form (sent with its letter) with one row typed in, as Word would save it."""
    path = next((settings.var_dir / "objections" / "2022H1").glob(f"{unit_code}-*-异议表.docx"))
    document = docx.Document(path)
    row = document.tables[0].rows[1]
    for cell, value in zip(row.cells[1:], (str(number), disputed, evidence), strict=True):
        cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return Attachment(path.name, buffer.getvalue())


def _lead_answers(settings: Settings, objection_id: int, text: str, at: datetime) -> str:
    """The lead assessor replies to the email that routed the objection to it."""
    with db.session_scope(settings) as session:
        routed = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"objection-routed:{objection_id}:%"))).first()
        message = IncomingMessage(message_id=f"<demo-opinion-{objection_id}@lead.example>", sender=routed.to[0],
                                  subject=f"回复：{routed.subject}", text=text, received_at=at,
                                  in_reply_to=routed.message_id)
        return route_text_reply(session, settings, message).summary


def cycle_unit_ids(session, cycle) -> list[tuple[int, str]]:
    from kaoping.models import CycleUnit

    return [(u.unit_id, u.code) for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))]


def object_and_decide(settings: Settings, say: Callable[[str], None], *, at: datetime) -> list[str]:
    """Two objections (by reply, by form), one upheld and one rejected; returns the summary lines."""
    lower, item, upper, other = _candidates(settings)
    _reply(settings, lower.unit.code, f"您好：\n指标序号：{item.number}\n异议内容：该项工作已按时全部完成，"
           f"初步得分偏低，应得满分。\n依据：已于6月底通过验收，验收意见附后。\n\n此致", at, 1)
    form = _filled_form(settings, other.unit.code, max(other.items, key=lambda i: i.points - i.value).number,
                        "认为扣分过多。", "工作已在推进中。")
    _reply(settings, other.unit.code, "异议表见附件。", at, 2, attachments=[form])
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        by_unit = {o.unit_id: o.id for o in objections.listing(session, cycle)}
        upheld, rejected = by_unit[lower.unit.unit_id], by_unit[other.unit.unit_id]
    say(f"  {lower.unit.short_name}回复征求意见稿、{other.unit.short_name}交回异议表，提出异议 → 登记、回执，并转牵头考核单位")
    opinion = _lead_answers(settings, upheld, "同意更正为满分\n经核对验收意见，该项工作已按时完成。", at)
    say(f"  牵头考核单位回复意见：{opinion}")
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        objections.decide(session, settings, cycle, upheld, uphold=True, actor=ACTOR,
                          score=Decimal(str(item.points)) if item.points == int(item.points) else Decimal(fmt_exact(item.points, 4)),
                          reason="经牵头考核单位复核验收意见，确已按时完成")
        objections.decide(session, settings, cycle, rejected, uphold=False, actor=ACTOR,
                          reason="牵头考核单位复核：截至时间节点尚未完成，维持原分")
        lines = summary_lines(session, cycle)
    say(f"  专班处理：采纳{lower.unit.short_name}（指标{item.number}调整为满分），不予采纳{other.unit.short_name}；"
        "处理结果和理由已邮件告知两单位")
    for line in lines:
        say(f"  [dim]{line}[/dim]")
    return lines
