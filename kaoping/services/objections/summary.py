"""The objection stage summarised where people look: the approval dialog, the 报告, the Prefect
artifact (open and decided objections) and ``kaoping objections list``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from kaoping.domain.clock import local_time
from kaoping.domain.numbers import fmt
from kaoping.models import (
    AuditEntry,
    Cycle,
    Objection,
    ObjectionStatus,
)
from kaoping.services.objections.basis import (  # noqa: F401 - stance_text: opinions.py and the CLI read it here
    decision_basis,
    missing_attachment_note,
    opinions_by_objection,
    stance_text,
)
from kaoping.services.objections.window import current_ranks, window_of
from kaoping.services.scoring.entry import CycleContext, cycle_unit_names
from kaoping.settings import OFFICE_TIMEZONE


def _score(value) -> str:
    return "" if value is None else fmt(value)


def rank_changes(session: Session, cycle: Cycle, rows: list[dict] | None = None) -> list[str]:
    """Units whose rank differs from the one on their provisional 反馈函 (征求意见稿); ``rows``: the
    result rows as they stand, if the caller has them (else computed here)."""
    opened = session.exec(select(AuditEntry).where(AuditEntry.action == "objections.window.open",
                                                   AuditEntry.cycle_code == cycle.code)).first()
    before = (opened.after or {}).get("ranks") if opened else None
    if not before:
        return []
    try:
        now = ({r["unit_code"]: [r["unit_name"], r["rank"], str(r["total"])] for r in rows} if rows is not None
               else current_ranks(session, cycle))
    except Exception:  # noqa: BLE001 - results that cannot be computed now: no rank to compare
        return []
    changes = []
    for code, (name, rank, total) in now.items():
        if code in before and before[code][1] != rank:
            moved = (f"得分由{before[code][2]}分调整为{total}分" if before[code][2] != total
                     else "本单位得分未变，因其他单位得分调整")
            changes.append(f"{name}由第{before[code][1]}名变为第{rank}名（{moved}）")
    return changes


def upheld_in_full(session: Session, cycle: Cycle, results) -> set[tuple[int, int]]:
    """(unit id, indicator number) of the items an upheld objection corrected to full points (no deduction
    left): no longer an item to improve, nor a milestone the unit missed, in the documents."""
    upheld = session.exec(select(Objection.unit_id, Objection.indicator_number).where(
        Objection.cycle_id == cycle.id, Objection.status == ObjectionStatus.upheld)).all()
    if not upheld:
        return set()
    items = {(r.unit.unit_id, i.number): i for r in results for i in r.items}
    return {(u, n) for u, n in upheld if (u, n) in items and items[(u, n)].value >= items[(u, n)].points}


def summary_lines(session: Session, cycle: Cycle, rows: list[dict] | None = None, tz=None) -> list[str]:
    """A few sentences for the approval dialog and the 报告: how many objections, upheld,
    rejected, open, and the ranks they changed; [] when the cycle had no objection window.
    ``rows``: the result rows as they stand, if the caller has them (one computation per publish). Each
    decision says on what it was made: the lead assessor's review, or its silence and the record."""
    window = window_of(session, cycle)
    if window is None:
        return []
    objections = list(session.exec(select(Objection).where(Objection.cycle_id == cycle.id).order_by(Objection.id)))
    head = (f"初步结果于{window.opened_on.month}月{window.opened_on.day}日以征求意见稿反馈各单位，"
            f"异议期{window.workdays}个工作日（至{window.closes_on.month}月{window.closes_on.day}日）")
    if not objections:
        return [head + "，各单位均未提出异议。"]
    names = cycle_unit_names(session, cycle)
    by_status = {s: [o for o in objections if o.status == s] for s in ObjectionStatus}
    units = len({o.unit_id for o in objections})
    lines = [head + f"，{units}个单位共提出异议{len(objections)}项：采纳{len(by_status[ObjectionStatus.upheld])}项，"
             f"不予采纳{len(by_status[ObjectionStatus.rejected])}项"
             + (f"，待处理{len(by_status[ObjectionStatus.open])}项" if by_status[ObjectionStatus.open] else "") + "。"]
    ctx, zone = CycleContext(session, cycle), tz or ZoneInfo(OFFICE_TIMEZONE)
    for o in by_status[ObjectionStatus.upheld] + by_status[ObjectionStatus.rejected]:
        basis = decision_basis(session, ctx, o, zone)
        said = basis.short + (f"，{basis.attachment_note}" if basis.attachment_note else "")
        what = f"对指标{o.indicator_number}的异议" if o.indicator_number else "的异议"
        if o.status == ObjectionStatus.upheld:
            lines.append(f"采纳{names.get(o.unit_id, o.unit_id)}{what}（{said}），"
                         f"该指标得分由{_score(o.previous_score)}分调整为{_score(o.new_score)}分。")
        else:
            lines.append(f"不予采纳{names.get(o.unit_id, o.unit_id)}{what}（{said}）" + ("，维持原分。" if o.indicator_number else "。"))
    changes = rank_changes(session, cycle, rows)
    lines.append("排名变化：" + "；".join(changes) + "。" if changes else "异议处理未改变排名。")
    return lines


def objections_markdown(session: Session, cycle: Cycle, tz) -> str:
    """The Prefect artifact ``kaoping-<cycle>-objections``: the window, open and decided objections."""
    window = window_of(session, cycle)
    if window is None:
        return f"# {cycle.code} 异议\n\n尚未开始异议期（专班核实签字后发送初步结果反馈函）。"
    names = cycle_unit_names(session, cycle)
    objections = list(session.exec(select(Objection).where(Objection.cycle_id == cycle.id).order_by(Objection.id)))
    rows = [f"# {cycle.code} 异议（{window.opened_on:%Y-%m-%d} 至 {window.closes_on:%Y-%m-%d}）", "",
            *[f"- {line}" for line in summary_lines(session, cycle)], ""]
    for title, wanted in (("待处理", (ObjectionStatus.open,)), ("已处理", (ObjectionStatus.upheld, ObjectionStatus.rejected))):
        chosen = [o for o in objections if o.status in wanted]
        rows += [f"## {title}（{len(chosen)} 项）", ""]
        if not chosen:
            rows += ["无", ""]
            continue
        opinions = opinion_lines(session, cycle, [o.id for o in chosen], width=40)
        rows += ["| 编号 | 单位 | 指标 | 异议内容 | 收到 | 牵头考核单位意见 | 处理 | 理由 |", "|---|---|---|---|---|---|---|---|"]
        for o in chosen:
            outcome = ObjectionStatus(o.status).label + (f"（{o.previous_score}→{o.new_score}）" if o.new_score is not None else "")
            note = missing_attachment_note(o)
            text = o.disputed.replace("|", "｜").replace("\n", " ")[:60] + (f"【{note}】" if note else "")
            opinion = opinions.get(o.id, "尚未回复" if o.indicator_number else "—").replace("|", "｜")
            rows.append(f"| {o.id} | {names.get(o.unit_id, o.unit_id)} | {o.indicator_number or '待归类'} | {text} | "
                        f"{local_time(o.received_at, tz)} | {opinion} | {outcome} | {o.decision_reason.replace('|', '｜')} |")
        rows.append("")
    return "\n".join(rows)


# --------------------------------------------------------------------------- the lead assessors' opinions


def opinion_lines(session: Session, cycle: Cycle, objection_ids: list[int], *, width: int = 80) -> dict[int, str]:
    """objection id → what its lead assessors answered (the newest reply of each), one line."""
    ctx = CycleContext(session, cycle)
    lines = {}
    for objection_id, opinions in opinions_by_objection(session, objection_ids).items():
        newest = {}
        for opinion in opinions:
            newest[opinion.lead_unit_id] = opinion
        parts = []
        for lead_id, opinion in newest.items():
            words = opinion.text.replace("\n", " ")
            parts.append(f"{ctx.name(lead_id)}：{stance_text(opinion)}——{words[:width]}{'…' if len(words) > width else ''}")
        lines[objection_id] = "；".join(parts)
    return lines
