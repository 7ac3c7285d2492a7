"""What the documents must state about how the results came about (考评说明): which rules are
the measures' and which the 实施细则's, which items rest on default points and who accepted
that, whether 承担 was imported or the default rule accepted, exactly what the specialist team
verified and how, the rounding rule, and the milestones missed. The 通报, 报告 and 反馈函 read
these facts; nothing here decides a score."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import Session, select

from kaoping.domain.milestones import MissedMilestone
from kaoping.domain.numbers import rounding_note
from kaoping.domain.scoring import ScoringInputs, UnitResult, ranges
from kaoping.domain.clock import chinese_date
from kaoping.models import Cycle, CyclePlan, CycleSnapshot
from kaoping.services.cycles.cycle import DEFAULT_RESPONSIBILITIES, acceptance
from kaoping.services.cycles.milestones import overdue_milestones
from kaoping.services.cycles.points import DEFAULT_POINTS
from kaoping.services.scoring.verification import BULK_CONFIRMED, CONFIRMED_AT_SIGNATURE
from kaoping.services.scoring.checklist import GROUP_CONFIRMED


@dataclass
class Disclosures:
    rules_citation: str  # 《…实施细则》（文件） — cited wherever 等次, 加减分 or 否决 appear
    rounding_note: str  # 逐级 or 尾差
    default_points: str  # "" or a sentence on the items resting on the equal split
    responsibilities: str  # where 承担 came from
    verification: str  # what the specialist team verified, how and by whom
    visits: str = ""  # when the field visits were, against the self-assessment deadline (and why earlier)
    milestones: dict[int, list[MissedMilestone]] = field(default_factory=dict)  # unit id → missed
    grades: bool = True  # 等次 are published only when the policy names the issued 实施细则 (its 文号)
    grades_note: str = ""  # why there are no 等次, when there are none


    @property
    def milestone_summary(self) -> str:
        if not self.milestones:
            return ""
        counts = Counter(m.number for missed in self.milestones.values() for m in missed)
        common = "、".join(f"指标{n}（{c}个单位）" for n, c in counts.most_common(3))
        total = sum(len(v) for v in self.milestones.values())
        return (f"对照各指标时间节点，{len(self.milestones)}个单位共{total}项指标自报完成进度未达到节点要求，"
                f"较集中的是{common}。")


def disclosures(session: Session, cycle: Cycle, inputs: ScoringInputs, results: list[UnitResult]) -> Disclosures:
    policy = inputs.policy
    # Default points (rule 三(四) not applied by the leads).
    defaults = sorted({i.number for i in inputs.items.values() if i.points_basis == "default"})
    default_points = ""
    if defaults:
        accepted = acceptance(session, cycle, DEFAULT_POINTS)
        # The equal split is kaoping's interim rule (专班口径), not the measures': 三(四) leaves the points to the leads.
        default_points = (f"指标{ranges(defaults)}（共{len(defaults)}项）的分值牵头考核单位未予明确，按专班口径以所在分组或大项"
                          "分值平均分配计算" + ("，已经专班确认" if accepted else "") + "。")
    # Responsibilities: imported, or the default rule accepted.
    snapshot = session.exec(select(CycleSnapshot).where(CycleSnapshot.cycle_id == cycle.id,
                                                        CycleSnapshot.kind == "responsibilities")).first()
    source = (snapshot.content or {}).get("source", "") if snapshot else ""
    accepted = acceptance(session, cycle, DEFAULT_RESPONSIBILITIES)
    if accepted is not None or source == "default":
        responsibilities = ("各单位承担的指标按专班口径确定（旗县区、稀土高新区承担全部指标，市直部门承担其牵头的指标）"
                            + ("，已经专班确认" if accepted else "") + "。")
    else:
        responsibilities = "各单位承担的指标按专班确定的承担清单执行。"
    # Verification of the lead assessors' own items.
    self_scored = [(r.unit.unit_id, i) for r in results for i in r.items if i.self_scored]
    # Issue 27: "逐项核实" only for the items confirmed one by one; the others as they were recorded.
    individually = at_signature = adjusted = bulk = unverified = 0
    grouped: dict[str, int] = {}
    by: set[str] = set()
    for _unit, item in self_scored:
        v = item.verification
        if v is None:
            unverified += 1
            continue
        by.add(v.by)
        if v.kind == "adjust":
            adjusted += 1
        elif v.reason == CONFIRMED_AT_SIGNATURE:
            at_signature += 1
        elif v.reason.startswith(BULK_CONFIRMED):
            bulk += 1
        elif v.reason.startswith(GROUP_CONFIRMED):
            lead = v.reason.removeprefix(GROUP_CONFIRMED + "：").split("自评项", 1)[0]
            grouped[lead] = grouped.get(lead, 0) + 1
        else:
            individually += 1
    parts = []
    if individually:
        parts.append(f"专班逐项核实{individually}项")
    if adjusted:
        parts.append(f"核实调整{adjusted}项")
    if grouped:
        how = "由核实签字人在自评项核实清单逐项列出后按牵头考核单位分组确认"
        parts.append(f"{sum(grouped.values())}项{how}（{'、'.join(f'{lead}{n}项' for lead, n in grouped.items())}），未逐项核实")
    if bulk:
        parts.append(f"{bulk}项由专班一次确认全部自评项，未逐项核实")
    if at_signature:
        parts.append(f"{at_signature}项由核实签字人在签字时一并确认")
    if unverified:
        parts.append(f"{unverified}项尚未核实")
    verification = (f"牵头考核单位对本单位承担指标的评分共{len(self_scored)}项，" + "，".join(parts) + "。"
                    if self_scored else "本期没有牵头考核单位对本单位承担指标的评分。")
    rounding = rounding_note(policy.rounding.basis)
    grades = bool(policy.rules.adopted_by.strip())
    grades_note = "" if grades else (f"《{policy.rules.name.strip('《》')}》尚未以文件印发，本次只公布得分和排名，不确定等次。")
    return Disclosures(
        rules_citation=policy.rules.citation, rounding_note=rounding, default_points=default_points,
        responsibilities=responsibilities, verification=verification, visits=visit_order(session, cycle),
        milestones=_milestones(session, cycle, results), grades=grades, grades_note=grades_note,
    )


def _milestones(session: Session, cycle: Cycle, results: list[UnitResult]) -> dict[int, list[MissedMilestone]]:
    """The milestones missed, but not on an item an upheld objection corrected to full points (the unit
    showed the work was done: it is no longer something to improve)."""
    from kaoping.services.objections.summary import upheld_in_full

    cleared = upheld_in_full(session, cycle, results)
    missed = {unit: [m for m in items if (unit, m.number) not in cleared]
              for unit, items in overdue_milestones(session, cycle).items()}
    return {unit: items for unit, items in missed.items() if items}


def visit_order(session: Session, cycle: Cycle) -> str:
    """When the field visits were, against the self-assessment deadline: after it, the teams checked on
    site what the units reported (办法三(一)); an earlier window states the reason recorded at opening."""
    plan = session.exec(select(CyclePlan).where(CyclePlan.cycle_id == cycle.id)).first()
    if plan is None:
        return ""
    window = f"实地调研于{chinese_date(plan.visit_start)}至{chinese_date(plan.visit_end)}进行"
    deadline = chinese_date(plan.self_assessment_deadline)
    if plan.visit_early_reason:
        return (f"{window}，早于自评表报送截止（{deadline}）后计分规则所定的开始日期，理由：{plan.visit_early_reason.rstrip('。')}"
                "（开启周期时记录）；调研记录表附各单位自评内容，在自评表收齐或截止后下发。")
    return f"{window}，在自评表报送截止（{deadline}）之后，调研组对照各单位报送的完成情况、完成进度和时间节点实地核实。"
