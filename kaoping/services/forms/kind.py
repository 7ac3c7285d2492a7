"""What a kind of form is (自评表, 评分表, 实地调研记录表, …): one interface, one module per kind.

A kind says which tables its Word file carries (``tables``: the layout the engine writes and the
intake reads back), which forms a cycle issues and to whom (``specs``), what the body of one form
says (``render``, from its spec alone), how a return is parsed and stored (``record_return``), when it is due
(``deadline``) and who gets it by email (``recipients``, ``email_template``). The engine, the
intake, the stages, the messages and the reminders ask ``KINDS[kind]`` and decide nothing by kind.

Adding a kind: a module with a ``FormKindSpec`` subclass decorated with ``@register``, imported in
``kaoping/services/forms/__init__.py``, and its email template in ``templates/email/``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from kaoping.adapters.uploads import Upload
from kaoping.domain.errors import InvalidInput
from kaoping.models import Cycle, CyclePlan, FormKind, IssuedForm, Unit
from kaoping.settings import Settings

if TYPE_CHECKING:
    from kaoping.services.forms.view import CycleView


@dataclass(frozen=True)
class TableLayout:
    """One table of a form: its header row, the columns kaoping fills in (identity: compared
    on return), and how the intake names the table in a refusal."""

    header: tuple[str, ...]
    identity_columns: tuple[int, ...]
    label: str = "表格"


@dataclass
class FormSpec:
    """What one form will contain: its subject, its tables' identity rows, and the extras."""

    kind: FormKind
    subject: str  # unit code or "all"
    subject_unit_id: int | None
    subject_label: str
    tables: dict[str, list[list[str]]]  # table name → identity rows
    extra: dict  # per kind: texts copied in, unit codes per row, …

    @property
    def identity_rows(self) -> list[list[str]]:
        """Every identity cell, table by table, plus the unit code behind each row that
        shows a unit's short name (so a returned row maps back to its unit exactly)."""
        rows: list[list[str]] = []
        for name in sorted(self.tables):
            rows += [[name, *r] for r in self.tables[name]]
        rows += [["codes", code] for code in self.extra.get("unit_codes", [])]
        return rows


@dataclass
class ReturnedForm:
    """One returned file of a kind, recognised and structurally checked by the intake: its
    tables' rows (header excluded) by table name, and what the intake knows about it."""

    cycle: Cycle
    form: IssuedForm
    tables: dict[str, list[list[str]]]
    upload: Upload
    actor: str
    received_at: datetime
    late: bool
    received_file_id: int | None


class FormKindSpec(ABC):
    """One kind of form. Subclasses set ``kind`` and ``tables`` and implement the methods."""

    #: the stored value (``IssuedForm.kind``); a ``FormKind`` for the kinds of the product
    kind: FormKind
    #: table name → layout; the engine writes these tables, the intake reads them back
    tables: dict[str, TableLayout]
    #: page orientation of the Word file
    landscape: bool = True
    #: the template in ``templates/email/`` of the message that carries the form
    email_template: str = "form_issued"
    #: whether the subject unit returns the form (and so is reminded of it)
    remind_subject: bool = True

    @property
    def label(self) -> str:
        """The form's Chinese name (自评表 …)."""
        return FormKind(self.kind).label

    @property
    def code(self) -> str:
        """The letters of the visible form number (2022H1-ZP007)."""
        return FormKind(self.kind).code

    @abstractmethod
    def specs(self, view: CycleView) -> list[FormSpec]:
        """The forms of this kind for a cycle: one per subject, with its identity rows."""

    @abstractmethod
    def render(self, document, spec: FormSpec, *, form_no: str, deadline_text: str, office: str) -> None:
        """Write the body of one form (lines and tables) into ``document`` after its title, from ``spec`` alone:
        the forms are rendered wherever the flow's task runner puts the work (issue 29), away from the database."""

    @abstractmethod
    def record_return(self, session: Session, returned: ReturnedForm) -> tuple[str, dict]:
        """Check the filled-in cells and store them (all or nothing); ``InvalidInput`` with the
        reasons otherwise. Returns the summary for the sender's receipt and the details kept."""

    @abstractmethod
    def deadline(self, session: Session, plan: CyclePlan, *, today: date) -> date:
        """When forms of this kind issued ``today`` are due, from the cycle's plan."""

    @abstractmethod
    def recipients(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm) -> list[str]:
        """Who gets the email carrying ``form``."""

    def greeting(self, session: Session, settings: Settings, cycle: Cycle, form: IssuedForm, address: str) -> str:
        """How the email carrying ``form`` to ``address`` opens (称呼, before the colon): the unit it is sent to."""
        unit = session.get(Unit, form.subject_unit_id) if form.subject_unit_id else None
        return unit.short_name if unit else settings.office_name


#: every kind of form, by its stored value
KINDS: dict[FormKind, FormKindSpec] = {}


def register(cls: type[FormKindSpec]) -> type[FormKindSpec]:
    """Class decorator: register one instance of a kind under its ``kind``."""
    instance = cls()
    if instance.kind in KINDS and type(KINDS[instance.kind]) is not cls:
        raise ValueError(f"form kind {instance.kind!r} registered twice")
    KINDS[instance.kind] = instance
    return cls


def kind_spec(kind: str) -> FormKindSpec:
    """The registered kind for a stored or typed value."""
    try:
        return KINDS[kind]
    except KeyError:
        raise InvalidInput(f"未知的表格类型“{kind}”，应为 {'、'.join(str(k) for k in KINDS)} 之一。") from None


# --------------------------------------------------------------------------- helpers for kinds


def form_unit_codes(form: IssuedForm) -> list[str]:
    """The unit code of each row of a scoring or results sheet (the cell shows the short name)."""
    return [row[1] for row in form.rows if row[0] == "codes"]
