"""Objections (异议) to the provisional results, and the team's decisions.

A unit objects by replying to its provisional 反馈函 email (``take_reply``, the handler the IMAP
intake hands each message without a form to), or the team records one received by phone or on
paper (``record``). Each is kept, acknowledged with a receipt and routed to the lead assessor of
the item; only the unit's registered addresses are accepted (a stranger's reply is held for the
team, unanswered) and nothing is accepted after the window (refused with the reason). The team
upholds (a verification adjustment, audited, shown by ``kaoping explain``) or rejects each with
a reason, and the objector is told the outcome and why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, select

from kaoping.adapters.uploads import Upload
from kaoping.adapters.word.returned import ReturnedFile, recognise_attachments
from kaoping.domain.clock import chinese_date, local_date, local_time
from kaoping.domain.errors import Conflict, InvalidInput, KaopingError, NotFound
from kaoping.domain.incoming import IncomingMessage
from kaoping.domain.objection_text import own_text, parse_objections
from kaoping.domain.scoring import fmt_exact, points_text
from kaoping.domain.text import short_title
from kaoping.models import (
    Contact,
    Cycle,
    CycleStatus,
    Objection,
    ObjectionSource,
    ObjectionStatus,
    OutboxMessage,
    ReceivedFile,
)
from kaoping.models.types import utcnow
from kaoping.notifications.outbox import queue, replying_to
from kaoping.notifications.render import render, when
from kaoping.records import audit
from kaoping.records.received import keep_received
from kaoping.services.cycles.cycle import cycle_label, get_cycle
from kaoping.services.objections import form as objection_form
from kaoping.services.objections.basis import (
    check_reason_claims,
    decision_basis,
    evidence_files,
    lead_names,
    missing_attachment_note,
    opinion_due,
)
from kaoping.services.objections.window import results_digest, window_of
from kaoping.services.reference.contacts import unit_contacts
from kaoping.services.scoring.entry import CycleContext
from kaoping.settings import Settings

PURPOSE = "objection"


def _item_score(session: Session, cycle: Cycle, unit_id: int, number: int) -> Decimal | None:
    """The item's score as it stands (exact, as a Decimal to 4 places)."""
    from kaoping.services.scoring.results import compute_cycle

    _, results = compute_cycle(session, cycle, detailed=True)
    result = next((r for r in results if r.unit.unit_id == unit_id), None)
    item = next((i for i in result.items if i.number == number), None) if result else None
    return Decimal(fmt_exact(item.value, 4)) if item is not None else None


def what(o: Objection) -> str:
    head = f"指标{o.indicator_number}" if o.indicator_number else "未写明指标（待专班归类）"
    return f"{head}：{o.disputed[:60]}{'…' if len(o.disputed) > 60 else ''}"


def stored_message_id(message_id: str) -> str:
    """A Message-ID as the objection keeps it: its column holds 300 characters, a mailer may write more."""
    return (message_id or "")[:300]


def key_part(message_id: str) -> str:
    """A Message-ID inside an outbox key (200 characters in all): a long one by its digest."""
    if len(message_id or "") <= 120:
        return message_id or ""
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "surrogateescape")).hexdigest()[:40]


def unit_addresses(session: Session, unit_id: int) -> set[str]:
    """The unit's registered addresses (考评对象名录), lower-cased: the only ones objections are taken from."""
    return {a.strip().lower() for a in session.exec(select(Contact.email).where(Contact.unit_id == unit_id)) if a}


# --------------------------------------------------------------------------- recording


def check_window(session: Session, cycle: Cycle, received_at: datetime, tz) -> None:
    """``Conflict`` with the reason when an objection received at ``received_at`` cannot be taken."""
    window = window_of(session, cycle)
    if window is None:
        raise Conflict(f"{cycle.code} 尚未开始异议期（初步结果反馈函尚未发出），暂不受理异议。")
    if cycle.status != CycleStatus.verified:
        raise Conflict(f"{cycle.code} 当前为“{CycleStatus(cycle.status).label}”，已不在异议期，不再受理异议。")
    day = local_date(received_at, tz)
    if day > window.closes_on:
        raise Conflict(f"异议期已于{chinese_date(window.closes_on)}截止（{window.workdays} 个工作日），"
                       f"{chinese_date(day)}收到的异议不再受理。如确有重大错误，请与专班联系说明。")


def record(session: Session, settings: Settings, cycle: Cycle, *, unit: str, numbers: list[int] | tuple[int, ...],
           disputed: str, evidence: str = "", source: ObjectionSource = ObjectionSource.cli, sender: str = "",
           received_at: datetime | None = None, actor: str, message_id: str = "", attachments: list[dict] | None = None,
           strict: bool = True, receipt: bool = True) -> list[Objection]:
    """One objection per indicator named (one without an indicator if none), receipt queued and each
    routed to the item's lead assessors. ``strict`` (the team typing it): an indicator the unit does
    not undertake is refused; otherwise (a reply) it is kept unclassified, text and all."""
    received_at = received_at or utcnow()
    check_window(session, cycle, received_at, settings.tz)
    if not disputed.strip():
        raise InvalidInput("异议内容不能为空：请写明对哪一项得分有异议（--text）。")
    ctx = CycleContext(session, cycle)
    problems: list[str] = []
    unit_id = ctx.cycle_unit(unit, "", "--unit", problems)
    if problems:
        raise InvalidInput(problems[0].removeprefix("“--unit”列："))
    known, unknown = [], []
    for n in dict.fromkeys(numbers):
        indicator = ctx.indicator_by_number.get(n)
        (known if indicator is not None and (unit_id, indicator.id) in ctx.pairs else unknown).append(n)
    if unknown and strict:
        raise InvalidInput(f"{ctx.name(unit_id)} 在 {cycle.code} 不承担指标 {'、'.join(map(str, unknown))}：请核对指标序号。")
    if unknown:
        disputed = f"（来信写明的指标序号 {'、'.join(map(str, unknown))} 不是该单位承担的指标）{disputed}"
    created = []
    for number in known or [None]:
        objection = Objection(cycle_id=cycle.id, unit_id=unit_id, indicator_number=number, disputed=disputed.strip(),
                              evidence=evidence.strip(), attachments=attachments or [], received_at=received_at,
                              source=source, sender=sender, message_id=stored_message_id(message_id), recorded_by=actor)
        if number is not None:
            objection.previous_score = _item_score(session, cycle, unit_id, number)
        session.add(objection)
        session.flush()
        audit.append(session, actor=actor, action="objections.record",
                     entity=f"cycle:{cycle.code}/unit:{ctx.units[unit_id].code}/objection:{objection.id}",
                     cycle_code=cycle.code, after={"indicator": number, "source": str(source), "sender": sender,
                                                   "disputed": objection.disputed, "evidence": objection.evidence,
                                                   "attachments": len(objection.attachments),
                                                   **({"note": note} if (note := missing_attachment_note(objection)) else {})},
                     reason="登记异议" + (f"（{note}）" if note else ""))
        created.append(objection)
        if number is not None:
            _route(session, settings, cycle, ctx, objection)
    if receipt:
        send_receipt(session, settings, cycle, ctx, created, to=[sender] if sender else unit_contacts(session, unit_id))
    return created


def _route(session: Session, settings: Settings, cycle: Cycle, ctx: CycleContext, o: Objection) -> None:
    """To the lead assessors of the item (their 联络员), the team copied."""
    indicator = ctx.indicator_by_number[o.indicator_number]
    for lead in ctx.leads[indicator.id]:
        recipients = unit_contacts(session, lead)
        if not recipients:
            continue
        rendered = render("objection_routed", settings, greeting=ctx.name(lead), unit=ctx.name(o.unit_id),
                          period=cycle_label(cycle), indicator=o.indicator_number, title=short_title(indicator.text),
                          score=o.previous_score if o.previous_score is not None else "—",
                          points=points_text(ctx.points[indicator.id].points), disputed=o.disputed,
                          evidence=o.evidence or "（未写明）", objection_id=o.id, office_email=settings.office_email,
                          attachments=evidence_files(o), attachment_note=missing_attachment_note(o),
                          due=chinese_date(opinion_due(session, cycle, o, settings.tz)))
        queue(session, settings, key=f"objection-routed:{o.id}:{lead}", kind="objection_routed", to=recipients,
              cc=[settings.office_email], subject=rendered.subject, text=rendered.text, html=rendered.html,
              cycle_code=cycle.code)


def send_receipt(session: Session, settings: Settings, cycle: Cycle, ctx: CycleContext, created: list[Objection], *,
             to: list[str], form_no: str = "", repeated: list[int] | tuple[int, ...] = ()) -> None:
    if not to or not created:
        return
    first = created[0]
    rendered = render("objection_received", settings, greeting=ctx.name(first.unit_id), unit=ctx.name(first.unit_id),
                      period=cycle_label(cycle), received=when(first.received_at, settings),
                      items=[{"id": o.id, "what": what(o)} for o in created],
                      unclassified=any(o.indicator_number is None for o in created),
                      attachments=len(evidence_files(first)), form_no=form_no, repeated=list(repeated),
                      attachment_note=missing_attachment_note(first))
    queue(session, settings, key=f"objection-receipt:{first.id}", kind="objection_received", to=to,
          subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=cycle.code)


# --------------------------------------------------------------------------- by reply


@dataclass
class ReplyOutcome:
    """What became of a reply to a provisional 反馈函."""

    accepted: bool
    cycle_code: str
    unit: str
    objection_ids: list[int] = field(default_factory=list)
    held: bool = False
    reason: str = ""
    received_file_ids: list[int] = field(default_factory=list)
    refused: bool = False  # something in it was refused (filed with the refused mail, the sender told)


def recipients(email: OutboxMessage) -> set[str]:
    """The addresses kaoping sent ``email`` to: a reply naming its Message-ID counts as a direct reply
    only from one of them (issue 24: the Message-ID proves the email was seen, by them)."""
    return {a.strip().lower() for a in [*(email.to or []), *(email.cc or [])]}


def _letter_of(session: Session, message: IncomingMessage) -> OutboxMessage | None:
    ids = [i for i in message.replied_to if i]
    if not ids:
        return None
    return session.exec(select(OutboxMessage).where(OutboxMessage.message_id.in_(ids),
                                                    OutboxMessage.kind == "objection_letter")).first()


def _keep_message(session: Session, settings: Settings, message: IncomingMessage, *, status: str, reason: str,
                  details: dict) -> list:
    """The reply's text and every attachment, kept whatever becomes of them."""
    stamp = local_date(message.received_at, settings.tz).isoformat()
    body = Upload(f"异议回复-{stamp}.txt", f"主题：{message.subject}\n发件人：{message.sender}\n\n{message.text}".encode())
    kept = [keep_received(session, settings, body, purpose=PURPOSE, status=status, reason=reason, sender=message.sender,
                          details={**details, "message_id": message.message_id, "part": "text",
                                   "received_at": message.received_at.isoformat()})]
    for attachment in message.attachments:
        kept.append(keep_received(session, settings, Upload(attachment.filename or "附件", attachment.content),
                                  purpose=PURPOSE, status=status, reason=reason, sender=message.sender,
                                  details={**details, "message_id": message.message_id, "part": "attachment"}))
    return kept


def take_reply(session: Session, settings: Settings, message: IncomingMessage,
               files: tuple[ReturnedFile, ...] | None = None) -> ReplyOutcome | None:
    """An email that reached the office mailbox: ``None`` if it is not a reply to a provisional
    反馈函 (another handler's), or carries kaoping forms (the objection form is
    ``objection_intake.take_message``'s, other forms the intake's); otherwise recorded, held (a
    stranger) or refused (after the window)."""
    letter = _letter_of(session, message)
    if letter is None:
        return None
    files = files if files is not None else recognise_attachments(message)
    if any(f.kind for f in files):
        return None  # kaoping forms attached (an objection form with another form): the intake takes each file
    _, cycle_code, unit_code = letter.idempotency_key.split(":")[:3]  # objection-letter:<cycle>:<unit>[:<round>]
    cycle = get_cycle(session, cycle_code)
    ctx = CycleContext(session, cycle)
    unit_id = next(u for u, cu in ctx.units.items() if cu.code == unit_code)
    unit = ctx.name(unit_id)
    done = session.exec(select(Objection.id).where(Objection.message_id == stored_message_id(message.message_id),
                                                   Objection.cycle_id == cycle.id)).all()
    if done and message.message_id:
        return ReplyOutcome(True, cycle_code, unit, list(done), reason="此前已登记")
    details = {"cycle": cycle_code, "unit": unit_code, "replied_to": letter.message_id}
    sender = (message.sender or "").strip().lower()
    if sender not in unit_addresses(session, unit_id) or sender not in recipients(letter):
        reason = (f"发件人 {sender or '（无）'} 不是{unit}在考评对象名录中登记的邮箱" if sender not in unit_addresses(session, unit_id)
                  else f"发件人 {sender} 没有收到所回复的征求意见稿（它发给了 {'、'.join(sorted(recipients(letter)))}）")
        reason += "：异议已暂存，待专班核实（如属实，由专班以 `kaoping objections add` 登记）。"
        kept = _keep_message(session, settings, message, status="held", reason=reason, details=details)
        audit.append(session, actor="mail:objections", action="objections.held", entity=f"cycle:{cycle_code}/unit:{unit_code}",
                     cycle_code=cycle_code, after={"sender": sender, "message_id": message.message_id}, reason=reason)
        return ReplyOutcome(False, cycle_code, unit, held=True, reason=reason, received_file_ids=[k.id for k in kept])
    try:
        check_window(session, cycle, message.received_at, settings.tz)
        check_reply_size(message.text)
    except KaopingError as exc:
        kept = _keep_message(session, settings, message, status="refused", reason=str(exc), details=details)
        rendered = render("objection_refused", settings, greeting=unit, you="你单位", period=cycle_label(cycle), reason=str(exc),
                          received=when(message.received_at, settings), office_email=settings.office_email)
        queue(session, settings, key=f"objection-refused:{key_part(message.message_id) or kept[0].sha256}", kind="objection_refused",
              to=[sender], subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=cycle_code)
        audit.append(session, actor="mail:objections", action="objections.refused", entity=f"cycle:{cycle_code}/unit:{unit_code}",
                     cycle_code=cycle_code, after={"sender": sender, "message_id": message.message_id}, reason=str(exc))
        return ReplyOutcome(False, cycle_code, unit, reason=str(exc), received_file_ids=[k.id for k in kept], refused=True)
    kept = _keep_message(session, settings, message, status="accepted", reason="", details=details)
    return _record_reply(session, settings, cycle, ctx, unit, message, sender, kept)


#: A reply is read into objections paragraph by paragraph: more than this is no list of disputed
#: items (a unit undertakes a few dozen) but a pasted document, which goes attached.
MAX_REPLY_OBJECTIONS = objection_form.MAX_ROWS
MAX_REPLY_CHARS = 20_000


def check_reply_size(text: str) -> None:
    """``InvalidInput`` for a reply too long to be read as objections (what to do instead)."""
    own = own_text(text)
    if len(own) > MAX_REPLY_CHARS:
        raise InvalidInput(f"回复正文有 {len(own)} 字，超过 {MAX_REPLY_CHARS} 字，未登记任何异议：请在正文中逐项简要写明"
                           f"指标序号、异议内容和依据（或填写随征求意见稿发出的{objection_form.LABEL}），详细材料作为附件发送。")
    parts = parse_objections(text) or []
    if len(parts) > MAX_REPLY_OBJECTIONS:
        raise InvalidInput(f"回复中写了 {len(parts)} 项异议，超过 {MAX_REPLY_OBJECTIONS} 项，未登记任何异议：请只列出确有异议的"
                           f"指标（每项写明指标序号、异议内容和依据）后重新回复。")


def _record_reply(session: Session, settings: Settings, cycle: Cycle, ctx: CycleContext, unit: str,
                  message: IncomingMessage, sender: str, kept: list) -> ReplyOutcome:
    attachments = [{"received_file_id": k.id, "filename": k.filename, "sha256": k.sha256} for k in kept[1:]]
    parsed = parse_objections(message.text) or []
    created: list[Objection] = []
    if not parsed:
        parsed_text = message.subject.strip() or "（回复无正文）"
        created += record(session, settings, cycle, unit=unit, numbers=[], disputed=parsed_text, source=ObjectionSource.reply,
                          sender=sender, received_at=message.received_at, actor=f"mail:{sender}"[:64],
                          message_id=message.message_id, attachments=attachments, strict=False, receipt=False)
    for part in parsed:
        created += record(session, settings, cycle, unit=unit, numbers=part.numbers, disputed=part.disputed,
                          evidence=part.evidence, source=ObjectionSource.reply, sender=sender, received_at=message.received_at,
                          actor=f"mail:{sender}"[:64], message_id=message.message_id, attachments=attachments, strict=False,
                          receipt=False)
    send_receipt(session, settings, cycle, ctx, created, to=[sender])  # one receipt for the whole reply
    return ReplyOutcome(True, cycle.code, unit, [o.id for o in created], received_file_ids=[k.id for k in kept])


def recorded_from(session: Session, message_id: str) -> list[Objection]:
    """The objections already recorded from the email ``message_id`` (none for an empty id)."""
    if not message_id:
        return []
    return list(session.exec(select(Objection).where(Objection.message_id == stored_message_id(message_id))
                             .order_by(Objection.id)))


def held_replies(session: Session) -> list[ReceivedFile]:
    """Replies to a provisional 反馈函 from an address the unit did not register, held for the team."""
    return [r for r in session.exec(select(ReceivedFile).where(ReceivedFile.purpose == PURPOSE, ReceivedFile.status == "held")
                                    .order_by(ReceivedFile.id)) if (r.details or {}).get("part") == "text"]


def release_held(session: Session, settings: Settings, file_id: int, *, actor: str) -> ReplyOutcome:
    """The team vouches for a held reply (e.g. the unit confirmed it by phone): recorded as the unit's
    objection, as received then (the window is checked against the day it arrived), audited."""
    record = session.get(ReceivedFile, file_id)
    if record is None or record not in held_replies(session):
        raise NotFound(f"没有编号为 {file_id} 的暂存异议回复：请用 `kaoping objections held` 查看。")
    details = record.details or {}
    cycle = get_cycle(session, details["cycle"])
    ctx = CycleContext(session, cycle)
    unit_id = next(u for u, cu in ctx.units.items() if cu.code == details["unit"])
    stored = (settings.received_dir / record.sha256[:2] / record.sha256).read_text(encoding="utf-8")
    subject, _, text = stored.partition("\n\n")
    received_at = datetime.fromisoformat(details.get("received_at") or record.received_at.isoformat())
    message = IncomingMessage(message_id=details.get("message_id", ""), sender=record.sender,
                              subject=subject.partition("\n")[0].removeprefix("主题："), text=text, received_at=received_at)
    check_window(session, cycle, received_at, settings.tz)
    parts = [record] + [r for r in session.exec(select(ReceivedFile).where(ReceivedFile.purpose == PURPOSE,
                                                                          ReceivedFile.status == "held"))
                        if (r.details or {}).get("message_id") == message.message_id and r.id != record.id]
    for part in parts:
        part.status = "accepted"
        session.add(part)
    audit.append(session, actor=actor, action="objections.release", entity=f"cycle:{cycle.code}/unit:{details['unit']}",
                 cycle_code=cycle.code, before={"status": "held", "sender": record.sender}, after={"status": "accepted"},
                 reason="专班核实后受理暂存的异议回复")
    with replying_to(message.message_id, record.sender):  # the receipt answers the email it came in
        return _record_reply(session, settings, cycle, ctx, ctx.name(unit_id), message, record.sender, parts)


# --------------------------------------------------------------------------- decisions


def listing(session: Session, cycle: Cycle, *, status: ObjectionStatus | None = None) -> list[Objection]:
    query = select(Objection).where(Objection.cycle_id == cycle.id).order_by(Objection.id)
    if status is not None:
        query = query.where(Objection.status == status)
    return list(session.exec(query))


def decide(session: Session, settings: Settings, cycle: Cycle, objection_id: int, *, uphold: bool, reason: str,
           actor: str, score: Decimal | None = None, indicator: int | None = None) -> Objection:
    """采纳 (with the adjusted ``score``: a verification adjustment) or 不予采纳, with the reason;
    the objector is emailed the outcome. ``indicator`` classifies an objection that named none."""
    from kaoping.services.scoring.verification import adjust_upon_objection

    objection = session.get(Objection, objection_id)
    if objection is None or objection.cycle_id != cycle.id:
        raise NotFound(f"{cycle.code} 中没有第 {objection_id} 号异议：请用 `kaoping objections list --cycle {cycle.code}` 查看编号。")
    if objection.status != ObjectionStatus.open:
        raise Conflict(f"第 {objection_id} 号异议已于 {local_time(objection.decided_at, settings.tz)} 处理"
                       f"（{ObjectionStatus(objection.status).label}）。")
    if cycle.status != CycleStatus.verified:
        raise Conflict(f"{cycle.code} 当前为“{CycleStatus(cycle.status).label}”：异议在专班核实签字之后、审定之前处理。")
    if not reason.strip():
        raise InvalidInput("处理异议必须写明理由（--reason），理由将告知提出异议的单位。")
    ctx = CycleContext(session, cycle)
    if indicator is not None:
        item = ctx.indicator_by_number.get(indicator)
        if item is None or (objection.unit_id, item.id) not in ctx.pairs:
            raise InvalidInput(f"{ctx.name(objection.unit_id)} 在 {cycle.code} 不承担指标 {indicator}：请核对 --indicator。")
        objection.indicator_number = indicator
        objection.previous_score = _item_score(session, cycle, objection.unit_id, indicator)
    check_reason_claims(session, objection, reason, lead_names(ctx, objection))
    if uphold:
        if objection.indicator_number is None:
            raise InvalidInput(f"第 {objection_id} 号异议没有写明指标：采纳时请用 --indicator 指明调整哪一项。")
        if score is None:
            raise InvalidInput("采纳异议须给出调整后的得分（--score），调整将作为专班核实调整记入结果。")
        adjusted = adjust_upon_objection(session, cycle, unit=ctx.units[objection.unit_id].code,
                                         indicator=objection.indicator_number, score=score,
                                         reason=f"采纳{ctx.name(objection.unit_id)}第 {objection.id} 号异议：{reason}",
                                         actor=actor, objection_id=objection.id)
        objection.verification_id, objection.new_score = adjusted.id, score
        window = window_of(session, cycle)
        if window is not None:  # the unit is told of the change: not a reason for another round of letters
            window.results_digest = results_digest(session, cycle)
            session.add(window)
    elif score is not None:
        raise InvalidInput("不予采纳时不调整得分：请去掉 --score。")
    objection.status = ObjectionStatus.upheld if uphold else ObjectionStatus.rejected
    objection.decision_reason, objection.decided_by, objection.decided_at = reason.strip(), actor, utcnow()
    session.add(objection)
    session.flush()
    audit.append(session, actor=actor, action=f"objections.{objection.status}",
                 entity=f"cycle:{cycle.code}/unit:{ctx.units[objection.unit_id].code}/objection:{objection.id}",
                 cycle_code=cycle.code, before={"status": "open", "score": objection.previous_score},
                 after={"status": str(objection.status), "indicator": objection.indicator_number, "score": objection.new_score,
                        "basis": decision_basis(session, ctx, objection, settings.tz).sentence},
                 reason=reason)
    _tell_decision(session, settings, cycle, ctx, objection)
    return objection


def _tell_decision(session: Session, settings: Settings, cycle: Cycle, ctx: CycleContext, objection: Objection) -> None:
    """The objector is emailed the outcome, on what it was decided (the lead assessor's review, or its
    silence and the record the team reviewed) and, where it named an attachment that never came, that too."""
    uphold = objection.status == ObjectionStatus.upheld
    basis = decision_basis(session, ctx, objection, settings.tz)
    rendered = render("objection_decided", settings, greeting=ctx.name(objection.unit_id), period=cycle_label(cycle),
                      indicator=objection.indicator_number, objection_id=objection.id,
                      outcome="予以采纳" if uphold else "不予采纳",
                      received=when(objection.received_at, settings), reason=objection.decision_reason,
                      basis=basis.sentence, attachment_note=basis.attachment_note,
                      upheld=uphold, previous=objection.previous_score if objection.previous_score is not None else "—",
                      new=objection.new_score)
    to = [objection.sender] if objection.sender else unit_contacts(session, objection.unit_id)
    if to:
        queue(session, settings, key=f"objection-decided:{objection.id}", kind="objection_decided", to=to,
              subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=cycle.code)
