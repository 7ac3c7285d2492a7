"""Item points in force (rule 三(四), 明确指标分值).

Items the catalog leaves without points share their container's points (the group if it has
points, else the area). The container's lead assessor sets them; where the items have
several leads every co-lead gives the same allocation; where the container's items have
different leads the specialist team sets them. Until then the equal split applies, flagged
"default" — and a cycle is not signed off on defaults unless the team accepts them, with a
reason (``accept_default_points``), which every document then states.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sqlmodel import Session, select

from kaoping.domain.catalog import open_item_defaults
from kaoping.domain.errors import InvalidInput
from kaoping.domain.scoring import points_text, ranges
from kaoping.models import (
    Catalog,
    Cycle,
    CycleAcceptance,
    Indicator,
    IndicatorLead,
    PointsAllocation,
)
from kaoping.records import audit
from kaoping.services.cycles.cycle import acceptance
from kaoping.services.reference.catalog import catalog_draft

DEFAULT_POINTS = "default_points"


@dataclass(frozen=True)
class ItemPoints:
    indicator_id: int
    number: int
    points: Fraction
    basis: str  # given | allocated | default
    container: str | None  # for open items: the group or area whose points they share


def points_in_force(session: Session, cycle: Cycle) -> dict[int, ItemPoints]:
    """p(i) for every indicator of the cycle's catalog.

    An open item's points are in force once its container's allocation is complete: given by
    the specialist team (where the container's items have different leads), or by every lead
    of the container with the same values. Until then the equal split applies ("default")."""
    draft, defaults, ids = _catalog_of(session, cycle)
    in_force: dict[int, Decimal] = {}
    for state in allocation_states(session, cycle, _loaded=(draft, defaults, ids)).values():
        if state.in_force:
            in_force.update(state.in_force)
    result = {}
    for item in draft.indicators:
        indicator_id = ids[item.number]
        if item.points is not None:
            result[indicator_id] = ItemPoints(indicator_id, item.number, Fraction(item.points), "given", None)
        elif indicator_id in in_force:
            container, _share = defaults[item.number]
            result[indicator_id] = ItemPoints(indicator_id, item.number, Fraction(in_force[indicator_id]), "allocated", container)
        else:
            container, share = defaults[item.number]
            result[indicator_id] = ItemPoints(indicator_id, item.number, share, "default", container)
    return result


def _catalog_of(session: Session, cycle: Cycle):
    draft = catalog_draft(session, session.get(Catalog, cycle.catalog_id))
    ids = dict(session.exec(select(Indicator.number, Indicator.id).where(Indicator.catalog_id == cycle.catalog_id)).all())
    return draft, open_item_defaults(draft), ids


@dataclass
class AllocationState:
    """Rule 三(四) for one container (a group, else an area) of open items."""

    container: str
    numbers: list[int]  # its open items
    item_ids: list[int]
    share_total: Fraction  # the container's points the open items share
    deciders: list[int | None]  # the lead units who must all allocate; [None]: the specialist team
    given: dict[int | None, dict[int, Decimal]]  # decider → indicator id → points (current allocations)
    in_force: dict[int, Decimal] | None  # indicator id → points, once complete and agreed

    @property
    def by_team(self) -> bool:
        return self.deciders == [None]

    def waiting_for(self) -> list[int | None]:
        return [d for d in self.deciders if set(self.given.get(d, {})) != set(self.item_ids)]

    @property
    def disagree(self) -> bool:
        values = {tuple(sorted(self.given[d].items())) for d in self.deciders if d in self.given}
        return len(values) > 1


def allocation_states(session: Session, cycle: Cycle, *, _loaded=None) -> dict[str, AllocationState]:
    """Every container of open items: who must allocate its points, and what they gave."""
    draft, defaults, ids = _loaded or _catalog_of(session, cycle)
    leads: dict[int, set[int]] = defaultdict(set)
    for indicator_id, lead_id in session.exec(
        select(IndicatorLead.indicator_id, IndicatorLead.unit_id).where(IndicatorLead.indicator_id.in_(list(ids.values())))
    ):
        leads[indicator_id].add(lead_id)
    members: dict[str, list[int]] = defaultdict(list)
    for number, (container, _share) in defaults.items():
        members[container].append(number)
    given: dict[str, dict[int | None, dict[int, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for a in session.exec(select(PointsAllocation).where(PointsAllocation.cycle_id == cycle.id, PointsAllocation.current)):
        given[a.container][a.lead_unit_id][a.indicator_id] = a.points
    states = {}
    for container, numbers in sorted(members.items()):
        numbers.sort()
        item_ids = [ids[n] for n in numbers]
        lead_sets = {frozenset(leads[i]) for i in item_ids}
        deciders: list[int | None] = sorted(lead_sets.pop()) if len(lead_sets) == 1 else [None]
        got = {d: dict(v) for d, v in given.get(container, {}).items()}
        total = sum((defaults[n][1] for n in numbers), Fraction(0))
        complete = [d for d in deciders if set(got.get(d, {})) == set(item_ids)]
        in_force = None
        if len(complete) == len(deciders) and len({tuple(sorted(got[d].items())) for d in deciders}) == 1:
            if sum((Fraction(v) for v in got[deciders[0]].values()), Fraction(0)) == total:
                in_force = dict(got[deciders[0]])
        states[container] = AllocationState(container, numbers, item_ids, total, deciders, got, in_force)
    return states


def allocation_problems(session: Session, cycle: Cycle, names: dict[int, str] | None = None) -> list[str]:
    """Allocations begun but not in force: co-leads who have not given theirs yet, co-leads who
    disagree, or (slipped past entry) an allocation that does not add up."""
    names = names or {}
    problems = []
    for state in allocation_states(session, cycle).values():
        if not state.given or state.in_force:
            continue
        items = f"指标 {'、'.join(map(str, state.numbers))}"
        partial = [d for d, v in state.given.items() if set(v) != set(state.item_ids)]
        waiting = [names.get(d, str(d)) for d in state.waiting_for() if d is not None and d not in state.given]
        if partial:
            problems.append(f"分值明确不完整或合计不符：{items} 应一次全部明确、合计 {points_text(state.share_total)} 分，"
                            "请牵头考核单位重新明确全部指标的分值。")
        elif state.disagree:
            problems.append(f"分值明确不一致：{items} 的共同牵头考核单位明确的分值不同，请协商一致后重新明确。")
        elif waiting:
            problems.append(f"分值明确未完成：{items} 由多个单位共同牵头，尚待 {'、'.join(waiting)} 明确分值（办法三(四)）。")
        else:
            problems.append(f"分值明确不完整或合计不符：{items} 应合计 {points_text(state.share_total)} 分，请重新明确全部指标的分值。")
    return problems


# --------------------------------------------------------------------------- defaults accepted


def default_point_items(session: Session, cycle: Cycle) -> list[int]:
    """Numbers of the items whose points are still the equal split."""
    return sorted(p.number for p in points_in_force(session, cycle).values() if p.basis == "default")


def default_points_acceptance(session: Session, cycle: Cycle) -> CycleAcceptance | None:
    return acceptance(session, cycle, DEFAULT_POINTS)


def accept_default_points(session: Session, cycle: Cycle, *, reason: str, actor: str) -> list[int]:
    """The specialist team accepts that the items still on default points are computed on the
    equal split (rule 三(四) not applied by their leads), with a reason. Recorded, audited, and
    stated in the 通报, 报告 and 反馈函."""
    if not reason.strip():
        raise InvalidInput("接受默认分值必须说明原因（例如“牵头考核单位未在规定时间内明确分值”），原因将写入审计日志和报告。")
    numbers = default_point_items(session, cycle)
    if not numbers:
        raise InvalidInput(f"{cycle.code} 没有按默认分值计算的指标，无需接受。")
    existing = default_points_acceptance(session, cycle)
    before = None
    if existing is not None:
        before = {"reason": existing.reason, "items": existing.details.get("items")}
        session.delete(existing)
        session.flush()
    session.add(CycleAcceptance(cycle_id=cycle.id, subject=DEFAULT_POINTS, reason=reason.strip(),
                                details={"items": numbers}, accepted_by=actor))
    audit.append(session, actor=actor, action="points.accept_defaults", entity=f"cycle:{cycle.code}",
                 cycle_code=cycle.code, before=before, after={"items": numbers}, reason=reason.strip())
    return numbers


def default_points_problems(session: Session, cycle: Cycle) -> list[str]:
    """Rule 三(四) not applied: items still on the equal split that the team has not accepted.
    Results can be computed (and are flagged), but the verification is not signed on them."""
    numbers = default_point_items(session, cycle)
    accepted = default_points_acceptance(session, cycle)
    pending = [n for n in numbers if accepted is None or n not in accepted.details.get("items", [])]
    if not pending:
        return []
    return [f"默认分值未确认：指标 {ranges(pending)}（共 {len(pending)} 项）的分值尚未由牵头考核单位明确（办法三(四)），"
            "目前按平均分配计算。请督促牵头考核单位明确分值；确需按默认分值计算的，由专班确认并说明理由"
            f"（`kaoping points accept-defaults --cycle {cycle.code} --reason \"理由\"`），报告中将予以说明。"]
