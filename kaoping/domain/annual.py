"""The annual result (办法: 年度分值 = 上下半年平均): per unit the mean of the two half-years' totals, ranked
and graded by the same rules as a half-year."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from kaoping.domain.policy import ScoringPolicy
from kaoping.domain.scoring import UnitResult, UnitSpec, rank_within_groups, round_half_up, to_fraction


@dataclass
class AnnualResult:
    unit: UnitSpec
    first: Fraction | None  # H1 total
    second: Fraction | None  # H2 total
    total: Fraction
    published_total: Decimal
    veto: bool
    grade: str = ""
    rank: int = 0
    flags: list[str] = field(default_factory=list)


def compute_annual(first: list[UnitResult], second: list[UnitResult], policy: ScoringPolicy) -> list[AnnualResult]:
    """Annual ``Y = (H1 + H2) / 2`` per unit; a unit present in one half only is flagged
    and takes that half's score."""
    by_code_1 = {r.unit.code: r for r in first}
    by_code_2 = {r.unit.code: r for r in second}
    places = policy.rounding.places
    results = []

    def half_value(r: UnitResult) -> Fraction:
        return to_fraction(r.published_total) if policy.rounding.basis == "published" else r.total

    for code in list(by_code_1) + [c for c in by_code_2 if c not in by_code_1]:
        r1, r2 = by_code_1.get(code), by_code_2.get(code)
        unit = (r2 or r1).unit
        flags = []
        if r1 and r2:
            total = (half_value(r1) + half_value(r2)) / 2
        else:
            only = "上半年" if r1 else "下半年"
            flags.append(f"仅参加{only}考评：年度分值取{only}分值")
            total = half_value(r1 or r2)
        veto = bool((r1 and r1.veto) or (r2 and r2.veto))
        if veto:
            flags.append("一票否决（半年考评中）")
        published = round_half_up(total, places)
        results.append(AnnualResult(
            unit=unit, first=r1.total if r1 else None, second=r2.total if r2 else None, total=total,
            published_total=published, veto=veto, grade=policy.lowest_grade if veto else policy.grade_for(published),
            flags=flags,
        ))
    rank_within_groups(results, key=lambda r: r.published_total, vetoed_last=policy.veto.rank == "last")
    return results
