"""The kinds of form: every ``FormKind`` has one registered module implementing the whole
interface, and the engine, the stages, the messages and the intake work for any registered kind
— shown with a toy kind that exists only in this test (``FormKind`` is stored as a plain
string column, so a kind needs no migration)."""

from __future__ import annotations

import inspect
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from kaoping.models import (
    Cycle,
    CyclePlan,
    FormKind,
    IssuedForm,
    OutboxMessage,
    ReceivedFile,
)
from kaoping.templates import EMAIL
from sqlmodel import Session, select

from kaoping import db
from kaoping.adapters.uploads import Upload
from kaoping.adapters.word import form_page, layout
from kaoping.domain.errors import InvalidInput
from kaoping.services import forms
from kaoping.services.forms import (
    FORM_LAYOUTS,
    KINDS,
    FormKindSpec,
    FormSpec,
    ReturnedForm,
    TableLayout,
)
from kaoping.settings import Settings

INTERFACE = sorted(FormKindSpec.__abstractmethods__)


def test_every_form_kind_has_one_registered_module_implementing_the_interface():
    assert set(KINDS) == set(FormKind) and set(FORM_LAYOUTS) == set(FormKind)
    assert INTERFACE == ["deadline", "recipients", "record_return", "render", "specs"]
    codes = set()
    for kind, spec in KINDS.items():
        cls = type(spec)
        assert isinstance(spec, FormKindSpec) and spec.kind is kind and not inspect.isabstract(cls)
        assert cls.__module__.startswith("kaoping.services.forms."), cls
        for name in INTERFACE:  # implemented by the kind's own classes, not inherited from the interface
            assert getattr(cls, name) is not getattr(FormKindSpec, name), (kind, name)
            assert callable(getattr(spec, name))
        assert "main" in spec.tables and all(isinstance(t, TableLayout) for t in spec.tables.values())
        for table in spec.tables.values():
            assert table.header and all(0 <= c < len(table.header) for c in table.identity_columns)
        assert spec.label == kind.label and spec.code == kind.code
        codes.add(spec.code)
        for suffix in (".txt.j2", ".html.j2"):
            assert (EMAIL / f"{spec.email_template}{suffix}").is_file()
    assert len(codes) == len(KINDS)  # form numbers never collide


def test_a_kind_is_registered_once():
    class Again(type(KINDS[FormKind.opinion])):
        pass

    with pytest.raises(ValueError, match="registered twice"):
        forms.register(Again)


# --------------------------------------------------------------------------- a toy kind


class ToyKind(FormKindSpec):
    """试点表: one per unit among the first two of the cycle; the unit types a word into it."""

    kind = "toy"
    label = "试点表"
    code = "SD"
    tables = {"main": TableLayout(("单位", "答复"), (0,), label="试点表格")}
    recorded: list[tuple[str, str]]

    def __init__(self):
        self.recorded = []

    def specs(self, view) -> list[FormSpec]:
        return [FormSpec(self.kind, u.code, u.unit_id, u.short_name, {"main": [[u.short_name]]}, {})
                for u in list(view.units.values())[:2]]

    def render(self, document, spec, *, form_no, deadline_text, office) -> None:
        form_page.form_line(document, f"报送截止：{deadline_text}　　表单编号：{form_no}")
        layout.table(document, list(self.tables["main"].header), [r + [""] for r in spec.tables["main"]],
                     shaded_columns=self.tables["main"].identity_columns)

    def record_return(self, session: Session, returned: ReturnedForm) -> tuple[str, dict]:
        answer = returned.tables["main"][0][1]
        if not answer:
            raise InvalidInput(f"{returned.form.form_no}“答复”未填写。")
        self.recorded.append((returned.form.subject, answer))
        return f"试点表已收到：{answer}", {"answer": answer}

    def deadline(self, session: Session, plan: CyclePlan, *, today: date) -> date:
        return plan.visit_end

    def recipients(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm) -> list[str]:
        return [f"toy-{form.subject}@toy.baotou.example"]


@pytest.fixture
def toy(monkeypatch) -> ToyKind:
    kind = ToyKind()
    monkeypatch.setitem(KINDS, kind.kind, kind)  # what @register does, undone after the test
    return kind


def test_a_new_kind_goes_out_and_comes_back_through_the_generic_engine_and_intake(initialized_db, settings, toy, tmp_path):
    from kaoping.demo.people import fill_docx_table
    from kaoping.services.returns.intake import intake
    from kaoping.services.stages import steps as stages
    from tests.factories import import_teams

    import_teams(settings)
    today = date(2022, 6, 20)
    with db.session_scope(settings) as session:
        plan = stages.prepare(session, settings, "2022H1", stages.PlanChoice(default_responsibilities_reason="测试：沿用默认承担规则"), today=today).plan
        visit_end = plan.visit_end
        issued = stages.issue(session, settings, stages.get_cycle(session, "2022H1"), "toy", today=today)
    assert (issued.forms, issued.queued, issued.skipped) == (2, 2, False)
    with db.session_scope(settings) as session:
        issued_forms = session.exec(select(IssuedForm).where(IssuedForm.kind == "toy").order_by(IssuedForm.form_no)).all()
        assert [f.form_no for f in issued_forms] == ["2022H1-SD001", "2022H1-SD002"]
        assert all(f.deadline == visit_end for f in issued_forms)
        mails = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("form:2022H1-SD%"))).all()
        assert sorted(m.to[0] for m in mails) == sorted(f"toy-{f.subject}@toy.baotou.example" for f in issued_forms)
        assert all("试点表" in m.subject and "2022H1-SD" in m.subject for m in mails)
        form, path = issued_forms[0], Path(issued_forms[0].path)

    data = path.read_bytes()
    filled = fill_docx_table(data, ("单位", "答复"), lambda cells: {1: "已落实"})
    received_at = datetime(2022, 6, 21, tzinfo=timezone.utc)
    with db.session_scope(settings) as session:
        result = intake(session, settings, Upload("toy.docx", filled), received_at=received_at)
    assert (result.kind, result.summary, result.late) == ("toy", "试点表已收到：已落实", False)
    assert toy.recorded == [(form.subject, "已落实")]
    with db.session_scope(settings) as session:
        kept = session.exec(select(ReceivedFile).where(ReceivedFile.purpose == "intake.toy")).one()
        assert kept.details["answer"] == "已落实" and kept.details["form_no"] == form.form_no

    # The generic checks apply to the new kind too: an edited identity cell is refused, naming its table.
    altered = fill_docx_table(data, ("单位", "答复"), lambda cells: {0: "别的单位", 1: "已落实"})
    with db.session_scope(settings) as session, pytest.raises(InvalidInput) as refused:
        intake(session, settings, Upload("toy2.docx", altered), received_at=received_at)
    assert "试点表格第 2 行“单位”列被改动" in str(refused.value)
    assert toy.recorded == [(form.subject, "已落实")]
