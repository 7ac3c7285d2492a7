"""The scoring policy (计分规则): a versioned YAML file, validated, snapshotted per cycle."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import decode_text
from kaoping.domain.vocabulary import Component


class GradeBand(BaseModel):
    name: str
    min: Decimal = Field(ge=0, le=100)


class Rounding(BaseModel):
    places: int = Field(2, ge=0, le=4)
    basis: Literal["exact", "published"] = "published"


class AdjustmentCaps(BaseModel):
    bonus_cap: Decimal = Field(Decimal(5), ge=0)
    deduction_cap: Decimal = Field(Decimal(10), ge=0)


class OpinionPolicy(BaseModel):
    """How a survey platform's per-respondent answers become a unit's 0–100 opinion score."""

    rating_min: Decimal = Decimal(1)
    rating_max: Decimal = Decimal(5)
    # The words survey platforms export for a five-point satisfaction question (问卷星 and
    # 腾讯问卷's defaults among them), on the rating_min–rating_max scale.
    rating_labels: dict[str, Decimal] = {
        "非常满意": Decimal(5), "很满意": Decimal(5), "满意": Decimal(4), "比较满意": Decimal(4),
        "基本满意": Decimal(3), "一般": Decimal(3), "不太满意": Decimal(2), "不满意": Decimal(2),
        "非常不满意": Decimal(1), "很不满意": Decimal(1),
    }
    min_respondents: int = Field(30, ge=0)

    @model_validator(mode="after")
    def _scale(self) -> "OpinionPolicy":
        if self.rating_max <= self.rating_min:
            raise ValueError("opinion.rating_max 应大于 rating_min")
        return self


class Rules(BaseModel):
    """Which document the rules beyond the measures come from (实施细则): grade bands, the caps
    of bonus and deduction lines, 一票否决, ranking a vetoed unit, published rounding. The
    measures (《考评办法》) themselves set only the components, their weights, the areas and
    the points; documents that show 等次, 加减分 or 否决 cite this."""

    name: str = "数字政府建设考评计分实施细则（kaoping 默认规则）"
    adopted_by: str = ""  # the document that adopted it, e.g. 包数字政府办〔2022〕3号; empty: not yet adopted

    @property
    def citation(self) -> str:
        return f"《{self.name.strip('《》')}》" + (f"（{self.adopted_by}）" if self.adopted_by else "（尚未以文件印发）")


class MilestonePolicy(BaseModel):
    """How a milestone (时间节点) is compared with the reported 完成进度 (kaoping.domain.milestones)."""

    # The self-assessment's progress choices, from least to most.
    levels: dict[str, int] = {"未启动": 0, "推进中": 1, "取得阶段性成效": 2, "取得明显成效": 3, "完成": 4}
    # What each kind of milestone asks for by its month.
    required: dict[str, str] = {
        "complete": "完成", "obvious_effect": "取得明显成效", "phased_effect": "取得阶段性成效",
        "continuous": "推进中", "on_schedule": "推进中",
    }
    # A milestone is due in a half when its month is at most this.
    half_end_month: dict[int, int] = {1: 6, 2: 12}

    @model_validator(mode="after")
    def _known_levels(self) -> "MilestonePolicy":
        unknown = sorted(set(self.required.values()) - set(self.levels))
        if unknown:
            raise ValueError(f"milestones.required 用到了 levels 中没有的进度：{'、'.join(unknown)}")
        return self


class Veto(BaseModel):
    # "last": a vetoed unit is ranked after every unit of its group that is not vetoed;
    # "by_score": it keeps the rank of its score (its grade is still the lowest).
    rank: Literal["last", "by_score"] = "last"


class ObjectionPolicy(BaseModel):
    """异议期: after the verification sign-off each unit gets its provisional 反馈函 (征求意见稿) and
    may object for this many Chinese working days before the results go to the approver."""

    enabled: bool = True
    workdays: int = Field(3, ge=1, le=30)


class VisitPolicy(BaseModel):
    """实地调研 checks on site what the units reported (办法三(一): "对照…报送的…进展情况…实地核实"): by
    default the visit window opens this many Chinese working days after the self-assessment deadline
    and lasts ``workdays`` working days; a window that starts earlier needs a stated reason."""

    after_returns_workdays: int = Field(1, ge=1, le=30)
    workdays: int = Field(10, ge=1, le=60)


class RankingPolicy(BaseModel):
    """Who is ranked and graded (issue 27): a unit is ranked on what it undertakes, so a department
    whose base (承担指标分值: the points of the items it undertakes) is below ``min_base`` is listed
    with its scores, not ranked or graded. The figure is the specialist team's own (专班口径), not the
    measures', and every document that applies it says so. Units the registry marks ``listed`` or
    ``not_assessed`` are never ranked, whatever their base."""

    # 0 when a policy says nothing: a cycle opened before this rule (its policy copy has no ``ranking``)
    # keeps ranking every unit, as it published; the shipped default.yaml sets 1.
    min_base: Decimal = Field(Decimal(0), ge=0, le=100)
    groups: list[str] = ["department"]  # the groups the minimum applies to (districts undertake every item)
    basis: str = "专班口径"

    def applies(self, group: str) -> bool:
        return group in self.groups


class ScoringPolicy(BaseModel):
    version: str
    name: str = ""
    rules: Rules = Rules()
    components: dict[Component, Decimal]
    missing_component: Literal["error", "reweight"] = "error"
    grades: list[GradeBand]
    ranking_groups: dict[str, str] = {"district": "旗县区、稀土高新区", "department": "市直部门、单位"}
    rounding: Rounding = Rounding()
    adjustments: AdjustmentCaps = AdjustmentCaps()
    source_weights: dict[str, Decimal] = {}
    opinion: OpinionPolicy = OpinionPolicy()
    veto: Veto = Veto()
    milestones: MilestonePolicy = MilestonePolicy()
    objections: ObjectionPolicy = ObjectionPolicy()
    visits: VisitPolicy = VisitPolicy()
    ranking: RankingPolicy = RankingPolicy()

    @field_validator("components")
    @classmethod
    def _weights_total_100(cls, value: dict[Component, Decimal]) -> dict[Component, Decimal]:
        missing = [c.label for c in Component if c not in value]
        if missing:
            raise ValueError(f"缺少权重：{'、'.join(missing)}")
        if any(w < 0 for w in value.values()):
            raise ValueError("权重不能为负数")
        if sum(value.values()) != 100:
            raise ValueError(f"四项权重合计应为 100，实为 {sum(value.values())}")
        return value

    @model_validator(mode="after")
    def _grades_descending(self) -> "ScoringPolicy":
        mins = [g.min for g in self.grades]
        if not mins or mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("等次 grades 应按分数线从高到低排列，且分数线互不相同")
        if mins[-1] != 0:
            raise ValueError("最低等次的分数线应为 0，使每个得分都有等次")
        return self

    def weight(self, component: Component) -> Decimal:
        return self.components[component]

    def grade_for(self, total: Decimal) -> str:
        for band in self.grades:
            if total >= band.min:
                return band.name
        return self.grades[-1].name

    @property
    def lowest_grade(self) -> str:
        return self.grades[-1].name

    def snapshot(self) -> dict:
        return self.model_dump(mode="json")


def load_policy_text(text: str, *, source: str) -> ScoringPolicy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"计分规则文件 {source} 不是有效的 YAML：{exc}") from exc
    try:
        return ScoringPolicy.model_validate(data or {})
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or '文件'}：{str(e['msg']).removeprefix('Value error, ')}" for e in exc.errors()]
        raise InvalidInput(f"计分规则文件 {source} 有 {len(problems)} 处问题：", problems) from exc


def load_policy(path: Path) -> ScoringPolicy:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"找不到计分规则文件 {path}。")
    return load_policy_text(decode_text(path.read_bytes()), source=path.name)
