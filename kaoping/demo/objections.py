"""The demo's objection stage (异议期, issue 17): two units reply to their provisional 反馈函, the team
upholds one (a rank changes) and rejects the other. The replies are handed to the same service the
IMAP intake hands a reply to (``objections.take_reply``), as the office mailbox would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlmodel import select

from kaoping import db
from kaoping.domain.incoming import IncomingMessage
from kaoping.domain.scoring import fmt_exact
from kaoping.models import OutboxMessage
from kaoping.services import objections
from kaoping.services.contacts import unit_contacts
from kaoping.services.cycles import get_cycle
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


def _reply(settings: Settings, unit_code: str, text: str, at: datetime, n: int):
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        letter = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == letter_key(cycle, unit_code))).one()
        unit_id = next(u for u in cycle_unit_ids(session, cycle) if u[1] == unit_code)[0]
        sender = unit_contacts(session, unit_id)[0]
        message = IncomingMessage(message_id=f"<demo-objection-{n}@{sender.rpartition('@')[2]}>", sender=sender,
                                  subject="回复：【征求意见】2022年上半年数字政府建设考评初步结果反馈函", text=text,
                                  received_at=at, in_reply_to=letter.message_id)
        return objections.take_reply(session, settings, message)


def cycle_unit_ids(session, cycle) -> list[tuple[int, str]]:
    from kaoping.models import CycleUnit

    return [(u.unit_id, u.code) for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))]


def object_and_decide(settings: Settings, say: Callable[[str], None], *, at: datetime) -> list[str]:
    """Two objections by reply, one upheld and one rejected; returns the summary lines."""
    lower, item, upper, other = _candidates(settings)
    upheld = _reply(settings, lower.unit.code, f"您好：\n指标序号：{item.number}\n异议内容：该项工作已按时全部完成，"
                    f"初步得分偏低，应得满分。\n依据：已于6月底通过验收，验收意见附后。\n\n此致", at, 1)
    rejected = _reply(settings, other.unit.code, "指标序号：%d\n异议内容：认为扣分过多。\n依据：工作已在推进中。"
                      % max(other.items, key=lambda i: i.points - i.value).number, at, 2)
    say(f"  {lower.unit.short_name}、{other.unit.short_name}回复征求意见稿提出异议 → 登记、回执，并转牵头考核单位")
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        objections.decide(session, settings, cycle, upheld.objection_ids[0], uphold=True, actor=ACTOR,
                          score=Decimal(str(item.points)) if item.points == int(item.points) else Decimal(fmt_exact(item.points, 4)),
                          reason="经牵头考核单位复核验收意见，确已按时完成")
        objections.decide(session, settings, cycle, rejected.objection_ids[0], uphold=False, actor=ACTOR,
                          reason="牵头考核单位复核：截至时间节点尚未完成，维持原分")
        lines = summary_lines(session, cycle)
    say(f"  专班处理：采纳{lower.unit.short_name}（指标{item.number}调整为满分），不予采纳{other.unit.short_name}；"
        "处理结果和理由已邮件告知两单位")
    for line in lines:
        say(f"  [dim]{line}[/dim]")
    return lines
