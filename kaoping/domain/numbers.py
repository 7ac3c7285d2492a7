"""Exact numbers as people read them: half-up rounding of fractions, published figures, working
figures for explanations, and item points as forms print them (full marks as printed)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def to_fraction(value: Decimal | Fraction | int) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value)


def _half_up_count(value: Fraction | Decimal | int, places: int) -> int:
    """``value`` rounded half-up (away from zero at the half) to ``places`` decimals, as a count of 10^-places."""
    f = to_fraction(value)
    numerator, denominator = f.numerator, f.denominator
    n = (2 * abs(numerator) * 10**places + denominator) // (2 * denominator)
    return -n if numerator < 0 else n


def round_half_up(value: Fraction | Decimal, places: int = 2) -> Decimal:
    """Exact ROUND_HALF_UP of a fraction to ``places`` decimals (no float, no double rounding).
    In integers: floor(|p/q|·10^places + 1/2) = (2·|p|·10^places + q) // 2q — the cascade of item, area,
    component and total rounds runs ~15,000 times a province (building Fractions cost 6× as much)."""
    return Decimal(_half_up_count(value, places)).scaleb(-places)


def rounded(value: Fraction, places: int = 2) -> Fraction:
    """``round_half_up`` as a Fraction, without the Decimal between (the cascade adds the rounded figures up)."""
    return Fraction(_half_up_count(value, places), 10**places)


def fmt(value: Fraction | Decimal | None, places: int = 2) -> str:
    """A published figure: exactly ``places`` decimals."""
    return "" if value is None else format(round_half_up(value, places), "f")


def fmt_exact(value: Fraction | Decimal, places: int = 6) -> str:
    """A working figure for explanations: exact when it terminates, else ``places`` decimals and "…"."""
    f = to_fraction(value)
    d = f.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d == 1:
        return format((Decimal(f.numerator) / Decimal(f.denominator)).normalize(), "f")
    return format(round_half_up(f, places), "f") + "…"


# --------------------------------------------------------------------------- item points as printed

POINTS_PLACES = 4  # scores and printed points have at most 4 decimals
FULL_MARKS_WORD = "满分"


def printed_points(points: Fraction | Decimal) -> Decimal:
    """An item's points as forms, sheets and messages print them: exact where they terminate
    within 4 places (0.625, 1.5), else rounded half-up to 4 places (2/3 → 0.6667)."""
    return round_half_up(points, POINTS_PLACES).normalize()


def score_text(value: Fraction | Decimal, points: Fraction | Decimal, places: int = 2) -> str:
    """An item score as printed: ``places`` decimals, except full marks on points with more places
    (0.625, 2/3), printed as the points are (0.625, 0.6667) — the score then reads as full marks."""
    if to_fraction(value) == to_fraction(points) and round_half_up(points, places) != to_fraction(points):
        return points_text(points)
    return fmt(value, places)


def points_terminate(points: Fraction | Decimal) -> bool:
    return to_fraction(printed_points(points)) == to_fraction(points)


def points_text(points: Fraction | Decimal) -> str:
    """"0.625", "1.5", "25", or "0.6667" for 2/3 (see ``full_marks_hint``)."""
    return format(printed_points(points), "f")


def full_marks_hint(points: Fraction | Decimal) -> str:
    """How full marks are written where the points do not terminate; "" where they do."""
    if points_terminate(points):
        return ""
    return f"该指标分值为 {points_text(points)}（约数），满分填 {points_text(points)} 或“{FULL_MARKS_WORD}”"


def is_full_marks(score: Decimal, points: Fraction | Decimal) -> bool:
    """A score written as the printed points is full marks, even where the points do not
    terminate (0.6667 on a 2/3-point item is 2/3, not 0.6667)."""
    return score == printed_points(points)


def item_score_value(score: Decimal, points: Fraction | Decimal) -> Fraction:
    """The value a lead assessor's score stands for: full marks as printed are the exact points."""
    return to_fraction(points) if is_full_marks(score, points) else to_fraction(score)


def within_points(score: Decimal, points: Fraction | Decimal) -> bool:
    return 0 <= score and (to_fraction(score) <= to_fraction(points) or is_full_marks(score, points))




def rounding_note(basis: str, *, annual: bool = False) -> str:
    """What a reader is told about how the published figures relate (under every results table).
    ``published``: each level is computed from the published figures below it, so they add up;
    ``exact``: every level is exact and rounded only when printed, so sums may differ by 0.01 (尾差)."""
    if annual:
        if basis == "published":
            return "年度分值 = 公布的上半年、下半年分值之和 ÷ 2，保留两位小数，可据表复核。"
        return "年度分值由两个半年的精确分值平均后保留两位小数，与公布的半年分值平均可能相差0.01（尾差）。"
    if basis == "published":
        return "各项分数保留两位小数，日常监测由各方面得分、总分由各部分得分逐级计算，可据表复核。"
    return "各项分数按精确值计算后保留两位小数，各部分之和与总分可能存在0.01的尾差。"
