"""Milestones against reported progress (时间节点 vs 完成进度).

Every indicator carries a milestone ("5月底完成", "6月底取得阶段性成效并持续推进", "持续推进",
"按进度推进"), and every unit reports a 完成进度 per indicator in its self-assessment. An
indicator's milestone is **due** in a half-year when its month falls within the half (by 6月底
for the first half, by 12月底 for the second; a milestone of the first half stays due in the
second); one without a month ("持续推进", "按进度推进") is due every half. A due milestone is
**missed** when the reported progress is below the level the milestone asks for — or when the
unit reported none. The levels and what each milestone kind asks for are the policy's
(``milestones`` in the policy file), so the office can read its measures differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from kaoping.domain.policy import MilestonePolicy


@dataclass(frozen=True)
class MilestoneItem:
    number: int
    milestone: str  # as the catalog writes it
    month: int | None
    kind: str | None  # MilestoneKind value


@dataclass(frozen=True)
class MissedMilestone:
    number: int
    milestone: str
    required: str  # the progress the milestone asks for, e.g. 完成
    reported: str  # what the unit reported ("" when nothing)

    @property
    def text(self) -> str:
        got = f"自报“{self.reported}”" if self.reported else "未报告完成进度"
        return f"指标 {self.number}（{self.milestone}）应达到“{self.required}”，{got}"


def due(item: MilestoneItem, half: int, policy: MilestonePolicy) -> bool:
    if item.kind is None:
        return False
    if item.month is None:
        return True
    return item.month <= policy.half_end_month[half]


def missed_milestones(items: list[MilestoneItem], reported: dict[int, str], half: int,
                      policy: MilestonePolicy) -> list[MissedMilestone]:
    """The due milestones of one unit's undertaken items whose reported progress falls short."""
    missed = []
    for item in sorted(items, key=lambda i: i.number):
        if not due(item, half, policy):
            continue
        required = policy.required.get(item.kind)
        if required is None:
            continue
        got = reported.get(item.number, "")
        if policy.levels.get(got, -1) < policy.levels[required]:
            missed.append(MissedMilestone(item.number, item.milestone, required, got))
    return missed
