"""Issue 27, item 1: the field visits check what the units reported (办法三(一)), so a cycle's default
visit window opens after the self-assessment deadline; an earlier one needs a reason, recorded and
stated in the 报告; each visit record form lists what its unit reported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from kaoping.models import AuditEntry, Cycle, CyclePlan, FormKind, IssuedForm, Visit
from sqlmodel import func, select

from kaoping import db
from kaoping.domain.errors import InvalidInput
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reports.disclosures import visit_order
from kaoping.services.stages import steps as stages
from tests.factories import import_teams, returned_cycle

# The rules and what is stored: on both backends; the visit record form's content does not depend on the database
# (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_the_default_window_opens_after_the_self_assessment_deadline",
                 "test_an_earlier_window_is_refused_without_a_reason_and_nothing_is_stored",
                 "test_an_earlier_window_with_a_reason_is_recorded_and_stated",
                 "test_a_later_window_needs_no_reason_and_a_given_one_is_not_kept",
                 "test_visits_confirmed_at_the_command_line_before_the_returns_need_a_reason"}
REASON = "测试：沿用默认承担规则"


def _prepare(settings, **choice):
    with db.session_scope(settings) as session:
        return stages.prepare(session, settings, "2022H1", stages.PlanChoice(
            self_assessment_deadline=date(2022, 7, 8), default_responsibilities_reason=REASON, **choice),
            today=date(2022, 6, 20))


def test_the_default_window_opens_after_the_self_assessment_deadline(initialized_db):
    settings = initialized_db
    import_teams(settings)
    prepared = _prepare(settings)
    # Friday 07-08 is the deadline: the visits start the next working day, for 10 working days.
    assert (prepared.plan.visit_start, prepared.plan.visit_end) == (date(2022, 7, 11), date(2022, 7, 22))
    assert prepared.plan.visit_early_reason == ""
    with db.session_scope(settings) as session:
        sentence = visit_order(session, get_cycle(session, "2022H1"))
    assert sentence.startswith("实地调研于2022年7月11日至2022年7月22日进行，在自评表报送截止（2022年7月8日）之后")


def test_an_earlier_window_is_refused_without_a_reason_and_nothing_is_stored(initialized_db):
    settings = initialized_db
    import_teams(settings)
    for start in (date(2022, 6, 20), date(2022, 7, 8)):  # before, and on the deadline itself
        with pytest.raises(InvalidInput) as refused:
            _prepare(settings, visit_start=start, visit_end=date(2022, 7, 22))
        assert "早于自评表截止（2022-07-08）后第 1 个工作日（2022-07-11）" in str(refused.value)
        assert "调研提前的理由" in str(refused.value)
    with pytest.raises(InvalidInput):
        _prepare(settings, visit_start=date(2022, 6, 20), visit_end=date(2022, 7, 1), visit_early_reason="   ")
    with db.session_scope(settings) as session:
        assert session.exec(select(func.count()).select_from(Cycle)).one() == 0
        assert session.exec(select(func.count()).select_from(CyclePlan)).one() == 0


def test_an_earlier_window_with_a_reason_is_recorded_and_stated(initialized_db):
    settings = initialized_db
    import_teams(settings)
    prepared = _prepare(settings, visit_start=date(2022, 6, 20), visit_end=date(2022, 7, 1),
                        visit_early_reason="调研组七月另有督查任务")
    assert prepared.plan.visit_early_reason == "调研组七月另有督查任务"
    assert any("理由：调研组七月另有督查任务" in n for n in prepared.notes)
    with db.session_scope(settings) as session:
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "cycle.plan")).one()
        assert entry.after["visit_early_reason"] == "调研组七月另有督查任务"
        sentence = visit_order(session, get_cycle(session, "2022H1"))
    assert "早于自评表报送截止（2022年7月8日）" in sentence and "理由：调研组七月另有督查任务" in sentence


def test_a_later_window_needs_no_reason_and_a_given_one_is_not_kept(initialized_db):
    settings = initialized_db
    import_teams(settings)
    prepared = _prepare(settings, visit_start=date(2022, 7, 18), visit_early_reason="不需要")
    assert prepared.plan.visit_start == date(2022, 7, 18) and prepared.plan.visit_early_reason == ""


def test_the_visit_record_form_lists_what_the_unit_reported(initialized_db, tmp_path):
    """Issued with the scoring sheets, after the returns: each form carries, per item the unit undertakes,
    its 完成情况, 完成进度 and the item's 时间节点; the team's findings come back item by item."""
    from kaoping.services.forms import FORM_LAYOUTS
    from kaoping.services.forms.view import CycleView

    from kaoping.services.forms.field_visit import FieldVisit

    settings = initialized_db
    import_teams(settings)
    returned_cycle(settings, tmp_path / "returns")
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        view = CycleView(session, cycle)
        form = session.exec(select(IssuedForm).where(IssuedForm.kind == FormKind.field_visit,
                                                     IssuedForm.form_no == "2022H1-DY001")).one()
        spec = next(s for s in FieldVisit().specs(view) if s.subject_unit_id == form.subject_unit_id)
        submission = view.submissions[form.subject_unit_id]
        first = submission.rows[0]
        text = _docx_text(Path(form.path))
    assert [r[0] for r in spec.tables["items"]] == [str(r["number"]) for r in submission.rows]
    assert spec.extra["reported"][0][2:] == [first["situation"], first["progress"]]
    assert "、".join(FORM_LAYOUTS[FormKind.field_visit]["items"].header) == "指标编号、指标内容、时间节点、自评完成情况、自评完成进度、核实情况"
    assert first["situation"].splitlines()[0] in text and "逐项核实" in text
    # The demo's teams wrote 属实 on the first two items: kept with the field score.
    with db.session_scope(settings) as session:
        from kaoping.models import Component, ComponentScore

        note = session.exec(select(ComponentScore.note).where(ComponentScore.unit_id == form.subject_unit_id,
                                                              ComponentScore.component == Component.field,
                                                              ComponentScore.current)).one()
    assert f"逐项核实：指标{submission.rows[0]['number']}属实" in note

    # The form goes to each member of the visiting team, addressed by name, never by the unit's (issue 26 item 4).
    from kaoping.models import OutboxMessage

    with db.session_scope(settings) as session:
        visit = session.exec(select(Visit).where(Visit.unit_id == form.subject_unit_id)).one()
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key.like(f"form:{form.form_no}:%"))).all()
    assert sorted(m.to[0] for m in mails) == sorted(m["email"] for m in visit.members)
    for mail in mails:
        [member] = [m for m in visit.members if m["email"] == mail.to[0]]
        assert mail.text_body.startswith(f"{member['name']}同志：") and "你单位" not in mail.text_body
        assert "被调研单位：" in mail.text_body and "（星期" in mail.text_body


def _docx_text(path: Path) -> str:
    from docx import Document

    document = Document(str(path))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_visits_confirmed_at_the_command_line_before_the_returns_need_a_reason(initialized, settings):
    import_teams(settings)
    _prepare(settings)
    early = ("visits", "confirm", "--cycle", "2022H1", "--from", "2022-06-20", "--to", "2022-07-01")
    refused = initialized(*early)
    assert refused.exit_code != 0 and "--reason" in refused.output and "2022-07-11" in refused.output
    with db.session_scope(settings) as session:
        assert session.exec(select(func.count()).select_from(Visit)).one() == 0
    done = initialized(*early, "--reason", "调研组七月另有督查任务")
    assert done.exit_code == 0, done.output
    with db.session_scope(settings) as session:
        assert session.exec(select(CyclePlan)).one().visit_early_reason == "调研组七月另有督查任务"
        assert "理由：调研组七月另有督查任务" in visit_order(session, get_cycle(session, "2022H1"))
