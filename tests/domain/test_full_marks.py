"""Full marks as printed (issue: numbers a reader can recompute): an item worth 2/3 point is
printed 0.6667, and 0.6667 — or “满分” — is full marks, i.e. exactly 2/3."""

from __future__ import annotations

import json
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
from tests.conftest import SEED, write
from tests.factories import scored_cycle

MONITORING_HEADER = "单位,指标,牵头考核单位,得分,说明\n"


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


def test_lead_scores_full_marks_by_number_or_word_and_a_clear_refusal_otherwise(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path, verify=False)
    refused = write(tmp_path / "bad.csv", MONITORING_HEADER + "东河区,7,市审批服务局,0.67,\n")
    result = cli("scores", "import", refused, "--cycle", "2022H1", "--component", "monitoring")
    assert result.exit_code != 0
    assert "0.67 超出范围" in result.output and "满分填 0.6667 或“满分”" in result.output
    good = write(tmp_path / "full.csv", MONITORING_HEADER + "东河区,6,市审批服务局,满分,\n东河区,7,市审批服务局,0.6667,\n")
    result = cli("scores", "import", good, "--cycle", "2022H1", "--component", "monitoring")
    assert result.exit_code == 0, result.output
    assert cli("verify", "confirm", "--cycle", "2022H1", "--all-self-scored").exit_code == 0
    explained = cli("explain", "--cycle", "2022H1", "--unit", "东河区").output
    # 0.6667 and 满分 both count as the exact 2/3: the item's value is shown as 0.666667… (2/3), not 0.6667.
    line6 = next(line for line in explained.splitlines() if line.strip().startswith("6 号"))
    line7 = next(line for line in explained.splitlines() if line.strip().startswith("7 号"))
    assert "得 0.6667…" in line6 and "得 0.6667…" in line7, (line6, line7)
    rows = json.loads(cli("results", "--cycle", "2022H1", "--format", "json").stdout)
    assert any(r["unit_name"] == "东河区" for r in rows)


def test_scoring_sheet_prints_points_as_written_and_takes_full_marks_back(initialized, settings, tmp_path):
    """市审批服务局's sheet: items 11–13 share group (六)'s 2 points (2/3 each, printed 0.6667);
    group (四) (items 6–8, different leads) is not offered for allocation on a lead's sheet."""
    from datetime import date

    import docx
    from kaoping.models import FormKind, LeadScore
    from sqlmodel import select

    from kaoping import db
    from kaoping.adapters.word.layout import fill_cell
    from kaoping.adapters.word.tables import table_rows  # noqa: F401  (the reader the intake uses)
    from kaoping.services.cycles.cycle import get_cycle
    from kaoping.services.forms import build_forms
    from tests.factories import main_table

    assert initialized("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则").exit_code == 0
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        [built] = build_forms(session, settings, cycle, FormKind.lead_scoring, out_dir=tmp_path / "out",
                              deadline=date(2022, 7, 10), units=["spfw"], actor="test")
    document = docx.Document(built.path)
    text = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert "0.6667（默认）" in text and "0.6667…" not in text
    allocation = [t for t in document.tables if t.rows[0].cells[0].text == "指标编号" and len(t.rows[0].cells) == 5]
    offered = {r.cells[0].text for t in allocation for r in t.rows[1:]}
    assert "11" in offered and not offered & {"6", "7", "8"}
    main = main_table(document, "指标编号")
    for row in main.rows[1:]:
        if row.cells[2].text == "东河区" and row.cells[0].text == "11":
            fill_cell(row.cells[5], "满分")
        elif row.cells[2].text == "东河区" and row.cells[0].text == "12":
            fill_cell(row.cells[5], "0.6667")
    document.save(tmp_path / "filled.docx")
    result = initialized("intake", tmp_path / "filled.docx")
    assert result.exit_code == 0, result.output
    with db.session_scope(settings) as session:
        stored = sorted(s.score for s in session.exec(select(LeadScore)))
    assert stored == [Decimal("0.6667"), Decimal("0.6667")]
