"""承担建议: proposals from the indicators' texts, for the team to review and import; a cycle opens on an
imported list without an acceptance (the refusal without either: tests/cli/test_cycle.py)."""

from __future__ import annotations

import csv
import io

from kaoping.models import CycleAcceptance
from sqlmodel import select

from kaoping import db
from kaoping.services.reference.responsibilities import (
    suggest_responsibilities,
    suggestions_csv,
)
from tests.factories import import_responsibilities, open_cycle


def test_suggestions_for_the_2022_catalog_read_back_as_an_import_file(initialized_db, settings, tmp_path):
    with db.session_scope(settings) as session:
        rows = suggest_responsibilities(session, 2022)
    by_item = {}
    for unit, number, why in rows:
        by_item.setdefault(number, []).append((unit, why))
    # Item 62 names 达茂旗 (an alias of 达尔罕茂明安联合旗): only it among the districts, plus its lead.
    assert [(u, why.startswith("指标文字点名")) for u, why in by_item[62]][0][1]
    assert len([u for u, why in by_item[62] if why.startswith("指标文字点名")]) == 1
    assert "固阳县" not in [u for u, _ in by_item[62]] and ("市工信局", "牵头考核单位") in by_item[62]
    assert len([u for u, why in by_item[1] if why.startswith("各旗县区")]) == 10
    path = tmp_path / "承担.csv"
    path.write_text(suggestions_csv(rows), encoding="utf-8")
    parsed = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert parsed[0] == ["单位", "指标", "依据"] and len(parsed) == len(rows) + 1
    assert import_responsibilities(settings, path, year=2022).created


def test_with_an_imported_list_no_acceptance_is_needed(initialized_db, settings, tmp_path):
    with db.session_scope(settings) as session:
        rows = suggest_responsibilities(session, 2022)
    path = tmp_path / "承担.csv"
    path.write_text(suggestions_csv(rows), encoding="utf-8")
    assert import_responsibilities(settings, path, year=2022).created
    open_cycle(settings, default_responsibilities_reason="")  # no acceptance asked for, none recorded
    with db.session_scope(settings) as session:
        assert session.exec(select(CycleAcceptance)).all() == []
