"""The lead assessor's scoring sheet (评分表, kaoping/services/forms/lead_scoring.py): points printed as the
rules give them, and full marks written as “满分” or 0.6667 taken back as the exact points."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import docx
from kaoping.models import FormKind, LeadScore
from sqlmodel import select

from kaoping import db
from kaoping.adapters.word.layout import fill_cell
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.forms import build_forms
from tests.factories import main_table, open_cycle, take_in


def test_scoring_sheet_prints_points_as_written_and_takes_full_marks_back(initialized_db, settings, tmp_path):
    """市审批服务局's sheet: items 11–13 share group (六)'s 2 points (2/3 each, printed 0.6667);
    group (四) (items 6–8, different leads) is not offered for allocation on a lead's sheet."""
    open_cycle(settings)
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
    outcome = take_in(settings, tmp_path / "filled.docx")
    assert outcome.accepted, outcome.reason
    with db.session_scope(settings) as session:
        stored = sorted(s.score for s in session.exec(select(LeadScore)))
    assert stored == [Decimal("0.6667"), Decimal("0.6667")]
