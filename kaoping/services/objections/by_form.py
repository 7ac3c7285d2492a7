"""Objections by form (异议表), and what the team does with the held ones.

A unit returns the objection form that came with its provisional 反馈函 — as an attachment to a
reply or to any email (``take_message``, asked by the mailbox before the form intake), or dropped
in the inbox folder or given to ``kaoping intake`` (``take_form``, which the form intake hands every
file signed as an objection form, so it is never taken for a self-assessment). The rules are the
reply's: only the unit's registered addresses (a stranger's form is held, unanswered); nothing after
the window (refused with the reason); each filled row one objection, acknowledged with one receipt
and routed to the item's lead assessor; a form that cannot be read, or has nothing filled in, is
refused with what to correct. The file is kept whatever becomes of it.

Held replies and forms are listed, released and rejected here (``kaoping objections held|release|
reject``), not by the form intake's ``kaoping intake held``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlmodel import Session, select

from kaoping.adapters.uploads import Upload
from kaoping.adapters.word.returned import ReturnedFile, recognise, recognise_attachments
from kaoping.domain.clock import local_date, local_time
from kaoping.domain.errors import InvalidInput, KaopingError, NotFound
from kaoping.domain.incoming import IncomingMessage
from kaoping.models import Cycle, Objection, ObjectionSource, ReceivedFile
from kaoping.models.types import utcnow
from kaoping.notifications.outbox import queue, replying_to
from kaoping.notifications.render import render, when
from kaoping.records import audit
from kaoping.records.received import keep_received
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.objections import form as objection_form
from kaoping.services.objections import record as objections
from kaoping.services.objections.form import ReturnedObjectionForm
from kaoping.services.objections.record import PURPOSE, ReplyOutcome, key_part
from kaoping.services.reference.contacts import unit_contacts
from kaoping.services.scoring.entry import CycleContext
from kaoping.settings import Settings

ACTOR = "mail:objections"


@dataclass
class FormOutcome:
    """What became of one returned objection form."""

    accepted: bool
    held: bool = False
    reason: str = ""
    summary: str = ""
    cycle_code: str = ""
    unit: str = ""
    form_no: str = ""
    objection_ids: list[int] = field(default_factory=list)  # recorded from this form now
    received_file_id: int | None = None
    repeated_ids: list[int] = field(default_factory=list)  # recorded before from the same rows (a form sent again)


def _refuse(session: Session, settings: Settings, upload: Upload, *, sender: str, received_at: datetime, reason: str,
            details: dict, form: ReturnedObjectionForm | None) -> FormOutcome:
    kept = keep_received(session, settings, upload, purpose=PURPOSE, status="refused", reason=reason, sender=sender,
                         details=details)
    if sender:
        rendered = render("objection_refused", settings, greeting=form.unit_name if form else "您好", you="你单位" if form else "您",
                          period=cycle_label(form.cycle) if form else "", reason=reason,
                          received=when(received_at, settings), office_email=settings.office_email)
        queue(session, settings, key=f"objection-refused:{objections.key_part(details.get('message_id', '')) or kept.sha256}:{kept.sha256[:12]}",
              kind="objection_refused", to=[sender], subject=rendered.subject, text=rendered.text, html=rendered.html,
              cycle_code=form.cycle.code if form else None)
    audit.append(session, actor=ACTOR, action="objections.form_refused",
                 entity=f"cycle:{form.cycle.code}/unit:{form.unit_code}" if form else f"received:{kept.id}",
                 cycle_code=form.cycle.code if form else None, after={"sender": sender, "file": upload.name}, reason=reason)
    return FormOutcome(False, reason=reason, cycle_code=form.cycle.code if form else "", unit=form.unit_name if form else "",
                       form_no=form.form_no if form else "", received_file_id=kept.id)


def _already(session: Session, upload: Upload) -> ReceivedFile | None:
    """The same bytes accepted before as an objection form (a re-send records nothing twice)."""
    return next((r for r in session.exec(select(ReceivedFile).where(ReceivedFile.sha256 == upload.sha256,
                                                                   ReceivedFile.purpose == PURPOSE,
                                                                   ReceivedFile.status == "accepted"))
                 if (r.details or {}).get("part") == "form"), None)


def take_form(session: Session, settings: Settings, file: Upload | ReturnedFile, *, sender: str = "",
              received_at: datetime | None = None, channel: str = "mail", actor: str = ACTOR, message_id: str = "",
              evidence: list[dict] | None = None) -> FormOutcome:
    """One returned objection form, in the caller's transaction: recorded, held or refused (see the
    module's docstring). ``channel`` "cli" without a sender is the team entering a form handed in on
    paper or by hand (trusted, the receipt goes to the unit's contacts); "inbox"/"mail" without a
    sender is held. ``evidence``: the files that came with it, kept already. ``file``: the form as
    the intake recognised it (read once), or its bytes."""
    returned = file if isinstance(file, ReturnedFile) else recognise(file)
    upload = returned.upload
    received_at = received_at or utcnow()
    sender = (sender or "").strip().lower()
    details = {"part": "form", "message_id": message_id, "received_at": received_at.isoformat(), "channel": channel}
    try:
        form = objection_form.recognise(session, settings, returned)
    except KaopingError as exc:
        return _refuse(session, settings, upload, sender=sender, received_at=received_at, reason=str(exc), details=details,
                       form=None)
    details |= {"cycle": form.cycle.code, "unit": form.unit_code, "form_no": form.form_no,
                "evidence": [e["received_file_id"] for e in evidence or []]}
    same = _already(session, upload)
    if same is not None:
        keep_received(session, settings, upload, purpose=PURPOSE, status="unchanged", sender=sender,
                      details={**details, "same_as": same.id})
        first = (same.details or {}).get("received_at")
        when = local_time(datetime.fromisoformat(first) if first else same.received_at, settings.tz)
        ids = list((same.details or {}).get("objections", []))
        _tell_repeated(session, settings, form, [session.get(Objection, i) for i in ids], sender=sender,
                       received_at=received_at, key=f"{same.id}:{key_part(message_id) or upload.sha256[:16]}")
        return FormOutcome(True, summary=f"与 {when} 收到的异议表完全相同，未重复登记",
                           cycle_code=form.cycle.code, unit=form.unit_name, form_no=form.form_no,
                           repeated_ids=ids, received_file_id=same.id)
    trusted = channel == "cli" and not sender
    if not trusted and sender not in objections.unit_addresses(session, form.unit_id) | {settings.office_email.lower()}:
        reason = (f"{upload.name}（{form.form_no}，{form.unit_name}的{objection_form.LABEL}）的发件人 {sender or '（无）'} "
                  f"不是{form.unit_name}在考评对象名录中登记的邮箱：已暂存，待专班核实"
                  f"（属实的用 `kaoping objections release 编号` 受理），未回复发件人。")
        kept = keep_received(session, settings, upload, purpose=PURPOSE, status="held", reason=reason, sender=sender,
                             details=details)
        audit.append(session, actor=ACTOR, action="objections.held", entity=f"cycle:{form.cycle.code}/unit:{form.unit_code}",
                     cycle_code=form.cycle.code, after={"sender": sender, "form_no": form.form_no, "file": upload.name},
                     reason=reason)
        return FormOutcome(False, held=True, reason=reason, cycle_code=form.cycle.code, unit=form.unit_name,
                           form_no=form.form_no, received_file_id=kept.id)
    try:
        rows = _check(session, settings, form, upload, received_at)
    except KaopingError as exc:
        return _refuse(session, settings, upload, sender=sender, received_at=received_at, reason=str(exc), details=details,
                       form=form)
    fresh, repeated = _split_repeated(session, form, rows)
    if not fresh:  # the same rows again (saved anew by Word, or sent twice): nothing recorded twice, the unit told
        kept = keep_received(session, settings, upload, purpose=PURPOSE, status="unchanged", sender=sender,
                             details={**details, "same_rows_as": [o.id for o in repeated]})
        _tell_repeated(session, settings, form, repeated, sender=sender, received_at=received_at,
                       key=f"{kept.id}:{key_part(message_id) or upload.sha256[:16]}")
        return FormOutcome(True, summary=f"所填 {len(repeated)} 项异议此前已登记（第 {'、'.join(str(o.id) for o in repeated)} 号），"
                                         "未重复登记", cycle_code=form.cycle.code, unit=form.unit_name, form_no=form.form_no,
                           repeated_ids=[o.id for o in repeated], received_file_id=kept.id)
    kept = keep_received(session, settings, upload, purpose=PURPOSE, status="accepted", sender=sender, details=details)
    return _record(session, settings, form, fresh, kept, sender=sender, received_at=received_at, actor=actor,
                   message_id=message_id, evidence=evidence or [], repeated=repeated)


def _split_repeated(session: Session, form: ReturnedObjectionForm, rows) -> tuple[list, list[Objection]]:
    """The rows not recorded before from this unit's forms, and the objections the others repeat
    (same indicators, same text): a form sent twice, or sent again with a row added, records each row once."""
    known: dict[tuple, list[Objection]] = {}
    for o in session.exec(select(Objection).where(Objection.cycle_id == form.cycle.id, Objection.unit_id == form.unit_id,
                                                  Objection.source == ObjectionSource.form).order_by(Objection.id)):
        known.setdefault((o.disputed, o.evidence), []).append(o)
    fresh, repeated = [], []
    for row in rows:
        same = [o for o in known.get((row.disputed.strip(), row.evidence.strip()), [])
                if o.indicator_number in row.numbers or (not row.numbers and o.indicator_number is None)]
        if same and {o.indicator_number for o in same} >= set(row.numbers):
            repeated += [o for o in same if o not in repeated]
        else:
            fresh.append(row)
    return fresh, repeated


def _tell_repeated(session: Session, settings: Settings, form: ReturnedObjectionForm, repeated: list, *, sender: str,
                   received_at: datetime, key: str) -> None:
    """The unit is told its form was taken before (only at its registered address: a stranger learns nothing)."""
    repeated = [o for o in repeated if o is not None]
    if not repeated or not sender or sender not in objections.unit_addresses(session, form.unit_id):
        return
    rendered = render("objection_received", settings, greeting=form.unit_name, unit=form.unit_name,
                      period=cycle_label(form.cycle), received=when(received_at, settings), form_no=form.form_no,
                      items=[], repeated=[o.id for o in repeated], unclassified=False, attachments=0,
                      attachment_note="")
    queue(session, settings, key=f"objection-duplicate:{key}"[:200], kind="objection_received", to=[sender],
          subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=form.cycle.code)


def _check(session: Session, settings: Settings, form: ReturnedObjectionForm, upload: Upload, received_at: datetime):
    objections.check_window(session, form.cycle, received_at, settings.tz)
    return objection_form.read_rows(session, form, upload)


def _record(session: Session, settings: Settings, form: ReturnedObjectionForm, rows, kept: ReceivedFile, *, sender: str,
            received_at: datetime, actor: str, message_id: str, evidence: list[dict],
            repeated: list[Objection] = ()) -> FormOutcome:
    """Each filled row one objection (source: form), one receipt for the whole form."""
    objector = "" if sender == settings.office_email.lower() else sender
    attachments = [{"received_file_id": kept.id, "filename": kept.filename, "sha256": kept.sha256, "form": True}, *evidence]
    created = []
    for row in rows:
        created += objections.record(session, settings, form.cycle, unit=form.unit_name, numbers=list(row.numbers),
                                     disputed=row.disputed, evidence=row.evidence, source=ObjectionSource.form,
                                     sender=objector, received_at=received_at, actor=(actor or ACTOR)[:64],
                                     message_id=message_id, attachments=attachments, receipt=False)
    ctx = CycleContext(session, form.cycle)
    objections.send_receipt(session, settings, form.cycle, ctx, created,
                            to=[objector] if objector else unit_contacts(session, form.unit_id), form_no=form.form_no,
                            repeated=[o.id for o in repeated])
    ids = [o.id for o in created]
    kept.details = {**(kept.details or {}), "objections": ids}
    session.add(kept)
    again = f"；另有 {len(repeated)} 项此前已登记，未重复登记" if repeated else ""
    return FormOutcome(True, summary=f"{objection_form.LABEL}已收到：登记异议 {len(ids)} 项（第 {'、'.join(map(str, ids))} 号），"
                                     f"已转牵头考核单位核实{again}", cycle_code=form.cycle.code, unit=form.unit_name,
                       form_no=form.form_no, objection_ids=ids, received_file_id=kept.id)


# --------------------------------------------------------------------------- an email carrying the form


def take_message(session: Session, settings: Settings, message: IncomingMessage,
                 files: tuple[ReturnedFile, ...] | None = None) -> ReplyOutcome | None:
    """An email that carries one or more objection forms (a reply to the provisional 反馈函 or not):
    each form taken as above, the other attachments kept as the evidence and the text kept with
    them. ``None`` when it carries none — or when it also carries another kind of kaoping form,
    which the form intake then takes, each file on its own (objection forms included). ``files``:
    the attachments as the mailbox recognised them (``recognise_attachments``)."""
    files = files if files is not None else recognise_attachments(message)
    kinds = [f.kind for f in files]
    if objection_form.KIND not in kinds or any(k not in (None, objection_form.KIND) for k in kinds):
        return None
    done = objections.recorded_from(session, message.message_id)
    if done:
        cycle = session.get(Cycle, done[0].cycle_id)
        unit = CycleContext(session, cycle).name(done[0].unit_id)
        return ReplyOutcome(True, cycle.code, unit, [o.id for o in done], reason="此前已登记")
    sender = (message.sender or "").strip().lower()
    stamp = local_date(message.received_at, settings.tz).isoformat()
    common = {"message_id": message.message_id, "received_at": message.received_at.isoformat()}
    body = Upload(f"异议邮件-{stamp}.txt", f"主题：{message.subject}\n发件人：{message.sender}\n\n{message.text}".encode())
    keep_received(session, settings, body, purpose=PURPOSE, status="kept", sender=sender, details={**common, "part": "body"})
    evidence = []
    for attachment, kind in zip(message.attachments, kinds, strict=True):
        if kind is None:
            kept = keep_received(session, settings, Upload(attachment.filename or "附件", attachment.content), purpose=PURPOSE,
                                 status="kept", sender=sender, details={**common, "part": "attachment"})
            evidence.append({"received_file_id": kept.id, "filename": kept.filename, "sha256": kept.sha256})
    outcomes = [take_form(session, settings, replace(f, upload=Upload(a.filename or f"{objection_form.LABEL}.docx", a.content)),
                          sender=sender, received_at=message.received_at, channel="mail", message_id=message.message_id,
                          evidence=evidence)
                for a, f in zip(message.attachments, files, strict=True) if f.kind == objection_form.KIND]
    first = outcomes[0]
    return ReplyOutcome(any(o.accepted for o in outcomes), first.cycle_code, first.unit,
                        [i for o in outcomes for i in o.objection_ids], held=any(o.held for o in outcomes),
                        reason="；".join(o.reason or o.summary for o in outcomes if o.reason or not o.accepted or o.summary
                                        and "未重复登记" in o.summary),
                        received_file_ids=[o.received_file_id for o in outcomes if o.received_file_id],
                        refused=any(not o.accepted and not o.held for o in outcomes))


# --------------------------------------------------------------------------- held for the team


def held(session: Session) -> list[ReceivedFile]:
    """Replies and objection forms from an address the unit did not register, held for the team."""
    return [r for r in session.exec(select(ReceivedFile).where(ReceivedFile.purpose == PURPOSE, ReceivedFile.status == "held")
                                    .order_by(ReceivedFile.id)) if (r.details or {}).get("part") in ("text", "form")]


def _held(session: Session, file_id: int) -> ReceivedFile:
    record = session.get(ReceivedFile, file_id)
    if record is None or record not in held(session):
        raise NotFound(f"没有编号为 {file_id} 的暂存异议回复或异议表：请用 `kaoping objections held` 查看。")
    return record


def release(session: Session, settings: Settings, file_id: int, *, actor: str) -> ReplyOutcome:
    """The team vouches for a held reply or form (e.g. the unit confirmed it by phone): recorded as
    the unit's objections, as received then (the window is checked against the day it arrived)."""
    record = _held(session, file_id)
    details = record.details or {}
    if details.get("part") == "text":
        return objections.release_held(session, settings, file_id, actor=actor)
    upload = Upload(record.filename, (settings.received_dir / record.sha256[:2] / record.sha256).read_bytes())
    received_at = datetime.fromisoformat(details.get("received_at") or record.received_at.isoformat())
    form = objection_form.recognise(session, settings, recognise(upload))
    rows = _check(session, settings, form, upload, received_at)  # a refusal leaves it held, nothing written
    evidence = [{"received_file_id": r.id, "filename": r.filename, "sha256": r.sha256}
                for r in (session.get(ReceivedFile, i) for i in details.get("evidence", [])) if r is not None]
    record.status = "accepted"
    session.add(record)
    audit.append(session, actor=actor, action="objections.release", entity=f"cycle:{form.cycle.code}/unit:{form.unit_code}",
                 cycle_code=form.cycle.code, before={"status": "held", "sender": record.sender},
                 after={"status": "accepted", "form_no": form.form_no}, reason="专班核实后受理暂存的异议表")
    with replying_to(details.get("message_id", ""), record.sender):  # the receipt answers the email it came in
        got = _record(session, settings, form, rows, record, sender=record.sender, received_at=received_at, actor=actor,
                      message_id=details.get("message_id", ""), evidence=evidence)
    return ReplyOutcome(True, got.cycle_code, got.unit, got.objection_ids, received_file_ids=[record.id])


def reject(session: Session, file_id: int, *, reason: str, actor: str) -> ReceivedFile:
    """The team refuses a held reply or form (kept, status ``rejected``, audited); its sender is not told."""
    if not reason.strip():
        raise InvalidInput("请用 --reason 说明不予受理的原因（记入审计日志）。")
    record = _held(session, file_id)
    parts = [record] + [r for r in session.exec(select(ReceivedFile).where(ReceivedFile.purpose == PURPOSE,
                                                                          ReceivedFile.status == "held"))
                        if r.id != record.id and (record.details or {}).get("message_id")
                        and (r.details or {}).get("message_id") == record.details["message_id"]
                        and (r.details or {}).get("part") == "attachment"]
    for part in parts:
        part.status = "rejected"
        part.reason = f"{part.reason}\n专班不予受理：{reason.strip()}".strip()
        session.add(part)
    details = record.details or {}
    audit.append(session, actor=actor, action="objections.reject_held",
                 entity=f"cycle:{details.get('cycle', '')}/unit:{details.get('unit', '')}", cycle_code=details.get("cycle"),
                 before={"status": "held", "sender": record.sender}, after={"status": "rejected"}, reason=reason.strip())
    return record
