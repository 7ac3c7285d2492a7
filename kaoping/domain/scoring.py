"""The arithmetic of the measures (rules 三(一)–(四)), as pure functions on plain values.

Read as docs/scoring.md describes it:

* item score ``s(u,i)`` ∈ [0, p(i)]: the mean of its lead assessors' scores, unless the
  specialist team adjusted it;
* area score ``A(u,a) = W(a) × Σ s(u,i) / Σ p(i)`` over the items of ``a`` that ``u``
  undertakes;
* monitoring ``M(u) = 100 × Σ A(u,a) / Σ W(a)`` over the areas in which ``u`` has items;
* half-year ``H = 0.6 M + 0.2 F + 0.1 O + 0.1 T`` (weights from the policy; a missing part
  is an error, or the policy re-weights over the parts present);
* total = H + capped bonus − capped deductions; grade by band (veto → lowest);
  rank within group by the published total, ties sharing a rank (1, 2, 2, 4);
* annual ``Y = (H1 + H2) / 2``.

Everything is computed with exact fractions (scores are decimals, but a default share such
as 2 points over 3 items is 2/3 and a mean of three scores need not terminate). By default
(policy ``rounding.basis: published``, 逐级计算) every published figure is computed from the
published figures one level below it — 日常监测 from the published area scores, the total
from the published component scores plus the adjustment lines — so that a reader with a
calculator recomputes every table; ``exact`` keeps every level exact and rounds each figure
only for publication (the tables then carry a 尾差 note). Nothing here touches the database: the
service layer gathers ``ScoringInputs`` and these functions return results that carry the
whole trail, which is what ``kaoping explain`` prints.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from math import lcm
from typing import NamedTuple

# Numbers and item points as printed live in ``kaoping.domain.numbers``; re-exported here for the
# many modules that read them with the arithmetic.
from kaoping.domain.numbers import (  # noqa: E402,F401
    FULL_MARKS_WORD,
    POINTS_PLACES,
    fmt,
    fmt_exact,
    full_marks_hint,
    is_full_marks,
    item_score_value,
    points_terminate,
    points_text,
    printed_points,
    round_half_up,
    rounded,
    score_text,
    to_fraction,
    within_points,
)
from kaoping.domain.policy import ScoringPolicy
from kaoping.domain.vocabulary import Component, UnitStanding

# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class AreaSpec:
    code: str
    numeral: str
    name: str
    weight: Decimal  # W(a): the area's points


@dataclass(frozen=True)
class ItemSpec:
    indicator_id: int
    number: int
    area_code: str
    points: Fraction  # p(i) in force
    points_basis: str  # "given" | "allocated" | "default"
    leads: tuple[int, ...]  # lead assessor unit ids


@dataclass(frozen=True)
class UnitSpec:
    unit_id: int
    code: str
    name: str
    short_name: str
    group: str
    items: tuple[int, ...]  # indicator ids undertaken
    position: int = 0
    standing: str = "ranked"  # the registry's, frozen for the cycle: ranked | listed | not_assessed


class LeadScoreValue(NamedTuple):
    """One lead assessor's current score (a tuple: tens of thousands are built per cycle)."""

    score: Decimal
    note: str = ""
    source: str = ""
    entered_at: datetime | None = None
    entered_by: str = ""


@dataclass(frozen=True)
class VerificationValue:
    kind: str  # confirm | adjust
    value: Decimal | None
    basis: str
    by: str
    at: datetime | None
    reason: str = ""


@dataclass(frozen=True)
class ComponentValue:
    source: str
    score: Decimal
    note: str = ""
    file_name: str = ""


@dataclass(frozen=True)
class AdjustmentLine:
    kind: str  # bonus | deduction | veto
    points: Decimal | None
    reason: str
    by: str = ""
    at: datetime | None = None
    evidence: str = ""


@dataclass
class ScoringInputs:
    policy: ScoringPolicy
    areas: dict[str, AreaSpec]
    items: dict[int, ItemSpec]
    units: list[UnitSpec]
    lead_scores: dict[tuple[int, int], dict[int, LeadScoreValue]] = field(default_factory=dict)
    verifications: dict[tuple[int, int], VerificationValue] = field(default_factory=dict)
    components: dict[tuple[int, Component], list[ComponentValue]] = field(default_factory=dict)
    adjustments: dict[int, list[AdjustmentLine]] = field(default_factory=dict)
    unit_names: dict[int, str] = field(default_factory=dict)  # every unit id → short name (leads too)


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Problem:
    kind: str  # missing_score | out_of_range | unverified_self_score | missing_component | allocation
    message: str


def item_mean(scores: dict[int, LeadScoreValue], points: Fraction | Decimal | None = None) -> Fraction:
    """The mean of the lead assessors' scores (full marks as printed count as the exact points)."""
    if points is None:
        return sum((to_fraction(v.score) for v in scores.values()), Fraction(0)) / len(scores)
    return sum((item_score_value(v.score, points) for v in scores.values()), Fraction(0)) / len(scores)


def basis_text(value: Fraction) -> str:
    """The lead-score value a confirmation refers to, as exact text."""
    return f"{value.numerator}/{value.denominator}"


def is_self_scored(unit_id: int, item: ItemSpec) -> bool:
    return unit_id in item.leads


def check(inputs: ScoringInputs) -> list[Problem]:
    """Everything that stands between these inputs and a result, all at once."""
    problems: list[Problem] = []
    names = inputs.unit_names
    policy = inputs.policy
    # p(i) as integers over a common denominator, compared with scores × that denominator:
    # the range check of ~60,000 scores stays in integer arithmetic.
    points_den = lcm(*(i.points.denominator for i in inputs.items.values())) if inputs.items else 1
    limit = {k: int(i.points * points_den) * 10_000 for k, i in inputs.items.items()}
    full_marks = {k: printed_points(i.points) for k, i in inputs.items.items()}  # once per item, not per pair
    for unit in inputs.units:
        for indicator_id in unit.items:
            item = inputs.items[indicator_id]
            key = (unit.unit_id, indicator_id)
            scores = inputs.lead_scores.get(key, {})
            verification = inputs.verifications.get(key)
            if len(scores) < len(item.leads) and not (verification and verification.kind == "adjust"):
                for lead in item.leads:
                    if lead not in scores:
                        problems.append(Problem(
                            "missing_score",
                            f"缺少评分：{unit.short_name} 的指标 {item.number}，应由 {names.get(lead, lead)} 评分。",
                        ))
            top = limit[indicator_id]
            full = full_marks[indicator_id]
            for lead, value in scores.items():
                scaled = value.score.scaleb(4) * points_den
                if (scaled < 0 or scaled > top) and value.score != full:
                    problems.append(Problem(
                        "out_of_range",
                        f"得分超出范围：{names.get(lead, lead)} 给 {unit.short_name} 指标 {item.number} 的得分 "
                        f"{value.score} 不在 [0, {fmt_exact(item.points)}] 内（{_basis_label(item.points_basis)}）。",
                    ))
            if verification and verification.kind == "adjust" and verification.value is not None:
                if not within_points(verification.value, item.points):
                    problems.append(Problem(
                        "out_of_range",
                        f"核实调整后的得分超出范围：{unit.short_name} 指标 {item.number} 调整为 {verification.value}，"
                        f"应在 [0, {fmt_exact(item.points)}] 内。",
                    ))
            if unit.unit_id in item.leads and all(lead in scores for lead in item.leads):
                if not _verified(verification, scores, item.points):
                    stale = verification is not None
                    problems.append(Problem(
                        "unverified_self_score",
                        f"自评分未核实：{unit.short_name} 是指标 {item.number} 的牵头考核单位，其自身得分须经专班核实"
                        + ("（核实后牵头单位又报送了新的分数，须重新核实）" if stale else "")
                        + f"：kaoping verify confirm --unit {unit.short_name} --indicator {item.number}。",
                    ))
        if policy.missing_component == "error":
            for component in Component:
                if policy.weight(component) == 0:
                    continue
                if component is Component.monitoring:
                    if not unit.items:
                        problems.append(Problem("missing_component", f"缺少{component.label}：{unit.short_name} 没有承担任何指标。"))
                elif not inputs.components.get((unit.unit_id, component)):
                    problems.append(Problem(
                        "missing_component",
                        f"缺少{component.label}得分：{unit.short_name}。请导入该单位的{component.label}结果，"
                        "或在计分规则中把 missing_component 设为 reweight。",
                    ))
    return problems


def _verified(verification: VerificationValue | None, scores: dict[int, LeadScoreValue], points: Fraction) -> bool:
    if verification is None:
        return False
    if verification.kind == "adjust":
        return True
    return verification.basis == basis_text(item_mean(scores, points))


def provisional_inputs(inputs: ScoringInputs) -> tuple[ScoringInputs, dict[int, list[int]]]:
    """For the verifier's view before signing (暂定结果): the lead assessors' self-scored items
    counted as they reported them, and which they are (unit id → item numbers), so each such
    unit is marked 待核实. ``compute`` itself still refuses unverified self-scores."""
    verifications = dict(inputs.verifications)
    pending: dict[int, list[int]] = defaultdict(list)
    for unit in inputs.units:
        for indicator_id in unit.items:
            item = inputs.items[indicator_id]
            key = (unit.unit_id, indicator_id)
            scores = inputs.lead_scores.get(key, {})
            if unit.unit_id in item.leads and all(lead in scores for lead in item.leads) \
                    and not _verified(verifications.get(key), scores, item.points):
                verifications[key] = VerificationValue("confirm", None, basis_text(item_mean(scores, item.points)),
                                                       "待核实", None)
                pending[unit.unit_id].append(item.number)
    return ScoringInputs(inputs.policy, inputs.areas, inputs.items, inputs.units, inputs.lead_scores, verifications,
                         inputs.components, inputs.adjustments, inputs.unit_names), dict(pending)


def _basis_label(basis: str) -> str:
    return {"given": "指标分值", "allocated": "牵头考核单位明确的分值", "default": "未明确分值，按平均分配的默认分值"}[basis]


# --------------------------------------------------------------------------- results


class ItemResult(NamedTuple):
    """One item of one unit's result (a tuple: ~50,000 per province cycle)."""

    number: int
    area_code: str
    points: Fraction
    points_basis: str
    lead_scores: dict[int, LeadScoreValue]
    value_numerator: int  # s(u, i) = value_numerator / denominator, exactly
    denominator: int
    verification: VerificationValue | None
    self_scored: bool
    exact_numerator: int | None = None  # s(u, i) before rounding (published basis), when it differs

    @property
    def value(self) -> Fraction:
        """The item score the area is built from: under ``published`` the score as printed (2 places)."""
        return Fraction(self.value_numerator, self.denominator)

    @property
    def exact(self) -> Fraction:
        """The exact item score (the mean of the leads' scores, or the adjusted value)."""
        return Fraction(self.value_numerator if self.exact_numerator is None else self.exact_numerator, self.denominator)


@dataclass
class AreaResult:
    code: str
    weight: Decimal
    sum_scores: Fraction
    sum_points: Fraction
    score: Fraction  # A(u, a) = W × sum_scores / sum_points, exact (sum_scores: of the printed item scores under published)
    exact: Fraction | None = None  # A(u, a) from the exact item scores


@dataclass
class ComponentResult:
    component: Component
    value: Fraction | None  # the value the total is built from (under ``published``: from published parts)
    sources: list[ComponentValue]
    exact: Fraction | None = None  # 日常监测 from the exact area scores (what ``exact`` would use)


@dataclass
class UnitResult:
    unit: UnitSpec
    items: list[ItemResult]
    areas: dict[str, AreaResult]
    components: dict[Component, ComponentResult]
    weights_used: dict[Component, Fraction]  # share of each component in H (after re-weighting)
    half_year: Fraction  # H before bonus and deduction lines
    bonus: Decimal
    deduction: Decimal
    adjustment_lines: list[AdjustmentLine]
    total: Fraction
    published_total: Decimal
    veto: bool
    grade: str = ""
    rank: int = 0  # 0: listed, not ranked (``listed`` says why)
    flags: list[str] = field(default_factory=list)
    base: Fraction = Fraction(0)  # 承担指标分值: the points of the items it undertakes
    own_points: Fraction = Fraction(0)  # of which the points of the items it scored itself (its own lead)
    listed: str = ""  # why it is listed rather than ranked and graded; "" when ranked

    @property
    def ranked(self) -> bool:
        return not self.listed

    @property
    def monitoring(self) -> Fraction | None:
        return self.components[Component.monitoring].value

    @property
    def adjustments(self) -> Decimal:
        return self.bonus - self.deduction


class ScoringError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def compute(inputs: ScoringInputs) -> list[UnitResult]:
    """Half-year results of every unit, ranked within groups. Raises ``ScoringError``
    listing every problem when the inputs are not complete and sound."""
    problems = check(inputs)
    if problems:
        raise ScoringError(problems)
    policy = inputs.policy
    scale = _Scale(inputs)
    results = [_unit_result(inputs, unit, scale) for unit in inputs.units]
    for r in results:
        r.grade = policy.lowest_grade if r.veto else policy.grade_for(r.published_total)
        r.listed = listing_reason(r.unit, r.base, policy)
        if r.listed:
            r.grade = ""
            r.flags.append(r.listed)
    rank_within_groups([r for r in results if r.ranked], key=lambda r: r.published_total,
                       vetoed_last=policy.veto.rank == "last")
    return results


STANDING_LABELS = {s.value: s.label for s in UnitStanding}


def listing_reason(unit: UnitSpec, base: Fraction, policy: ScoringPolicy) -> str:
    """Why ``unit`` is listed with its scores rather than ranked and graded ("" when it is ranked):
    the registry says so for the cycle, or its base is below the policy's minimum (专班口径)."""
    if unit.standing != "ranked":
        return f"列示不排名：考评对象名录中该单位为“{STANDING_LABELS.get(unit.standing, unit.standing)}”，不参与排名和等次评定"
    ranking = policy.ranking
    if ranking.applies(unit.group) and base < to_fraction(ranking.min_base):
        return (f"列示不排名：承担指标分值 {points_text(base)} 分，低于{ranking.basis}参与排名的最低承担分值"
                f" {points_text(ranking.min_base)} 分，不参与排名和等次评定")
    return ""


class _Scale:
    """Common denominators that keep the item-level sums in exact integers.

    Scores have at most 4 decimals, so 10,000 × lcm(numbers of lead assessors) turns every
    item score — a single score, a mean of several, or an adjusted value — into an integer;
    lcm(denominators of p(i)) does the same for the points. Sums over tens of thousands of
    items are then integer additions, and only the ~7 area scores per unit are fractions.
    """

    SCORE = 10_000

    def __init__(self, inputs: ScoringInputs):
        counts = {len(i.leads) for i in inputs.items.values()} or {1}
        self.points_den = lcm(*(i.points.denominator for i in inputs.items.values())) if inputs.items else 1
        # × points_den too: full marks as printed (0.6667 on a 2/3-point item) count as the exact points.
        self.score_den = self.SCORE * lcm(*counts) * self.points_den
        self.points_num = {k: int(i.points * self.points_den) for k, i in inputs.items.items()}
        self._per_lead = {n: self.score_den // self.SCORE // n for n in counts}
        # The weights as Fractions, once a computation (a Decimal → Fraction conversion is slow, and ran ~20 times a unit).
        self.area_weight = {code: to_fraction(area.weight) for code, area in inputs.areas.items()}
        self.component_weight = {c: to_fraction(inputs.policy.weight(c)) for c in Component}
        # The printed full marks (in 1/10,000) of items whose points do not terminate, and their exact
        # points in 1/(10,000 × points_den) — the units the per-lead sum is kept in.
        self.full_marks = {
            k: (int(printed_points(i.points).scaleb(4)), int(i.points * self.SCORE * self.points_den))
            for k, i in inputs.items.items() if not points_terminate(i.points)
        }

    def published_numerator(self, numerator: int, places: int) -> int:
        """An item score rounded half-up to ``places``, on the same denominator (score_den is a multiple of 10,000)."""
        unit = self.score_den // 10**places
        return (2 * numerator + unit) // (2 * unit) * unit if numerator >= 0 else -self.published_numerator(-numerator, places)

    def item_numerator(self, indicator_id: int, scores: dict[int, LeadScoreValue],
                       verification: VerificationValue | None) -> int:
        """s(u, i) × score_den: a score with ≤ 4 decimals is an integer count of 1/10,000."""
        full = self.full_marks.get(indicator_id)
        if verification is not None and verification.kind == "adjust":
            scaled = int(verification.value.scaleb(4))
            if full is not None and scaled == full[0]:
                return full[1] * (self.score_den // self.SCORE // self.points_den)
            return scaled * (self.score_den // self.SCORE)
        total = 0
        for v in scores.values():
            scaled = int(v.score.scaleb(4))
            total += full[1] if full is not None and scaled == full[0] else scaled * self.points_den
        return total * (self._per_lead[len(scores)] // self.points_den)


def _unit_result(inputs: ScoringInputs, unit: UnitSpec, scale: _Scale) -> UnitResult:
    policy = inputs.policy
    flags: list[str] = []
    items: list[ItemResult] = []
    score_sums: dict[str, int] = defaultdict(int)
    exact_sums: dict[str, int] = defaultdict(int)
    point_sums: dict[str, int] = defaultdict(int)
    unit_id = unit.unit_id
    lead_scores = inputs.lead_scores
    verifications = inputs.verifications
    defaults = []
    own_points_num = 0  # the points of the items the unit leads (自评), on the common denominator
    published = policy.rounding.basis == "published"
    places = policy.rounding.places
    for indicator_id in unit.items:
        spec = inputs.items[indicator_id]
        key = (unit_id, indicator_id)
        scores = lead_scores.get(key, {})
        verification = verifications.get(key)
        exact = scale.item_numerator(indicator_id, scores, verification)
        # 逐级计算 from the item up: the area is built from the item scores as printed (a co-led
        # item's mean 0.755 is printed 0.76 and counts 0.76).
        full = scale.points_num[indicator_id] * (scale.score_den // scale.points_den)
        numerator = exact
        if published and exact != full:  # full marks stay the exact points (2/3, 0.625), printed as the points are
            numerator = scale.published_numerator(exact, places)
            if numerator >= full:  # 0.6650 on a 2/3-point item: 0.66, never full marks or above them
                numerator = (full // (scale.score_den // 10**places)) * (scale.score_den // 10**places)
        items.append(ItemResult(spec.number, spec.area_code, spec.points, spec.points_basis, scores, numerator,
                                scale.score_den, verification, unit_id in spec.leads,
                                exact if exact != numerator else None))
        score_sums[spec.area_code] += numerator
        exact_sums[spec.area_code] += exact
        point_sums[spec.area_code] += scale.points_num[indicator_id]
        if unit_id in spec.leads:
            own_points_num += scale.points_num[indicator_id]
        if spec.points_basis == "default":
            defaults.append(spec.number)
    items.sort(key=lambda i: i.number)
    if defaults:
        flags.append(f"默认分值：指标 {ranges(defaults)} 的分值牵头考核单位未明确，按专班口径平均分配计算")

    areas: dict[str, AreaResult] = {}
    for code in sorted(score_sums, key=int):
        weight = scale.area_weight[code]
        sum_scores = Fraction(score_sums[code], scale.score_den)
        sum_points = Fraction(point_sums[code], scale.points_den)
        areas[code] = AreaResult(code, inputs.areas[code].weight, sum_scores, sum_points, weight * sum_scores / sum_points,
                                 weight * Fraction(exact_sums[code], scale.score_den) / sum_points)

    components: dict[Component, ComponentResult] = {}
    if areas:
        total_weight = sum((scale.area_weight[code] for code in areas), Fraction(0))
        exact_monitoring = 100 * sum((a.exact for a in areas.values()), Fraction(0)) / total_weight
        monitoring = (100 * sum((rounded(a.score, places) for a in areas.values()), Fraction(0))
                      / total_weight) if published else exact_monitoring
    else:
        monitoring = exact_monitoring = None
    components[Component.monitoring] = ComponentResult(Component.monitoring, monitoring, [], exact_monitoring)
    for component in (Component.field, Component.opinion, Component.third_party):
        sources = inputs.components.get((unit.unit_id, component), [])
        components[component] = ComponentResult(component, _combine_sources(sources, policy), sources)

    for comp in components.values():
        for source in comp.sources:
            if source.note.startswith("※"):
                flags.append(f"{comp.component.label}（{source.source}）{source.note.removeprefix('※')}")
    present = {c: r.value for c, r in components.items() if r.value is not None and policy.weight(c) > 0}
    total_weight = sum((scale.component_weight[c] for c in present), Fraction(0))
    weights_used = {c: scale.component_weight[c] / total_weight for c in present} if total_weight else {}
    missing = [c for c in Component if policy.weight(c) > 0 and c not in present]
    if missing:
        flags.append(f"重新加权：缺少{'、'.join(c.label for c in missing)}，按其余部分的权重折算")
    if published:
        half_year = sum((w * rounded(present[c], places) for c, w in weights_used.items()), Fraction(0))
    else:
        half_year = sum((w * present[c] for c, w in weights_used.items()), Fraction(0))

    lines = inputs.adjustments.get(unit.unit_id, [])
    bonus_sum = sum((line.points for line in lines if line.kind == "bonus"), Decimal(0))
    deduction_sum = sum((line.points for line in lines if line.kind == "deduction"), Decimal(0))
    bonus = min(bonus_sum, policy.adjustments.bonus_cap)
    deduction = min(deduction_sum, policy.adjustments.deduction_cap)
    if bonus < bonus_sum:
        flags.append(f"加分封顶：加分合计 {bonus_sum} 分，按上限计 {bonus} 分")
    if deduction < deduction_sum:
        flags.append(f"扣分封顶：扣分合计 {deduction_sum} 分，按上限计 {deduction} 分")
    total = half_year + to_fraction(bonus) - to_fraction(deduction)
    if total < 0:
        flags.append("总分低于 0，按 0 分计")
        total = Fraction(0)
    vetoes = [line for line in lines if line.kind == "veto"]
    if vetoes:
        flags.append("一票否决：" + "；".join(v.reason for v in vetoes))
    published_total = round_half_up(total, policy.rounding.places)
    # Integer sums on the common denominator (adding ~80 Fractions a unit built ~100,000 of them a province).
    base = Fraction(sum(point_sums.values()), scale.points_den)
    own_points = Fraction(own_points_num, scale.points_den)
    return UnitResult(
        unit=unit, items=items, areas=areas, components=components, weights_used=weights_used,
        half_year=half_year, bonus=bonus, deduction=deduction, adjustment_lines=lines, total=total,
        published_total=published_total, veto=bool(vetoes), flags=flags, base=base, own_points=own_points,
    )


def _combine_sources(sources: list[ComponentValue], policy: ScoringPolicy) -> Fraction | None:
    if not sources:
        return None
    weights = [to_fraction(policy.source_weights.get(s.source, Decimal(1))) for s in sources]
    total = sum(weights, Fraction(0))
    if total == 0:
        return None
    return sum((w * to_fraction(s.score) for w, s in zip(weights, sources, strict=True)), Fraction(0)) / total


def ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] → "1–3、7"."""
    out: list[str] = []
    start = prev = None
    for n in sorted(numbers):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f"{start}–{prev}" if prev != start else str(start))
            start = prev = n
    if start is not None:
        out.append(f"{start}–{prev}" if prev != start else str(start))
    return "、".join(out)


def rank_within_groups(results, key, *, vetoed_last: bool = False) -> None:
    """Competition ranking (1, 2, 2, 4) by ``key`` descending, within each unit group; with
    ``vetoed_last`` a vetoed unit comes after every unit of its group that is not vetoed."""
    groups: dict[str, list] = defaultdict(list)
    for r in results:
        groups[r.unit.group].append(r)

    def standing(r):
        return (bool(r.veto) if vetoed_last else False, -key(r))

    for members in groups.values():
        members.sort(key=lambda r: (*standing(r), r.unit.position, r.unit.code))
        previous = None
        for index, r in enumerate(members, start=1):
            value = standing(r)
            if previous is None or value != previous[0]:
                previous = (value, index)
            r.rank = previous[1]
