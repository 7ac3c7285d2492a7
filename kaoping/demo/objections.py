"""The demo's objection stage (异议期, issue 17): one unit replies to its provisional 反馈函, another
returns the objection form (异议表) that came with it; the lead assessor of the first item answers the
routing email ("同意更正"); the team upholds the first (a rank changes) and rejects the second.

Each of the three is a real email (``kaoping.demo.mailbox.reply_email``: from the sender's registered
address, In-Reply-To/References the email it answers, the form attached as .docx). With the demo's
office mailbox (dovecot) it is appended there at the simulated time and the intake flow fetches it over
IMAP, as the units' returns; what the demo prints is what that mailbox run recorded for it. Without
dovecot the same message, parsed as the intake parses it, goes straight to the service the intake hands
it to (``mailbox.route_text_reply``)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import docx
from sqlmodel import select

from kaoping import db
from kaoping.demo.mailbox import deliver, reply_email
from kaoping.domain.scoring import fmt_exact
from kaoping.models import MailboxMessage, OutboxMessage
from kaoping.notifications.mail.parse import parse_message
from kaoping.notifications.mailbox import message_key, route_text_reply
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.objections import record as objections
from kaoping.services.objections.summary import summary_lines
from kaoping.services.objections.window import letter_key
from kaoping.services.reference.contacts import unit_contacts
from kaoping.services.scoring.results import compute_cycle, result_rows
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


def _letter_reply(settings: Settings, unit_code: str, text: str, at: datetime, attachments=()) -> bytes:
    """The unit's reply to its provisional 反馈函, from its registered address."""
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        letter = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == letter_key(cycle, unit_code))).one()
        unit_id = next(u for u in cycle_unit_ids(session, cycle) if u[1] == unit_code)[0]
        sender = unit_contacts(session, unit_id)[0]
        return reply_email(sender, (letter.subject, letter.message_id), at, text=text, attachments=list(attachments))


def reply_text(number: int) -> str:
    """What the first unit writes in its reply: it names an attachment it does not attach (验收意见附后)
    and ends with the letter's closing (此致), as clerks do."""
    return (f"您好：\n指标序号：{number}\n异议内容：该项工作已按时全部完成，初步得分偏低，应得满分。\n"
            "依据：已于6月底通过验收，验收意见附后。\n\n此致")


def _filled_form(settings: Settings, unit_code: str, number: int, disputed: str, evidence: str) -> tuple[str, bytes]:
    """The unit's objection form (sent with its letter) with one row typed in, as Word would save it."""
    path = next((settings.var_dir / "objections" / "2022H1").glob(f"{unit_code}-*-异议表.docx"))
    document = docx.Document(path)
    row = document.tables[0].rows[1]
    for cell, value in zip(row.cells[1:], (str(number), disputed, evidence), strict=True):
        cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return path.name, buffer.getvalue()


def _lead_answer(settings: Settings, objection_id: int, text: str, at: datetime) -> bytes:
    """The lead assessor replies to the email that routed the objection to it."""
    with db.session_scope(settings) as session:
        routed = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"objection-routed:{objection_id}:%"))).first()
        return reply_email(routed.to[0], (routed.subject, routed.message_id), at, text=text)


def take_in(settings: Settings, emails: list[bytes], at: datetime, imap=None) -> list[str]:
    """The emails arrive at ``at``; what the intake did with each (one line each). With the office
    mailbox: appended there, fetched by the intake flow, the lines read from its record of each message
    (it must have been taken as an answer and moved to the processed folder). Without: each handed to
    ``route_text_reply`` as the intake would."""
    if imap is None:
        lines = []
        for raw in emails:
            with db.session_scope(settings) as session:
                routed = route_text_reply(session, settings, parse_message(raw, internal_date=at).message)
            if routed is None:
                raise SystemExit(f"演示中止：回复未被识别为异议或意见：{parse_message(raw).message.subject}")
            lines.append(routed.summary)
        return lines
    from kaoping.flows.daily import intake

    deliver(imap, [(raw, at) for raw in emails])  # the mail server stores them, arrival time = the simulated time
    intake()
    lines = []
    with db.session_scope(settings) as session:
        for raw in emails:
            message_id = parse_message(raw).message.message_id
            row = session.exec(select(MailboxMessage).where(MailboxMessage.message_key == message_key(message_id))).first()
            if row is None or row.status != "moved" or row.outcome != "reply":
                state = f"{row.status}/{row.outcome}：{row.summary}" if row else "未收取"
                raise SystemExit(f"演示中止：专用邮箱中的邮件 {message_id} 未按异议或意见处理（{state}）")
            lines.append(f"{row.summary}（移入 {row.folder}）")
    return lines


def cycle_unit_ids(session, cycle) -> list[tuple[int, str]]:
    from kaoping.models import CycleUnit

    return [(u.unit_id, u.code) for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))]


def object_and_decide(settings: Settings, say: Callable[[str], None], *, at: datetime, imap=None) -> list[str]:
    """Two objections (by reply, by form), one upheld and one rejected; returns the summary lines.
    ``imap``: the demo's office mailbox (None: no dovecot, the emails go to the intake's service directly)."""
    lower, item, upper, other = _candidates(settings)
    first = _letter_reply(settings, lower.unit.code, reply_text(item.number), at)
    form = _filled_form(settings, other.unit.code, max(other.items, key=lambda i: i.points - i.value).number,
                        "认为扣分过多。", "工作已在推进中。")
    second = _letter_reply(settings, other.unit.code, "异议表见附件。", at, attachments=[form])
    how = "回收流程从专用邮箱（IMAP）收取" if imap is not None else "未启用专用邮箱，邮件直接交回收服务处理"
    say(f"  {lower.unit.short_name}回复征求意见稿邮件、{other.unit.short_name}回复邮件附上异议表（{how}）：")
    for line in take_in(settings, [first, second], at, imap):
        say(f"    {line}")
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        by_unit = {o.unit_id: o.id for o in objections.listing(session, cycle)}
        upheld, rejected = by_unit[lower.unit.unit_id], by_unit[other.unit.unit_id]
    say("  → 已登记、发出回执，并转牵头考核单位")
    answer = _lead_answer(settings, upheld, "同意更正为满分\n经核对验收意见，该项工作已按时完成。", at)
    for line in take_in(settings, [answer], at, imap):
        say(f"  牵头考核单位回复转办邮件：{line}")
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        objections.decide(session, settings, cycle, upheld, uphold=True, actor=ACTOR,
                          score=Decimal(str(item.points)) if item.points == int(item.points) else Decimal(fmt_exact(item.points, 4)),
                          reason="牵头考核单位回复同意更正：经其核对，该项工作已按时完成"
                                 "（异议所称的验收意见未随邮件附来，以牵头考核单位的核对为准）")
        objections.decide(session, settings, cycle, rejected, uphold=False, actor=ACTOR,
                          reason="专班核对异议单位报送的自评材料，截至时间节点该项工作尚未完成，维持原分")
        lines = summary_lines(session, cycle)
    say(f"  专班处理：采纳{lower.unit.short_name}（指标{item.number}调整为满分），不予采纳{other.unit.short_name}；"
        "处理结果和理由已邮件告知两单位")
    for line in lines:
        say(f"  [dim]{line}[/dim]")
    return lines
