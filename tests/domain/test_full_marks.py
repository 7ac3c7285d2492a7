"""Full marks as printed (issue: numbers a reader can recompute): an item worth 2/3 point is
printed 0.6667, and 0.6667 — or “满分” — is full marks, i.e. exactly 2/3. (Scores given that way through
`kaoping scores import`: tests/cli/test_rules.py; on the lead assessor's scoring sheet:
tests/services/forms/test_lead_scoring_sheet.py.)"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from kaoping.adapters.uploads import read_upload
from kaoping.adapters.word.paragraphs import paragraphs_of
from kaoping.domain.catalog import open_item_defaults, parse_attachment
from kaoping.domain.scoring import (
    full_marks_hint,
    is_full_marks,
    item_score_value,
    points_text,
    printed_points,
    within_points,
)
from tests.conftest import SEED


def catalog_points() -> dict[int, Fraction]:
    draft = parse_attachment(paragraphs_of(read_upload(SEED)), year=2022)
    defaults = open_item_defaults(draft)
    points = {}
    for item in draft.indicators:
        points[item.number] = Fraction(item.points) if item.points is not None else defaults[item.number][1]
    return points


def test_full_marks_as_printed_equal_the_exact_points_for_every_item_of_2022():
    points = catalog_points()
    assert len(points) == 90
    assert points[6] == Fraction(2, 3) and points[78] == Fraction(5, 8)
    for number, p in points.items():
        printed = printed_points(p)
        assert is_full_marks(printed, p) and item_score_value(printed, p) == p, number
        assert within_points(printed, p) and not within_points(printed + Decimal("0.0001"), p), number
    assert points_text(Fraction(5, 8)) == "0.625" and full_marks_hint(Fraction(5, 8)) == ""
    assert points_text(Fraction(2, 3)) == "0.6667" and "满分" in full_marks_hint(Fraction(2, 3))
    assert points_text(Fraction(25)) == "25" and points_text(Fraction(3, 2)) == "1.5"
