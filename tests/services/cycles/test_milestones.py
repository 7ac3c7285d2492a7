"""Which units' returned self-assessments fall short of a due milestone (kaoping/services/cycles/milestones.py)."""

from __future__ import annotations

from datetime import date

from kaoping.models import FormKind, Unit
from sqlmodel import select

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.cycles.milestones import overdue_milestones
from kaoping.services.forms import build_forms
from tests.factories import fill_all_progress, open_cycle, take_in


def test_overdue_milestones_from_returned_self_assessments(initialized_db, settings, tmp_path):
    open_cycle(settings)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        [built] = build_forms(session, settings, cycle, FormKind.self_assessment, out_dir=tmp_path / "out",
                              deadline=date(2022, 7, 10), units=["150202"], actor="test")
    filled = fill_all_progress(built.path, tmp_path / "dh.docx", progress="取得阶段性成效")
    assert take_in(settings, filled).accepted
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        overdue = overdue_milestones(session, cycle)
        donghe = session.exec(select(Unit).where(Unit.code == "150202")).one()
    assert list(overdue) == [donghe.id]
    numbers = {m.number for m in overdue[donghe.id]}
    # Item 6 is due 5月底完成: 取得阶段性成效 falls short; item 7 (6月底取得阶段性成效) is met.
    assert 6 in numbers and 7 not in numbers
    assert all(m.reported == "取得阶段性成效" and m.required in ("完成", "取得明显成效") for m in overdue[donghe.id])
