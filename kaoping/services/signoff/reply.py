"""Sign-off by email reply (回复邮件签字).

The sign-off email asks the designated signer to reply "同意" or "退回修改：意见……" with the
one-time code. ``take_reply`` is handed every plain message that reached the office mailbox
(the IMAP intake's ``route_text_reply``) and answers ``None`` for a message that is not a
reply to a sign-off email. A reply is one when its In-Reply-To/References name the Message-ID
of a sign-off request, a sign-off reminder or kaoping's own answer to an earlier reply; or,
failing that, when a signer's address sent it with the cycle and stage in its subject
("2022年上半年 … 专班核实"): clients that drop the reply headers still reach the signer. A named
Message-ID counts as a *direct* reply only when kaoping sent that email to the very address the
reply comes from (Message-IDs carry a random part: an outsider cannot name one unseen).

The reply is read strictly (``kaoping.domain.replies.read_signoff_reply``): the first line of
the signer's own text must be "同意" (or "同意，并确认自评项") with nothing that negates, hedges
or asks after it, or "退回修改" with its 意见; the email answered is recognised by its quote
markers and by its own text (the bodies kaoping sent). Every other wording is refused with a
reply that quotes what was read and says exactly what to write, and where: above the quote.

The signature itself goes through ``signoff.give_signoff``: the same code check, wrong tries
counted, lockout, audit (with the reply's Message-ID and sender in the entry's ``after``) and
status change as a signature in the Prefect UI. Before it, a reply is refused — with a reply
email saying why and what to do — when it does not come from the stage's designated signer's
own address, is not exactly a decision, sends back without comments, or carries no code or
several. Refusals are answered at most ``ANSWERS_PER_DAY`` times per address in 24 hours and
never to an auto-reply or to kaoping's own address, so two machines cannot ping-pong. Each
reply is kept once by its Message-ID (``SignoffReply``): the same message handed in again is
never counted twice; its outcome is returned as it was.

**No code outlives a refused reply.** A refused reply that carries the pending code — typed or
quoted — spends it (``signatures.spend``): its raw bytes are kept with every received message, and
a code kept at rest must not sign. A message that is no sign-off reply at all but shows a pending
code (a forwarded sign-off email) spends it too. The run waiting for the signature is released,
so it sends a fresh code (or the signer asks the team for one).

**The code in the quoted email.** Mail clients keep the email answered below the reply, code
included. The code in the reply's own text is always taken. The code found only in the quoted
part is taken too, but only when (1) the reply comes from the signer's own address and (2) its
In-Reply-To/References name the sign-off email (or reminder, or kaoping's answer) that kaoping
sent to that very address — not when the reply was matched by its subject alone — and (3) it is
that request's code (an older, replaced code costs no try and is told so). Why: the code proves
that whoever answers can read the mailbox the code was sent to, and only that. What the quoted
code must not allow is a signature by accident or by someone else: the decision is read only
from the reply's own text (a quoted "同意" counts for nothing), a forwarded or pasted copy is not
a direct reply, and another address is refused whatever it carries. Every signature taken is
confirmed by a reply email, so an unintended one is seen at once.

A run waiting in Prefect goes on by itself: the outcome names the run (``flow_run_id``) and the
caller — a flow task or the CLI, as services do not import Prefect — releases it
(``adapters.prefect_runs.release_paused_run``). It starts again from the top: an approval is a
done stage; a rejection stops the run as a rejection in the dialog does (``signoff_state``),
and a later run asks again. A code that expired, was locked or was spent by the reply releases
the run too, so it sends a new code as the dialog does.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from email_validator import EmailNotValidError
from sqlmodel import Session, func, select

from kaoping.domain.incoming import machine_sender
from kaoping.domain.replies import codes_in, read_signoff_reply
from kaoping.domain.text import normalize_email
from kaoping.models import (
    Cycle,
    CycleStatus,
    OutboxMessage,
    SignoffReply,
    SignoffRequest,
)
from kaoping.models.types import utcnow
from kaoping.notifications.outbox import queue
from kaoping.notifications.render import render, when
from kaoping.records import audit
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.reports.placeholders import filled
from kaoping.services.signoff.signatures import (
    STAGES,
    give_signoff,
    is_code_of,
    next_step,
    pending_request,
    spend,
    spend_exposed,
    waiting_run,
)
from kaoping.settings import Settings

#: Emails whose replies are sign-offs: kaoping's request, reminder and its answers to replies.
KINDS = ("signoff_request", "signoff_reminder", "signoff_reply_accepted", "signoff_reply_refused")
#: Refusals answered per sender address in 24 hours (then recorded without an answer).
ANSWERS_PER_DAY = 5

_AUTO_SUBJECT = re.compile(r"^\s*(?:自动回复|自动答复|Auto(?:matic)?[ -]?(?:Reply|Response)|Out of Office|不在办公室|"
                           r"休假|Undeliver|Delivery Status|Mail Delivery|退信|系统退信)", re.IGNORECASE)
_PERIOD = re.compile(r"(\d{4})\s*(?:年\s*([上下])\s*半年|H\s*([12]))", re.IGNORECASE)
_SIX = re.compile(r"(?<![0-9])[0-9０-９]{3}[ \-]?[0-9０-９]{3}(?![0-9０-９])")

@dataclass(frozen=True)
class SignoffReplyOutcome:
    message_id: str
    cycle_code: str
    stage: str
    fate: str  # accepted | refused | ignored
    decision: str = ""  # approve | reject, when accepted
    reason: str = ""  # what the sender was told (or why nothing was said)
    answered: bool = False  # a reply email was queued to the sender
    flow_run_id: str = ""  # the Prefect run to release (the caller does it), "" if none
    replayed: bool = False  # this Message-ID was taken before: nothing was done again

    @property
    def accepted(self) -> bool:
        return self.fate == "accepted"


@dataclass
class _Reply:
    """One reply being taken: what it answers and what was read from it."""

    cycle: Cycle
    stage: str
    request: SignoffRequest
    message: object  # IncomingMessage
    row: SignoffReply
    now: datetime
    matched_by: str  # header (a direct reply from the address the email was sent to) | header-other | subject
    read: object  # SignoffReplyText


def _address(value: str) -> str:
    """An address as compared: normalized by email-validator (domain folded), then case-insensitive
    (no 政务邮箱 tells Li@ from li@)."""
    try:
        return normalize_email(value).lower()
    except EmailNotValidError:
        return (value or "").strip().lower()


def _signer_address(settings: Settings, stage: str) -> str:
    return settings.verifier_email if stage == "verification" else settings.approver_email


def masked(text: str) -> str:
    """``text`` with every 6-digit number shown as ●●●●●● (what kaoping keeps or quotes back of a reply)."""
    return _SIX.sub("●●●●●●", text or "")


# --------------------------------------------------------------------------- which request a message answers


def _request_of(session: Session, key: str) -> SignoffRequest | None:
    """The request behind a sign-off email, from its idempotency key: ``signoff:{cycle}:{stage}:{id}``,
    ``signoff-reminder:{id}:{day}``, ``signoff-reply:{id}:{reply}``."""
    parts = key.split(":")
    raw = parts[3] if parts[0] == "signoff" and len(parts) == 4 else parts[1] if len(parts) == 3 else ""
    return session.get(SignoffRequest, int(raw)) if raw.isdigit() else None


def _by_header(session: Session, message) -> tuple[SignoffRequest, str] | None:
    """The request a reply names in In-Reply-To/References (In-Reply-To first, then References newest
    first): ``header`` when kaoping sent that email to the reply's sender, else ``header-other``."""
    ids = [i for i in message.replied_to if i]
    if not ids:
        return None
    sent = {m.message_id: m for m in session.exec(select(OutboxMessage).where(
        OutboxMessage.message_id.in_(ids), OutboxMessage.kind.in_(KINDS))).all()}
    sender = _address(message.sender)
    for replied in ids:
        email = sent.get(replied)
        request = _request_of(session, email.idempotency_key) if email is not None else None
        if request is not None:
            recipients = {_address(a) for a in [*(email.to or []), *(email.cc or [])]}
            return request, "header" if sender in recipients else "header-other"
    return None


def _match(session: Session, settings: Settings, message) -> tuple[SignoffRequest, str] | None:
    named = _by_header(session, message)
    if named is not None:
        return named
    # Fallback: a signer's address, with the cycle and the stage in the subject.
    sender = _address(message.sender)
    theirs = [stage for stage in STAGES if _address(_signer_address(settings, stage)) == sender]
    subject = unicodedata.normalize("NFKC", message.subject or "")
    period = _PERIOD.search(subject)
    if not theirs or period is None:
        return None
    named_stages = [stage for stage, label in STAGES.items() if label in subject]
    stage = named_stages[0] if len(named_stages) == 1 else theirs[0] if len(theirs) == 1 else None
    cycle = session.exec(select(Cycle).where(
        Cycle.code == f"{period.group(1)}H{1 if (period.group(2) == '上' or period.group(3) == '1') else 2}")).first()
    if stage is None or cycle is None:
        return None
    request = pending_request(session, cycle, stage) or session.exec(select(SignoffRequest).where(
        SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage).order_by(SignoffRequest.id.desc())).first()
    return (request, "subject") if request is not None else None


def _sent_texts(session: Session, cycle: Cycle) -> list[str]:
    """What kaoping sent about this cycle's sign-offs (request, reminders, answers), as the signer's
    client may quote it: its lines are recognised as quoted even without a quote marker."""
    bodies = session.exec(select(OutboxMessage.text_body).where(OutboxMessage.kind.in_(KINDS),
                                                                OutboxMessage.cycle_code == cycle.code)).all()
    return list(bodies)


# --------------------------------------------------------------------------- taking a reply


def take_reply(session: Session, settings: Settings, message, *, actor: str = "mail",
               now: datetime | None = None) -> SignoffReplyOutcome | None:
    """Take ``message`` (an ``IncomingMessage``) as a sign-off if it is a reply to a sign-off
    email; ``None`` if it is not one (a pending code it shows is spent all the same). The caller
    commits (wrong tries are counted, codes spent, either way) and releases ``outcome.flow_run_id``
    when there is one."""
    now = now or utcnow()
    if not (message.message_id or "").strip():  # no Message-ID: the message's content stands for it
        digest = hashlib.sha256("\n".join((message.sender, message.subject, message.text,
                                            message.received_at.isoformat())).encode("utf-8", "surrogateescape"))
        message = replace(message, message_id=f"<no-message-id.{digest.hexdigest()[:32]}@kaoping>")
    kept = session.exec(select(SignoffReply).where(SignoffReply.message_id == message.message_id)).first()
    if kept is not None:
        return _outcome(kept, replayed=True)
    matched = _match(session, settings, message)
    if matched is None:
        spend_exposed(session, settings, f"{message.subject}\n{message.text}", actor=f"mail:{message.sender}",
                      reason="验证码出现在一封不是签字回复的邮件中（如被转发）：已作废",
                      evidence={"message_id": message.message_id[:300], "from": message.sender[:254]})
        return None
    request, matched_by = matched
    cycle = session.get(Cycle, request.cycle_id)
    read = read_signoff_reply(message.text, known=_sent_texts(session, cycle))
    sender = _address(message.sender)
    row = SignoffReply(message_id=message.message_id, sender=sender[:254], subject=message.subject or "",
                       received_at=message.received_at, cycle_code=cycle.code, stage=request.stage, request_id=request.id,
                       matched_by=matched_by, own_text=masked(read.own)[:4000])
    session.add(row)
    session.flush()  # claims the Message-ID: a second worker with the same message waits here, then fails
    reply = _Reply(cycle, request.stage, request, message, row, now, matched_by, read)
    if machine_sender(sender) or _AUTO_SUBJECT.match(message.subject or "") or sender == _address(settings.mail_from):
        _spend_carried(session, settings, reply)
        return _close(session, settings, reply, "ignored", "自动回复或系统退信，不作为签字，也不回信。", answer=False)
    if sender != _address(_signer_address(settings, reply.stage)) or sender != _address(request.signer_email):
        spent = _spend_carried(session, settings, reply)
        return _refuse(session, settings, reply,
                       f"发件邮箱 {sender} 不是“{STAGES[reply.stage]}”指定签字人的邮箱，签字只认签字人本人邮箱的直接回复。",
                       "如您是签字人，请用收到签字邮件的邮箱回复；验证码只能由签字人本人使用，请勿代为签字。"
                       + ("这封邮件中的验证码已作废，系统将向签字人另发新的验证码。" if spent else ""), release=spent)
    refused = _refuse_wording(session, settings, reply)
    if refused is not None:
        return refused
    return _sign(session, settings, reply)


def _spend_carried(session: Session, settings: Settings, reply: _Reply) -> bool:
    """Spend the pending code of this stage if the reply shows it anywhere (typed or quoted)."""
    pending = pending_request(session, reply.cycle, reply.stage)
    if pending is None:
        return False
    message = reply.message
    if not any(is_code_of(settings, pending, c) for c in codes_in(f"{message.subject}\n{message.text}")):
        return False
    spend(session, pending, actor=f"mail:{reply.row.sender}", reason="回复未能作为签字，其中的验证码已作废",
          evidence={"reply_message_id": message.message_id, "reply_from": reply.row.sender})
    return True


def _refuse_wording(session: Session, settings: Settings, reply: _Reply) -> SignoffReplyOutcome | None:
    """The signer's reply refused for what it says (not exactly 同意 or 退回修改 with 意见, no code or
    several): told what was read and exactly what to write; a code it carries is spent."""
    read = reply.read
    what = masked(read.read.replace("\n", " ／ "))[:200]
    if read.decision == "ambiguous":
        reason = f"您写的“{what}”意思不明确（{read.problem}），不能作为签字。"
    elif not read.decision:
        reason = (f"您回复的第一行是“{what}”，不是“同意”或“退回修改”。" if read.read else
                  "在您回复的正文中没有读到“同意”或“退回修改”（引用的原邮件不算；写在引用的原邮件下方的内容，"
                  "有的邮箱无法与原邮件区分）。")
    elif read.decision == "reject" and not read.comments:
        reason = "退回修改须写明意见，以便专班据此修改。"
    elif read.code == "many":
        reason = "回复中有多个 6 位数字，无法确定哪一个是验证码。"
    elif not read.code and not (read.quoted_code and reply.matched_by == "header"):
        reason = ("回复中没有找到验证码。" if reply.matched_by == "header"
                  else "回复中没有找到验证码（这封邮件不是直接回复签字邮件，原邮件中的验证码不能代替）。")
    else:
        return None
    spent = _spend_carried(session, settings, reply)  # exactly what to write, and where, is in the email's 签字办法
    todo = "这封回复中的验证码已作废（它出现在一封未能签字的邮件中）：" + _new_code_note(session, reply) if spent else ""
    return _refuse(session, settings, reply, reason, todo, release=spent)


def _new_code_note(session: Session, reply: _Reply) -> str:
    if waiting_run(session, reply.cycle, reply.stage):
        return "系统将向您发送新的验证码，请回复新的签字邮件。"
    return "请联系专班重新提请签字，新的验证码只发到您的邮箱；收到后回复新的签字邮件。"


def _sign(session: Session, settings: Settings, reply: _Reply) -> SignoffReplyOutcome:
    """The signer's reply, exactly a decision with one code: through the same checks as the dialog."""
    read, cycle, stage = reply.read, reply.cycle, reply.stage
    code, code_from = (read.code, "reply") if read.code else (read.quoted_code, "quoted")
    pending = pending_request(session, cycle, stage)
    if pending is None:
        done = CycleStatus(cycle.status) in ((CycleStatus.verified, CycleStatus.approved, CycleStatus.closed)
                                             if stage == "verification" else (CycleStatus.approved, CycleStatus.closed))
        return _refuse(session, settings, reply,
                       f"“{STAGES[stage]}”已经签字，无需再次回复。" if done else f"“{STAGES[stage]}”目前没有待签的验证码（已作废或已使用）。",
                       "" if done else _new_code_note(session, reply), release=not done)
    replaced = next((r for r in _stage_requests(session, cycle, stage) if r.id != pending.id and is_code_of(settings, r, code)), None)
    if replaced is not None:
        return _refuse(session, settings, reply,
                       f"这是 {when(replaced.created_at, settings)} 发出的旧验证码，已被 "
                       f"{when(pending.created_at, settings)} 发出的新验证码取代（本次不计入错误次数）。",
                       "请回复最新的签字邮件，或写上其中的验证码。")
    sender, message = reply.row.sender, reply.message
    evidence = {"reply_message_id": message.message_id, "reply_from": sender, "code_from": code_from}
    outcome = give_signoff(session, settings, cycle, stage, code=code, approve=read.decision == "approve",
                           comments=read.comments, actor=f"mail:{sender}"[:64], now=reply.now, evidence=evidence,
                           confirm_self_scored=read.confirm_self_scored, confirm_groups=list(read.confirm_groups))
    if not outcome.ok:
        session.refresh(pending)
        renew = reply.now > pending.expires_at or pending.status in ("locked", "spent")
        todo = (_new_code_note(session, reply) if renew else "请核对签字邮件中的 6 位验证码后重新回复。")
        return _refuse(session, settings, reply, outcome.message, todo, release=renew,
                       audited=outcome.message.startswith(("验证码不正确", "验证码连续")) or outcome.spent)
    reply.row.decision = outcome.decision
    after = next_step(stage, outcome.decision)
    return _close(session, settings, reply, "accepted", outcome.message, answer=True, release=True,
                  template=("signoff_reply_accepted", {"decision": "同意" if outcome.decision == "approve" else "退回修改",
                                                      "comments": read.comments, "outcome": after}))


def _stage_requests(session: Session, cycle: Cycle, stage: str) -> list[SignoffRequest]:
    return list(session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id,
                                                          SignoffRequest.stage == stage)))


def _refuse(session: Session, settings: Settings, reply: _Reply, reason: str, todo: str, *, release: bool = False,
            audited: bool = False) -> SignoffReplyOutcome:
    """Refused: audited (unless ``give_signoff`` already wrote the wrong try) and answered, within the limit."""
    cycle, stage, message, row = reply.cycle, reply.stage, reply.message, reply.row
    if not audited:
        audit.append(session, actor=f"mail:{row.sender}"[:64], action=f"signoff.reply_refused.{stage}",
                     entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
                     after={"request": row.request_id, "reply_message_id": message.message_id,
                            "reply_from": row.sender}, reason=reason)
    since = reply.now - timedelta(hours=24)
    answered = session.exec(select(func.count()).select_from(SignoffReply).where(
        SignoffReply.sender == row.sender, SignoffReply.fate == "refused", SignoffReply.answer_message_id != "",
        SignoffReply.recorded_at > since)).one()
    if answered >= ANSWERS_PER_DAY:
        return _close(session, settings, reply, "refused",
                      f"{reason}（24 小时内已回信 {answered} 次，本次不再回信）", answer=False, release=release)
    return _close(session, settings, reply, "refused", reason, answer=True, release=release,
                  template=("signoff_reply_refused", {"reason": reason, "todo": todo, "limit": ANSWERS_PER_DAY}))


def _close(session: Session, settings: Settings, reply: _Reply, fate: str, reason: str, *, answer: bool,
           release: bool = False, template: tuple[str, dict] | None = None) -> SignoffReplyOutcome:
    cycle, stage, message, row = reply.cycle, reply.stage, reply.message, reply.row
    row.fate, row.reason = fate, reason
    if answer and template is not None:
        kind, values = template
        request = session.get(SignoffRequest, row.request_id)
        is_signer = row.sender == _address(request.signer_email)
        rendered = render(kind, settings, greeting=request.signer_name if is_signer else "您好", period=cycle_label(cycle),
                          stage=STAGES[stage], received=when(message.received_at, settings),
                          their_subject=masked(message.subject or "（无主题）")[:80], contact=filled(settings, "contact_phone", "回复签字邮件"), **values)
        sent, _ = queue(session, settings, key=f"signoff-reply:{row.request_id}:{row.id}", kind=kind, to=[row.sender],
                        subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=cycle.code,
                        in_reply_to=message.message_id, references=tuple(message.references))
        row.answer_message_id = sent.message_id
    run = ""
    if release:
        run = waiting_run(session, cycle, stage) or ""
        if run:
            count_outside_answer(session, cycle, stage)
    session.add(row)
    session.flush()
    return _outcome(row, flow_run_id=run)


def count_outside_answer(session: Session, cycle: Cycle, stage: str) -> None:
    """A run about to be released is resumed with an empty answer under its current question's key:
    count it, so that the next question of this stage has a key of its own (``signoff_state.answers``)."""
    latest = session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.stage == stage)
                          .order_by(SignoffRequest.id.desc())).first()
    if latest is not None:
        latest.answers += 1
        session.add(latest)


def _outcome(row: SignoffReply, *, replayed: bool = False, flow_run_id: str = "") -> SignoffReplyOutcome:
    return SignoffReplyOutcome(message_id=row.message_id, cycle_code=row.cycle_code, stage=row.stage, fate=row.fate,
                               decision=row.decision, reason=row.reason, answered=bool(row.answer_message_id),
                               flow_run_id="" if replayed else flow_run_id, replayed=replayed)


def replies(session: Session, *, cycle_code: str | None = None, limit: int = 50) -> list[SignoffReply]:
    """The replies received (newest last), for `kaoping signoff replies`."""
    query = select(SignoffReply).order_by(SignoffReply.id.desc()).limit(limit)
    if cycle_code:
        query = query.where(SignoffReply.cycle_code == cycle_code)
    return list(reversed(session.exec(query).all()))
