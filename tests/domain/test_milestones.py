"""时间节点 vs 完成进度: which due milestones a unit's reported progress falls short of (pure rules; from
returned self-assessments: tests/services/cycles/test_milestones.py)."""

from __future__ import annotations

from kaoping.domain.milestones import MilestoneItem, due, missed_milestones
from kaoping.domain.policy import MilestonePolicy

POLICY = MilestonePolicy()
MAY_DONE = MilestoneItem(6, "5月底完成", 5, "complete")
JUNE_PHASED = MilestoneItem(7, "6月底取得阶段性成效并持续推进", 6, "phased_effect")
NOV_OBVIOUS = MilestoneItem(1, "11月取得明显成效", 11, "obvious_effect")
ONGOING = MilestoneItem(8, "持续优化", None, "continuous")
UNKNOWN = MilestoneItem(9, "另行通知", None, None)


def test_which_milestones_are_due_in_each_half():
    assert due(MAY_DONE, 1, POLICY) and due(JUNE_PHASED, 1, POLICY) and due(ONGOING, 1, POLICY)
    assert not due(NOV_OBVIOUS, 1, POLICY) and due(NOV_OBVIOUS, 2, POLICY)
    assert due(MAY_DONE, 2, POLICY)  # a first-half milestone stays due
    assert not due(UNKNOWN, 1, POLICY)


def test_reported_progress_below_the_milestone_is_missed():
    items = [MAY_DONE, JUNE_PHASED, NOV_OBVIOUS, ONGOING, UNKNOWN]
    reported = {6: "取得明显成效", 7: "取得阶段性成效", 1: "推进中", 8: ""}
    missed = missed_milestones(items, reported, 1, POLICY)
    assert [(m.number, m.required, m.reported) for m in missed] == [(6, "完成", "取得明显成效"), (8, "推进中", "")]
    assert missed[0].text == "指标 6（5月底完成）应达到“完成”，自报“取得明显成效”"
    assert missed[1].text == "指标 8（持续优化）应达到“推进中”，未报告完成进度"
    second = missed_milestones(items, reported, 2, POLICY)
    assert [m.number for m in second] == [1, 6, 8]
