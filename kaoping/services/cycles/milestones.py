"""Overdue milestones of a cycle: per unit, the due milestones of the items it undertakes whose
reported 完成进度 falls short (rule in ``kaoping.domain.milestones``, levels in the policy)."""

from __future__ import annotations

from sqlmodel import Session, select

from kaoping.domain.milestones import MilestoneItem, MissedMilestone, missed_milestones
from kaoping.models import Cycle, CycleResponsibility, CycleUnit, Indicator, Submission
from kaoping.services.cycles.cycle import policy_of


def overdue_milestones(session: Session, cycle: Cycle) -> dict[int, list[MissedMilestone]]:
    """unit id → its missed milestones (only units with any), for units that returned a
    self-assessment. Units that returned none are the reminders' business, not listed here."""
    policy = policy_of(session, cycle).milestones
    items = {
        i.id: MilestoneItem(i.number, i.milestone_raw, i.milestone_month, i.milestone_kind)
        for i in session.exec(select(Indicator).where(Indicator.catalog_id == cycle.catalog_id))
    }
    undertaken: dict[int, list[MilestoneItem]] = {}
    for unit_id, indicator_id in session.exec(
        select(CycleResponsibility.unit_id, CycleResponsibility.indicator_id).where(CycleResponsibility.cycle_id == cycle.id)
    ):
        undertaken.setdefault(unit_id, []).append(items[indicator_id])
    result = {}
    order = {u: p for u, p in session.exec(select(CycleUnit.unit_id, CycleUnit.position).where(CycleUnit.cycle_id == cycle.id))}
    for submission in session.exec(select(Submission).where(Submission.cycle_id == cycle.id, Submission.current)):
        reported = {int(r["number"]): r.get("progress", "") for r in submission.rows}
        missed = missed_milestones(undertaken.get(submission.unit_id, []), reported, cycle.half, policy)
        if missed:
            result[submission.unit_id] = missed
    return dict(sorted(result.items(), key=lambda kv: order.get(kv[0], 0)))
