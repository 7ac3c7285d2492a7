"""Outgoing Word forms (python-docx) and their kinds: self-assessment forms to units, scoring
sheets to lead assessors, field visit records, and the third-party and public-opinion results
sheets.

Each form is a table whose identity cells (indicator, unit, points) are filled in by kaoping and
whose other cells are filled in by people. One module per kind (``kind.py`` is the interface)
says which tables are written and read back, what the forms hold, how their returns are
recorded, when they are due and who gets them; ``KINDS`` holds them by kind. The engine
(``engine.py``) builds, signs and files the forms of any kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from kaoping.models import FormKind

# The kinds: importing a kind's module registers it (``@register``). A new kind is one more name here.
from kaoping.services.forms import (
    field_visit,
    lead_scoring,
    opinion,
    self_assessment,
    third_party,
)
from kaoping.services.forms.engine import BuiltForm, build_forms, render, specs_for
from kaoping.services.forms.field_visit import FIELD_VISIT_ROWS
from kaoping.services.forms.kind import (
    KINDS,
    FormKindSpec,
    FormSpec,
    ReturnedForm,
    TableLayout,
    form_unit_codes,
    kind_spec,
    register,
)
from kaoping.services.forms.self_assessment import PROGRESS_CHOICES
from kaoping.services.forms.view import CycleView


class _Layouts(Mapping):
    """``FORM_LAYOUTS[kind][table]``: every registered kind's table layouts (read-only view)."""

    def __getitem__(self, kind: FormKind) -> dict[str, TableLayout]:
        return KINDS[kind].tables

    def __iter__(self) -> Iterator[FormKind]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


FORM_LAYOUTS: Mapping[FormKind, dict[str, TableLayout]] = _Layouts()

__all__ = [
    "FIELD_VISIT_ROWS", "FORM_LAYOUTS", "KINDS", "PROGRESS_CHOICES", "BuiltForm", "CycleView", "FormKindSpec", "FormSpec",
    "ReturnedForm", "TableLayout", "build_forms", "field_visit", "form_unit_codes", "kind_spec", "lead_scoring", "opinion",
    "register", "render", "self_assessment", "specs_for", "third_party",
]
