"""The measures' own vocabulary, as the rules and the tables both use it: the four components of a
half-year score (rule 三(一)), what a milestone (时间节点) asks for, and the two ranking groups.
The tables store these values (``models`` imports them from here); the domain never imports
the tables."""

from __future__ import annotations

from enum import StrEnum


class Component(StrEnum):
    """The four parts of a half-year score (rule 三(一))."""

    monitoring = "monitoring"  # 日常监测 60%
    field = "field"  # 实地调研 20%
    opinion = "opinion"  # 民意调查 10%
    third_party = "third_party"  # 第三方评估 10%

    @property
    def label(self) -> str:
        return {"monitoring": "日常监测", "field": "实地调研", "opinion": "民意调查", "third_party": "第三方评估"}[
            self.value
        ]


class MilestoneKind(StrEnum):
    """What the milestone (时间节点) asks for, as far as its words tell."""

    complete = "complete"  # 完成
    obvious_effect = "obvious_effect"  # 取得明显成效
    phased_effect = "phased_effect"  # 取得阶段性成效
    continuous = "continuous"  # 持续推进 / 持续优化
    on_schedule = "on_schedule"  # 按进度推进

    @property
    def label(self) -> str:
        return {
            "complete": "完成",
            "obvious_effect": "取得明显成效",
            "phased_effect": "取得阶段性成效",
            "continuous": "持续推进",
            "on_schedule": "按进度推进",
        }[self.value]


class UnitStanding(StrEnum):
    """Whether a unit is ranked and graded, listed with its scores, or not assessed at all (issue 27):
    党委 departments, vertically managed units and the issuing office itself are the registry's
    call, made once per cycle (frozen when the cycle opens)."""

    ranked = "ranked"
    listed = "listed"
    not_assessed = "not_assessed"

    @property
    def label(self) -> str:
        return {"ranked": "参与排名", "listed": "列示不排名", "not_assessed": "不参加考评"}[self.value]


class UnitGroup(StrEnum):
    """The two ranking groups of the measures."""

    district = "district"  # 旗县区、稀土高新区
    department = "department"  # 市直部门、单位

    @property
    def label(self) -> str:
        return {"district": "旗县区", "department": "市直部门"}[self.value]
