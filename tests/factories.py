"""Plain factory functions for tests (docs/architecture.md: factories are plain functions): state built through the services, on
a session, the way the CLI and the flows build it — without going through the CLI.

Each function opens its own transaction (``db.session_scope``) and commits, like one CLI
command; pass ``settings`` (the ``settings`` / ``initialized_db`` fixture).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from kaoping.models import AdjustmentKind, Component

from kaoping import db
from kaoping.adapters.uploads import read_upload
from kaoping.demo.people import component_rows, monitoring_rows, write_csv
from kaoping.domain.policy import load_policy
from kaoping.records import audit
from kaoping.services.cycles import cycle as cycles
from kaoping.services.cycles import points
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reference import registry

# The one import of the shared set-up for the whole suite (`kaoping init`); when it moves to
# kaoping.services.reference.setup, this is the only line to change.
from kaoping.services.reference.setup import initialize  # noqa: F401  (re-exported: conftest and tests use factories.initialize)
from kaoping.services.scoring import entry as score_entry
from kaoping.services.scoring import results, verification
from kaoping.settings import Settings
from tests import snapshots

ACTOR = "test:专班"  # who the factories act as (the `cli` fixture's KAOPING_ACTOR)


def copy_catalog(settings: Settings, *, from_year: int, to_year: int, folder: Path) -> None:
    """``kaoping catalog export`` of one year, imported as another year's catalog (``kaoping catalog import``)."""
    from kaoping.services.reference import catalog

    with db.session_scope(settings) as session:
        text = catalog.dump_export(catalog.export_catalog(session, from_year), "json")
    path = Path(folder) / f"catalog-{to_year}.json"
    path.write_text(text.replace(f'"year": {from_year}', f'"year": {to_year}'), encoding="utf-8")
    with db.session_scope(settings) as session:
        catalog.import_catalog(session, read_upload(path), year=to_year, actor=ACTOR)


DEFAULT_RESPONSIBILITIES_REASON = "测试：沿用默认承担规则"
DEFAULT_POINTS_REASON = "测试：牵头考核单位未明确分值，按平均分配"


def open_cycle(settings: Settings, code: str = "2022H1", *, policy: Path | None = None,
               default_responsibilities_reason: str = DEFAULT_RESPONSIBILITIES_REASON) -> None:
    """``kaoping cycle open CODE [--policy FILE] --accept-default-responsibilities REASON``: freeze
    catalog, units, responsibilities and policy (the tests accept the default 承担 rule)."""
    path = Path(policy) if policy else settings.data_dir / "policies" / "default.yaml"

    def build() -> dict:
        chosen = load_policy(path)
        with db.session_scope(settings) as session:
            cycles.open_cycle(session, code=code, policy=chosen, policy_source=path.name, actor=ACTOR,
                              default_responsibilities_reason=default_responsibilities_reason)
        return {}

    plain = policy is None and default_responsibilities_reason == DEFAULT_RESPONSIBILITIES_REASON
    snapshots.reuse(settings, ("open_cycle", code) if plain else None, settings.var_dir, build)


def import_teams(settings: Settings, path: Path | None = None) -> list[str]:
    """The field-visit teams (default: the demo's kaoping/data/demo/teams.yaml), as `kaoping visits teams import` stores them."""
    from kaoping.services.visits.schedule import import_teams as store

    path = path or settings.data_dir / "demo" / "teams.yaml"
    with db.session_scope(settings) as session:
        return store(session, Path(path).read_bytes(), source_name=Path(path).name, actor="test").teams


def accept_default_points(settings: Settings, code: str = "2022H1", *, reason: str = DEFAULT_POINTS_REASON) -> list[int]:
    """``kaoping points accept-defaults``: the team accepts the items still on default points."""
    with db.session_scope(settings) as session:
        return points.accept_default_points(session, get_cycle(session, code), reason=reason, actor=ACTOR)


def import_scores(settings: Settings, path: Path, *, component: str, cycle: str = "2022H1", source: str | None = None):
    """``kaoping scores import PATH --component C``: one file of scores; returns the service's outcome."""
    upload = read_upload(Path(path))
    with db.session_scope(settings) as session:
        return score_entry.import_score_file(session, get_cycle(session, cycle), Component(component), upload,
                                             actor=ACTOR, source=source)


def import_outside_results(settings: Settings, path: Path, *, component: str, source: str, cycle: str = "2022H1",
                           columns: dict[str, str] | None = None, rating_scale=None):
    """``kaoping opinion import`` / ``kaoping thirdparty import``: an outside platform's results, the file
    kept as the command keeps it (accepted, unchanged or refused)."""
    from kaoping.records.received import import_file
    from kaoping.services.surveys.opinion import (
        import_outside_results as import_results,
    )

    def service(session, upload):
        return import_results(session, get_cycle(session, cycle), Component(component), upload, source=source,
                              actor=ACTOR, columns=columns, rating_scale=rating_scale)

    return import_file(settings, Path(path), f"{component}.import", service)[1]


def allocate_points(settings: Settings, *, lead: str, points: dict[int, str], cycle: str = "2022H1") -> None:
    """``kaoping points set --lead LEAD 54=5 …``: a lead assessor's allocation of open points."""
    values = {number: Decimal(value) for number, value in points.items()}
    with db.session_scope(settings) as session:
        score_entry.allocate_points(session, get_cycle(session, cycle), lead_written=lead, points=values, actor=ACTOR,
                                    source="测试")


def verify_self_scored(settings: Settings, cycle: str = "2022H1") -> list[str]:
    """``kaoping verify confirm --all-self-scored``."""
    with db.session_scope(settings) as session:
        return verification.confirm_all_self_scored(session, get_cycle(session, cycle), actor=ACTOR)


def sign_off(settings: Settings, cycle: str = "2022H1", *, note: str = "") -> None:
    """``kaoping verify signoff``: the specialist team's sign-off, which freezes the scores."""
    with db.session_scope(settings) as session:
        verification.signoff(session, get_cycle(session, cycle), actor=ACTOR, note=note)


def adjust_score(settings: Settings, *, unit: str, indicator: int, score: str, reason: str, cycle: str = "2022H1") -> None:
    """``kaoping verify adjust``: the specialist team replaces one item's score, with a reason."""
    with db.session_scope(settings) as session:
        verification.adjust(session, get_cycle(session, cycle), unit=unit, indicator=indicator, score=Decimal(score),
                            reason=reason, actor=ACTOR)


def add_line(settings: Settings, *, unit: str, kind: str, reason: str, points: str | None = None, evidence: str = "",
             cycle: str = "2022H1") -> None:
    """``kaoping verify bonus|deduct|veto``: a bonus, deduction (kind ``deduction``) or veto line."""
    with db.session_scope(settings) as session:
        verification.add_line(session, get_cycle(session, cycle), unit=unit, kind=AdjustmentKind(kind),
                              points=None if points is None else Decimal(points), reason=reason, evidence=evidence,
                              actor=ACTOR)


def reopen_cycle(settings: Settings, code: str = "2022H1", *, reason: str) -> None:
    """``kaoping cycle reopen CODE --reason …``."""
    with db.session_scope(settings) as session:
        cycles.reopen(session, get_cycle(session, code), actor=ACTOR, reason=reason)


def import_responsibilities(settings: Settings, path: Path, *, year: int = 2022):
    """``kaoping responsibilities import PATH --year YEAR``: the 承担 list (the file kept as the command keeps it)."""
    from kaoping.records.received import import_file
    from kaoping.services.reference import responsibilities

    return import_file(settings, Path(path), "responsibilities",
                       lambda session, upload: responsibilities.import_responsibilities(session, upload, year=year,
                                                                                      actor=ACTOR))[1]


def import_units(settings: Settings, path: Path) -> None:
    """``kaoping units import PATH``: add or update units of the registry."""
    upload = read_upload(Path(path))
    with db.session_scope(settings) as session:
        registry.import_registry(session, upload, actor=ACTOR)


def audit_chain_ok(settings: Settings) -> bool:
    """What ``kaoping audit verify`` checks: the signed chain of audit entries is intact."""
    with db.session_scope(settings) as session:
        return audit.verify_chain(session, settings.secret_key.get_secret_value().encode()).ok


def request_signoff(settings: Settings, stage: str, cycle: str = "2022H1") -> None:
    """``kaoping signoff request --stage STAGE``: email the signer a one-time code."""
    from kaoping.services.signoff.signatures import request_signoff as request

    with db.session_scope(settings) as session:
        request(session, settings, get_cycle(session, cycle), stage, actor=ACTOR)


def give_signoff(settings: Settings, stage: str, *, code: str, approve: bool = True, comments: str = "",
                 cycle: str = "2022H1"):
    """``kaoping signoff give``: the signer's decision with the emailed code; returns the service's outcome."""
    from kaoping.services.signoff.signatures import give_signoff as give

    with db.session_scope(settings) as session:
        return give(session, settings, get_cycle(session, cycle), stage, code=code, approve=approve, comments=comments,
                    actor=ACTOR)


def emailed_code(settings: Settings, stage: str | None = None, *, to: str | None = None) -> str:
    """The one-time code of the newest sign-off email waiting in the outbox (sent to the stage's signer,
    or to ``to``), read as the signer reads it: from the email as it is sent (the outbox keeps the code
    only sealed)."""
    import email
    import re
    from email import policy

    from sqlmodel import select

    from kaoping.models import OutboxMessage
    from kaoping.notifications.delivery import build_email

    if stage is not None:
        to = settings.verifier_email if stage == "verification" else settings.approver_email
    with db.session_scope(settings) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")
                            .order_by(OutboxMessage.id.desc())).all()
        row = rows[0] if to is None else next(r for r in rows if to in r.to)
        if stage is not None:
            assert row is rows[0], "the newest sign-off email went to another signer"
        sent = email.message_from_bytes(build_email(settings, row, session), policy=policy.default)
    return re.search(r"验证码：(\d{6})", sent.get_body(("plain",)).get_content()).group(1)


WAITING_RUN = "6a1f0c2e-0000-4000-8000-000000000002"  # the Prefect run that waits for a signature (`ask_signer`)
_reply_numbers = iter(range(1, 1_000_000))


def ask_signer(settings: Settings, stage: str = "verification", cycle: str = "2022H1") -> tuple[str, str, str]:
    """What the cycle flow does at a sign-off: email the signer a one-time code, naming the waiting run
    (``WAITING_RUN``); returns (the code, the email's Message-ID, its subject)."""
    from sqlmodel import select

    from kaoping.models import OutboxMessage
    from kaoping.services.signoff.signatures import ask_signer as ask

    with db.session_scope(settings) as session:
        ask(session, settings, cycle_code=cycle, stage=stage, flow_run_id=WAITING_RUN, link="", actor="flow:test")
    with db.session_scope(settings) as session:
        message = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_request")
                               .order_by(OutboxMessage.id.desc())).first()
        message_id, subject = message.message_id, message.subject
    return emailed_code(settings), message_id, subject


def signoff_reply(settings: Settings, text: str, *, to: str = "", sender: str | None = None, subject: str = "",
                  message_id: str = "", references: tuple[str, ...] = ()):
    """An email reply (``text``, from the verifier unless ``sender``, in reply to Message-ID ``to``) taken in
    as the mailbox takes it; returns the service's outcome."""
    from datetime import UTC, datetime

    from kaoping.domain.incoming import IncomingMessage
    from kaoping.services.signoff.reply import take_reply

    message = IncomingMessage(message_id=message_id or f"<reply-{next(_reply_numbers)}@mail.baotou.example>",
                              sender=sender or settings.verifier_email, subject=subject or "回复：签字", text=text,
                              received_at=datetime(2022, 7, 9, 2, 0, tzinfo=UTC), in_reply_to=to, references=references)
    with db.session_scope(settings) as session:
        return take_reply(session, settings, message)


def result_rows(settings: Settings, cycle: str = "2022H1") -> list[dict]:
    """What ``kaoping results --format json`` prints, as Python rows (numbers as 2-decimal strings)."""
    with db.session_scope(settings) as session:
        inputs, computed = results.compute_cycle(session, get_cycle(session, cycle))
        return results.result_rows(inputs, computed)


def score_files(settings: Settings, code: str, folder: Path, *, seed: int = 2022) -> dict[str, Path]:
    """CSV files with plausible scores of every kind for an open cycle."""
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        files = {"monitoring": write_csv(monitoring_rows(session, cycle, seed=seed), folder / f"{code}-monitoring.csv")}
        for component in (Component.field, Component.opinion, Component.third_party):
            files[component.value] = write_csv(
                component_rows(session, cycle, component, seed=seed), folder / f"{code}-{component.value}.csv"
            )
    return files


def scored_cycle(settings: Settings, folder: Path, code: str = "2022H1", *, seed: int = 2022,
                 verify: bool = True, policy: Path | None = None) -> dict[str, Path]:
    """Open ``code`` and import a full set of scores (and, with ``verify``, confirm the self-scored
    items and accept the items left on default points: ready for the verification sign-off)."""
    assert isinstance(settings, Settings), "scored_cycle(settings, folder, ...) builds through the services: pass settings, not cli"
    key = ("scored_cycle", code, seed, verify) if policy is None else None  # tests/snapshots.py: built once, copied
    return snapshots.reuse(settings, key, Path(folder), lambda: _scored_cycle(settings, Path(folder), code, seed=seed,
                                                                              verify=verify, policy=policy))


def _scored_cycle(settings: Settings, folder: Path, code: str, *, seed: int, verify: bool,
                  policy: Path | None) -> dict[str, Path]:
    open_cycle(settings, code, policy=policy)
    files = score_files(settings, code, folder, seed=seed)
    for component, path in files.items():
        import_scores(settings, path, cycle=code, component=component)
    if verify:
        verify_self_scored(settings, code)
        accept_default_points(settings, code)
    return files


# --------------------------------------------------------------------------- mail


def queue_mail(settings: Settings, n: int = 1, *, to: str = "liaison@150202.baotou.example",
               attachment: bytes | None = None, key: str = "m") -> None:
    """``n`` messages in the outbox (keys ``{key}-0`` …), to ``to`` with the office in copy, a form attached if given."""
    from kaoping.notifications.outbox import Attachment, queue

    with db.session_scope(settings) as session:
        for i in range(n):
            files = [Attachment("2022H1-ZP001-东河区-自评表.docx", attachment)] if attachment else []
            queue(session, settings, key=f"{key}-{i}", kind="form_issued", to=[to], cc=["zhuanban@baotou.example"],
                  subject=f"【考评】请填报2022年上半年数字政府建设考评自评表（{i}）", text=f"您好，第 {i} 封。",
                  html=f"<p>您好，第 {i} 封。</p>", attachments=files, cycle_code="2022H1")


def outbox_statuses(settings: Settings) -> dict[str, str]:
    """Each outbox message's status, by its key."""
    from sqlmodel import select

    from kaoping.models import OutboxMessage

    with db.session_scope(settings) as session:
        return {m.idempotency_key: m.status for m in session.exec(select(OutboxMessage))}


# --------------------------------------------------------------------------- forms


def build(settings: Settings, kind, folder: Path, *units: str, deadline=date(2022, 7, 10), code: str = "2022H1") -> list[Path]:
    """``kaoping forms build``: the Word forms of one kind (for the given units, or all) under ``folder/out``."""
    from kaoping.services.forms import build_forms

    with db.session_scope(settings) as session:
        built = build_forms(session, settings, get_cycle(session, code), kind, out_dir=Path(folder) / "out",
                            deadline=deadline, units=list(units) or None, actor="test")
    return [b.path for b in built]


def send_forms(settings: Settings, kind, *, deadline: date | None = None, units: list[str] | None = None,
               code: str = "2022H1"):
    """``kaoping forms send --kind KIND`` (``kaoping thirdparty request`` for the third party): the forms built
    and one message per recipient queued; returns the service's outcome."""
    from kaoping.services.forms import issuing

    with db.session_scope(settings) as session:
        return issuing.send_forms(session, settings, get_cycle(session, code), kind, deadline=deadline, units=units,
                                  actor=ACTOR)


def take_in(settings: Settings, path: Path, *, sender: str = "", cycle: str | None = None):
    """``kaoping intake PATH [--sender ADDRESS]``: one returned file through the intake; returns its outcome."""
    from kaoping.services.returns.intake import receive_path

    return receive_path(settings, Path(path), sender=sender, expected_cycle=cycle, actor=ACTOR, channel="cli")


def main_table(document, first_header: str):
    """The table a person fills in (the scoring sheet's main table has 7 columns, its allocation table 5)."""
    return next(t for t in document.tables if t.rows[0].cells[0].text == first_header and
                (first_header != "指标编号" or len(t.rows[0].cells) == 7))


def fill_all_progress(path: Path, out: Path, progress: str = "完成") -> Path:
    """A self-assessment with every 完成进度 filled in, saved as Word would."""
    import docx

    from kaoping.adapters.word.layout import fill_cell

    document = docx.Document(path)
    for row in main_table(document, "指标编号").rows[1:]:
        fill_cell(row.cells[5], progress)
    document.save(out)
    return out


# --------------------------------------------------------------------------- documents


def approve(settings: Settings, code: str = "2022H1") -> None:
    """Mark the results approved (审定) so the documents can be published; the sign-offs are tested elsewhere."""
    from kaoping.models import CycleStatus

    with db.session_scope(settings) as session:
        cycle = get_cycle(session, code)
        cycle.status = CycleStatus.approved
        session.add(cycle)


def write_reports(settings: Settings, out: Path, *, cycle: str | None = None, annual: int | None = None, signed: date,
           publish: bool = False, number: int | None = None, report_number: int | None = None):
    """``kaoping report --cycle CODE|--annual YEAR --out DIR --date DAY [--publish [--number N]]``: the 通报,
    报告, 反馈函 and workbook (a preview unless ``publish``); returns the service's ``ReportSet``."""
    from kaoping.services.reports.annual import build_annual_reports
    from kaoping.services.reports.documents import build_reports

    with db.session_scope(settings) as session:
        if annual is not None:
            return build_annual_reports(session, settings, annual, Path(out), publish=publish, number=number,
                                        report_number=report_number, signed=signed, actor=ACTOR)
        return build_reports(session, settings, get_cycle(session, cycle), Path(out), publish=publish, number=number,
                             report_number=report_number, signed=signed, actor=ACTOR)


# --------------------------------------------------------------------------- objections (异议期)


def policy_without_objections(settings: Settings, folder: Path) -> Path:
    """The default policy file with the objection stage switched off (verification → approval directly)."""
    default = (settings.data_dir / "policies" / "default.yaml").read_text(encoding="utf-8")
    assert "  enabled: true" in default
    return write_text(Path(folder) / "policy-without-objections.yaml", default.replace("  enabled: true", "  enabled: false"))


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def open_objection_window(settings: Settings, *, today: date, cycle: str = "2022H1"):
    """What the cycle flow does after the verification sign-off: the provisional 反馈函 to every
    unit, the window open for the policy's working days from ``today``."""
    from kaoping.services.reports.provisional import open_window

    with db.session_scope(settings) as session:
        return open_window(session, settings, get_cycle(session, cycle), today=today, actor=ACTOR)


def pass_objection_window(settings: Settings, cycle: str = "2022H1") -> None:
    """A window that opened and closed long ago without objections: the approval may be asked for."""
    open_objection_window(settings, today=date(2022, 7, 11), cycle=cycle)


def objection_form(settings: Settings, unit_code: str = "150204", cycle: str = "2022H1") -> bytes:
    """The blank 异议表 sent to a unit with its provisional 反馈函 (``open_objection_window`` wrote it)."""
    [path] = (settings.var_dir / "objections" / cycle).glob(f"{unit_code}-*-异议表.docx")
    return path.read_bytes()


def filled_objection_form(settings: Settings, rows: list[tuple[str, str, str]], unit_code: str = "150204") -> bytes:
    """The unit's 异议表 with ``rows`` (指标序号, 异议内容, 依据) typed in, as Word saves it."""
    import io

    import docx

    document = docx.Document(io.BytesIO(objection_form(settings, unit_code)))
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells][:3] == ["序号", "指标序号", "异议内容"]
    for row, values in zip(table.rows[1:], rows, strict=False):
        for cell, value in zip(row.cells[1:], values, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def record_objection(settings: Settings, *, unit: str, numbers: list[int], text: str, evidence: str = "",
                     received_at=None, cycle: str = "2022H1") -> list[int]:
    """``kaoping objections add``: an objection received by phone or on paper, recorded by the team."""
    from kaoping.services.objections import record as objections

    with db.session_scope(settings) as session:
        return [o.id for o in objections.record(session, settings, get_cycle(session, cycle), unit=unit, numbers=numbers,
                                                disputed=text, evidence=evidence, received_at=received_at, actor=ACTOR)]


def decide_objection(settings: Settings, objection_id: int, *, uphold: bool, reason: str, score: str | None = None,
                     indicator: int | None = None, cycle: str = "2022H1"):
    """``kaoping objections decide ID --uphold|--reject --reason … [--score …]``."""
    from kaoping.services.objections import record as objections

    with db.session_scope(settings) as session:
        decided = objections.decide(session, settings, get_cycle(session, cycle), objection_id, uphold=uphold,
                                    reason=reason, actor=ACTOR, score=None if score is None else Decimal(score),
                                    indicator=indicator)
        return decided.status
def returned_cycle(settings: Settings, folder: Path, code: str = "2022H1") -> None:
    """``code`` opened and planned as the cycle flow does (2022 dates, default 承担 rule), every form
    issued and returned through the intake as the demo's simulated people fill them, the items on
    default points accepted: the cycle flow's next step is the verification sign-off. The mail
    the stages queued stays in the outbox (the flow sends it)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kaoping.models import FormKind

    from kaoping.demo.people import People, issued_forms
    from kaoping.services.returns.intake import receive_path
    from kaoping.services.stages import steps as stages

    day = date(2022, 6, 20)
    # The default visit window: after the self-assessment deadline (2022-07-11–07-22), results due 07-26.
    choice = stages.PlanChoice(self_assessment_deadline=date(2022, 7, 8),
                               default_responsibilities_reason="测试：沿用默认承担规则")
    with db.session_scope(settings) as session:
        stages.prepare(session, settings, code, choice, today=day, actor=ACTOR)
    people = People(2022)

    def issue(*kinds: FormKind) -> None:
        for kind in kinds:
            with db.session_scope(settings) as session:
                cycle = get_cycle(session, code)
                if kind is FormKind.field_visit:
                    stages.arrange_visits(session, settings, cycle)
                stages.issue(session, settings, cycle, kind, today=day)

    def give_back(kind: FormKind, at: str) -> None:
        with db.session_scope(settings) as session:
            forms = [(f.form_no, Path(f.path), sender) for f, _, sender in issued_forms(session, get_cycle(session, code),
                                                                                         kind, settings)]
        for form_no, path, sender in forms:
            returned = folder / f"{form_no}.docx"
            returned.write_bytes(people.fill(kind, path.read_bytes()))
            outcome = receive_path(settings, returned, sender=sender, actor=ACTOR,
                                   received_at=datetime.fromisoformat(at).replace(tzinfo=ZoneInfo("Asia/Shanghai")))
            assert outcome.accepted, outcome.reason

    folder.mkdir(parents=True, exist_ok=True)
    issue(FormKind.self_assessment, FormKind.third_party, FormKind.opinion)
    give_back(FormKind.self_assessment, "2022-07-06T10:00")
    issue(FormKind.lead_scoring, FormKind.field_visit)  # both copy what the units reported
    give_back(FormKind.lead_scoring, "2022-07-12T16:00")
    accept_default_points(settings, code)
    for kind in (FormKind.third_party, FormKind.opinion):
        give_back(kind, "2022-07-13T09:00")
    give_back(FormKind.field_visit, "2022-07-25T09:00")
