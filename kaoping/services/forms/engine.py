"""The form engine: build, sign and write the Word forms of one kind, and record what was issued.

What a form contains, how its body reads and how its return is recorded are the kind's
(``kaoping.services.forms.<kind>``, registered in ``KINDS``); the engine does the same for every
kind: the form number and version, the page, header and title, the signed identity, the file,
the ``IssuedForm`` record and the audit entry.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from kaoping.adapters.fanout import Fanout, serial
from kaoping.adapters.files import write_atomically, write_bytes_atomically
from kaoping.adapters.word import form_page, layout, writer
from kaoping.adapters.word.identity import FormIdentity, rows_digest, write_identity
from kaoping.domain.clock import local_date
from kaoping.domain.errors import InvalidInput
from kaoping.models import Cycle, FormKind, IssuedForm
from kaoping.models.types import utcnow
from kaoping.notifications.outbox import refuse_development_secret
from kaoping.records import audit
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.forms.kind import FormSpec, kind_spec
from kaoping.services.forms.view import CycleView
from kaoping.settings import Settings


@dataclass
class BuiltForm:
    form: IssuedForm
    path: Path
    created: bool  # False: same identity as before, file refreshed only
    subject_label: str


def specs_for(view: CycleView, kind: FormKind, units: list[str] | None = None) -> list[FormSpec]:
    """The forms of one kind for a cycle (``units``: only these subjects, by code)."""
    specs = kind_spec(kind).specs(view)
    if units:
        wanted = set(units)
        specs = [s for s in specs if s.subject in wanted]
    return specs


@dataclass(frozen=True)
class FormJob:
    """Everything one form's Word file is made of, as plain picklable values: rendered by ``render_job``
    wherever the fanout puts it (issue 29), while the numbers and records stay with the caller.
    (It carries the signing key: a remote Dask cluster must be one kaoping trusts, on TLS.)"""

    spec: FormSpec
    title: str
    identity: FormIdentity
    key: bytes
    deadline: date | None
    office: str


def render_job(job: FormJob) -> bytes:
    """The Word file of one form: a pure function of its job (no database, no settings, no clock)."""
    spec, identity, deadline = job.spec, job.identity, job.deadline
    kind = kind_spec(spec.kind)
    document = form_page.form_document(landscape=kind.landscape)
    header = document.sections[0].header.paragraphs[0]
    layout.add_run(header, f"表单编号：{identity.form_no}（第 {identity.version} 版） 请勿删改本表的编号、单位、指标等灰色栏目",
                   layout.BODY_FONT, size=layout.SIZE_5)
    deadline_text = f"{deadline.year}年{deadline.month}月{deadline.day}日" if deadline else "见通知"
    form_page.form_title(document, job.title)
    kind.render(document, spec, form_no=identity.form_no, deadline_text=deadline_text, office=job.office)
    write_identity(document, identity, job.key)
    document.core_properties.title = job.title
    document.core_properties.author = job.office
    return writer.docx_bytes(document)


def form_title(view: CycleView, kind: FormKind) -> str:
    return f"{cycle_label(view.cycle)}数字政府建设考评{kind_spec(kind).label}"


def render(spec: FormSpec, view: CycleView, identity: FormIdentity, key: bytes, *, deadline: date | None,
           office: str) -> bytes:
    return render_job(FormJob(spec, form_title(view, spec.kind), identity, key, deadline, office))


# --------------------------------------------------------------------------- issuing


def _form_no_count(session: Session, cycle: Cycle, kind: FormKind) -> int:
    """How many form numbers the cycle has given forms of this kind."""
    return session.exec(select(func.count(func.distinct(IssuedForm.form_no))).where(IssuedForm.cycle_id == cycle.id,
                                                                                     IssuedForm.kind == kind)).one()


def _form_no(cycle: Cycle, kind: FormKind, serial: int) -> str:
    return f"{cycle.code}-{kind_spec(kind).code}{serial:03d}"


def build_forms(
    session: Session, settings: Settings, cycle: Cycle, kind: FormKind, *, out_dir: Path | None = None,
    deadline: date | None = None, units: list[str] | None = None, actor: str, today: date | None = None,
    fanout: Fanout = serial,
) -> list[BuiltForm]:
    """Build (or rebuild) the forms of one kind. A form whose identity rows are unchanged keeps
    its number and version (only the file is refreshed); a changed one gets a new version,
    and a return of the old version is then refused. The files are rendered by ``fanout`` (issue 29)."""
    spec_of_kind = kind_spec(kind)
    kind = spec_of_kind.kind
    # A form signed with the built-in secret could be forged by anyone: not without an explicit development mode.
    refuse_development_secret(settings, spec_of_kind.label)
    view = CycleView(session, cycle)
    specs = specs_for(view, kind, units)
    if not specs:
        raise InvalidInput(f"{cycle.code} 没有需要发出的{spec_of_kind.label}（没有承担指标的单位或牵头考核单位）。")
    deadline = deadline or (today or local_date(utcnow(), settings.tz)) + timedelta(days=settings.form_deadline_days)
    key = settings.secret_key.get_secret_value().encode("utf-8")
    title = form_title(view, kind)
    # First the numbers and records, here; then every file, wherever ``fanout`` renders them (a pure function
    # of its job); then the files written and their digests recorded, in the order of the specs.
    planned = []
    # The forms in force, read once (not a query per subject), and the count of numbers given so far, counted on
    # as new numbers are given (not asked again for every form): a new form's number is the count + 1.
    currents: dict[str, IssuedForm] = {}
    for issued in session.exec(select(IssuedForm).where(IssuedForm.cycle_id == cycle.id, IssuedForm.kind == kind,
                                                        IssuedForm.current)):
        currents.setdefault(issued.subject, issued)
    numbers = _form_no_count(session, cycle, kind)
    for spec in specs:
        digest = rows_digest(spec.identity_rows)
        current = currents.get(spec.subject)
        created = current is None or current.rows_digest != digest or current.deadline != deadline
        if not created:
            form = current
        else:
            if current is not None:
                current.current = False
                session.add(current)
                session.flush()
            else:
                numbers += 1
            form = IssuedForm(
                cycle_id=cycle.id, kind=kind, subject=spec.subject, subject_unit_id=spec.subject_unit_id,
                version=(current.version + 1) if current else 1,
                form_no=current.form_no if current else _form_no(cycle, kind, numbers),
                rows=spec.identity_rows, rows_digest=digest, deadline=deadline, issued_by=actor,
            )
            session.add(form)
            session.flush()
            currents[spec.subject] = form
        identity = FormIdentity(cycle.code, str(kind), spec.subject, form.version, form.form_no, digest)
        planned.append((spec, form, created, FormJob(spec, title, identity, key, deadline, settings.office_name)))
    files = fanout(render_job, [job for *_, job in planned])
    built = []
    for (spec, form, created, _), data in zip(planned, files, strict=True):
        stored = settings.forms_dir / cycle.code / f"{form.form_no}-v{form.version}.docx"
        stored.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(stored, data)
        form.path, form.sha256 = str(stored), hashlib.sha256(data).hexdigest()
        session.add(form)
        target = stored
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{form.form_no}-{spec.subject_label}-{spec_of_kind.label}.docx"
            write_atomically(target, lambda tmp, stored=stored: shutil.copyfile(stored, tmp))
        built.append(BuiltForm(form, target, created, spec.subject_label))
    session.flush()
    new = [b for b in built if b.created]
    if new:
        audit.append(
            session, actor=actor, action=f"forms.issue.{kind}", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
            after={"forms": [f"{b.form.form_no} v{b.form.version} {b.subject_label}" for b in new],
                   "deadline": deadline.isoformat()},
            reason=f"生成{spec_of_kind.label}",
        )
    return built
