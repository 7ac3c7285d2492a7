"""On what an objection was decided (issue 26): the lead assessor's recorded opinion — only then may a
decision say “经牵头考核单位复核” — or, when none was recorded, that the lead assessor did not reply by
its deadline and the specialist team decided on the record (what it reviewed); and whether an
attachment the unit's text names (验收意见附后, 见附件…) came with the objection at all. The decision
email, the 报告's summary of objections, the team's listing and the CLI read these sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from kaoping.domain.clock import chinese_date, local_date
from kaoping.domain.errors import InvalidInput
from kaoping.models import Cycle, Objection, ObjectionOpinion, OpinionStance
from kaoping.services.objections.window import closing_day, window_of
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.scoring.entry import CycleContext

#: working days a lead assessor has to answer an objection routed to it (never before the window closes)
OPINION_WORKDAYS = 2
MISSING_ATTACHMENT = "所称附件未随异议提交"

# What names an attachment: “验收意见附后”, “见附件验收报告”, “附件：…”, “附佐证材料”, “随附…”.
_NAMES_ATTACHMENT = re.compile(r"附后|附件|随附|附上|附有|(?:^|[。；;，,\s])附[:：]|附.{0,10}?材料")
_STOP = "\\s，,。；;：:、（）()“”\"'《》【】"
_BEFORE = re.compile(rf"([^{_STOP}]{{2,12}}?)(?:附后|(?:见|详见)附件)")  # 验收意见附后 → 验收意见
_AFTER = re.compile(rf"(?:(?:见|详见)?附件|(?:^|(?<=[。；;，,\s]))附[:：])[:：]?\s*([^{_STOP}]{{2,12}})")  # 见附件验收报告 → 验收报告
_MATERIAL = re.compile(rf"附(?:上|有)?([^{_STOP}]{{0,10}}?材料)")  # 附佐证材料 → 佐证材料
_REVIEWED = "(?:复核|核对|核查|核实|审阅|查阅|审核|查看|对照|审查|依据|根据)"
# A reason that says the lead assessor reviewed (复核) or answered: allowed only with its opinion recorded.
_ANSWERED = "(?:复核|核实|核对|确认|同意|回复|意见|认为|维持|答复)"
# "牵头单位" is how the office shortens 牵头考核单位 (经牵头单位复核 claims the same review).
_CLAIMS_LEAD = re.compile(rf"经(?:牵头)?(?:考核)?单位|牵头(?:考核)?单位(?:已|经|的)?{_ANSWERED}")


def stance_text(opinion: ObjectionOpinion) -> str:
    """“同意更正（4 分）” / “维持原分” / “意见未明确”."""
    label = OpinionStance(opinion.stance).label
    return label + (f"（{opinion.score} 分）" if opinion.score is not None else "")


def stance_phrase(opinion: ObjectionOpinion) -> str:
    """The opinion as a sentence says it: “同意更正为4分” / “同意更正” / “维持原分” / “意见未明确”."""
    if opinion.stance == OpinionStance.correct and opinion.score is not None:
        return f"同意更正为{opinion.score.normalize():f}分"
    return OpinionStance(opinion.stance).label


def opinions_by_objection(session: Session, objection_ids: list[int]) -> dict[int, list[ObjectionOpinion]]:
    """Every opinion received on these objections, oldest first."""
    found: dict[int, list[ObjectionOpinion]] = {}
    if not objection_ids:
        return found
    for opinion in session.exec(select(ObjectionOpinion).where(ObjectionOpinion.objection_id.in_(objection_ids))
                                .order_by(ObjectionOpinion.id)):
        found.setdefault(opinion.objection_id, []).append(opinion)
    return found


# --------------------------------------------------------------------------- attachments named in the text


def names_attachment(text: str) -> bool:
    return bool(_NAMES_ATTACHMENT.search(text or ""))


def named_documents(text: str) -> list[str]:
    """What the text says it attaches (验收意见, 验收报告, 佐证材料 …), as written; [] if it names none."""
    found = []
    for pattern in (_BEFORE, _AFTER, _MATERIAL):
        for match in pattern.finditer(text or ""):
            name = match.group(1).removeprefix("见").removeprefix("详见").strip()
            if len(name) >= 2 and name not in found and not name.startswith("附件"):
                found.append(name)
    return found


def evidence_files(o: Objection) -> list[str]:
    """The evidence files sent with an objection (the returned objection form itself is not evidence)."""
    return [a["filename"] for a in o.attachments or [] if not a.get("form")]


def missing_attachment(o: Objection) -> bool:
    """The objection's text names an attachment and none came with it (none beyond the 异议表)."""
    return names_attachment(f"{o.disputed}\n{o.evidence}") and not evidence_files(o)


def missing_attachment_note(o: Objection) -> str:
    """“所称附件（验收意见）未随异议提交”, or "" when nothing named is missing."""
    if not missing_attachment(o):
        return ""
    names = named_documents(f"{o.disputed}\n{o.evidence}")
    return f"所称附件（{'、'.join(names)}）未随异议提交" if names else MISSING_ATTACHMENT


def check_reason_claims(session: Session, o: Objection, reason: str, leads: list[str]) -> None:
    """``InvalidInput`` when the reason claims what the record does not show: the lead assessor's review
    without its opinion recorded, or a review of an attachment that never came."""
    by_name = [lead for lead in leads if re.search(rf"经{re.escape(lead)}|{re.escape(lead)}(?:已|经)?{_ANSWERED}", reason)]
    if leads and not opinions_by_objection(session, [o.id]) and (_CLAIMS_LEAD.search(reason) or by_name):
        raise InvalidInput(f"第 {o.id} 号异议尚未收到牵头考核单位（{'、'.join(leads)}）的意见：处理理由不能写“经牵头考核单位复核”"
                           "或牵头考核单位的意见。请写明专班依据哪些材料作出处理；处理结果邮件会写明牵头考核单位未回复。")
    if not missing_attachment(o):
        return
    for name in [*named_documents(f"{o.disputed}\n{o.evidence}"), "附件", "所附材料", "佐证材料"]:
        if re.search(rf"{_REVIEWED}[^。；;，,]{{0,10}}{re.escape(name)}", reason):
            raise InvalidInput(f"第 {o.id} 号异议{missing_attachment_note(o)}：处理理由不能写已复核“{name}”。"
                               "请如实写明依据（例如牵头考核单位的意见或已有的评分材料）。")


# --------------------------------------------------------------------------- the basis of a decision


@dataclass(frozen=True)
class Basis:
    """On what one objection was (or is to be) decided, in sentences people read."""

    reviewed_by_lead: bool  # the lead assessor's opinion is recorded: “经牵头考核单位复核” may be said
    sentence: str  # the whole basis, for the decision email and the CLI
    short: str  # a clause for the 报告's summary
    attachment_note: str  # "" or 所称附件（…）未随异议提交


def opinion_due(session: Session, cycle: Cycle, o: Objection, tz, calendar: WorkCalendar | None = None) -> date:
    """The day by which the lead assessor is asked to answer: ``OPINION_WORKDAYS`` Chinese working days
    after the objection arrived, and never before the objection window closes."""
    calendar = calendar or WorkCalendar.load(session)
    due = closing_day(calendar, local_date(o.received_at, tz), OPINION_WORKDAYS)
    window = window_of(session, cycle)
    return max(due, window.closes_on) if window is not None else due


def _reviewed(o: Objection) -> str:
    """What the team had in hand without the lead assessor: the objection, its files, the scoring record."""
    files = evidence_files(o)
    head = "异议来函" + (f"及所附材料（{'、'.join(files)}）" if files else "")
    return f"{head}、牵头考核单位的评分表和评分说明、异议单位报送的自评材料"


def lead_names(ctx: CycleContext, o: Objection) -> list[str]:
    """The lead assessors of the objection's item (none for an objection naming no item)."""
    indicator = ctx.indicator_by_number.get(o.indicator_number) if o.indicator_number is not None else None
    return [ctx.name(lead) for lead in ctx.leads.get(indicator.id, [])] if indicator is not None else []


def decision_basis(session: Session, ctx: CycleContext, o: Objection, tz, *, today: date | None = None) -> Basis:
    """The basis of ``o``'s decision: its lead assessors' opinions received by the time it was decided
    (``today``: the day it is decided, when it is not yet), else the lead's silence and the record."""
    leads = lead_names(ctx, o)
    decided_on = local_date(o.decided_at, tz) if o.decided_at is not None else today
    note = missing_attachment_note(o)
    opinions = [p for p in opinions_by_objection(session, [o.id]).get(o.id, [])
                if o.decided_at is None or p.received_at <= o.decided_at]
    newest = {p.lead_unit_id: p for p in opinions}
    if newest:
        said = "；".join(f"{ctx.name(lead)}{stance_phrase(p)}" for lead, p in newest.items())
        return Basis(True, f"经牵头考核单位复核，{said}。", f"经牵头考核单位复核，{said}", note)
    if o.indicator_number is None or not leads:
        return Basis(False, f"该异议未写明指标，未转牵头考核单位；专班依据{_reviewed(o)}作出处理。",
                     "未写明指标，专班逐项核对后处理", note)
    due = opinion_due(session, ctx.cycle, o, tz)
    who = "、".join(leads)
    if decided_on is not None and decided_on > due:
        silent = f"牵头考核单位（{who}）未在{chinese_date(due)}前回复意见"
    else:
        silent = f"牵头考核单位（{who}）截至{chinese_date(decided_on or due)}尚未回复意见（回复期限为{chinese_date(due)}）"
    return Basis(False, f"{silent}，专班依据{_reviewed(o)}作出处理。", f"{silent}，专班依据已有材料处理", note)
