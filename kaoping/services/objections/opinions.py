"""The lead assessor's opinion on an objection (牵头考核单位意见), by reply to the routing email.

Each objection naming an indicator is routed to the item's lead assessors (``objection_routed``);
that email asks them to reply “维持原分” or “同意更正为 X 分” and why. A reply from one of the lead
assessor's registered addresses is recorded as its opinion on that objection (kept, audited,
acknowledged) and shown to the team in ``kaoping objections list``, the Prefect artifact and when
deciding; the team still decides (``kaoping objections decide``). A reply from any other address is
kept, not recorded, and not answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from kaoping.adapters.uploads import Upload
from kaoping.domain.clock import local_date
from kaoping.domain.incoming import IncomingMessage
from kaoping.domain.objection_text import read_opinion
from kaoping.models import (
    Cycle,
    Objection,
    ObjectionOpinion,
    ObjectionStatus,
    OpinionStance,
    OutboxMessage,
)
from kaoping.notifications.outbox import queue
from kaoping.notifications.render import render, when
from kaoping.records import audit
from kaoping.records.received import keep_received
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.objections.record import recipients, unit_addresses
from kaoping.services.objections.summary import stance_text
from kaoping.services.scoring.entry import CycleContext
from kaoping.settings import Settings

PURPOSE = "objection_opinion"
ACTOR = "mail:objections"


@dataclass
class OpinionOutcome:
    objection_id: int
    lead: str
    recorded: bool
    summary: str


def _routed_of(session: Session, message: IncomingMessage) -> OutboxMessage | None:
    ids = [i for i in message.replied_to if i]
    if not ids:
        return None
    return session.exec(select(OutboxMessage).where(OutboxMessage.message_id.in_(ids),
                                                    OutboxMessage.kind == "objection_routed")).first()


def take_reply(session: Session, settings: Settings, message: IncomingMessage) -> OpinionOutcome | None:
    """An email that reached the office mailbox: ``None`` if it does not answer an objection routed
    to a lead assessor; otherwise recorded (a registered address of that lead assessor) or kept only."""
    routed = _routed_of(session, message)
    if routed is None:
        return None
    _, objection_id, lead_id = routed.idempotency_key.split(":")  # objection-routed:<objection>:<lead unit>
    objection = session.get(Objection, int(objection_id))
    cycle = session.get(Cycle, objection.cycle_id)
    ctx = CycleContext(session, cycle)
    lead_unit_id = int(lead_id)
    lead = ctx.name(lead_unit_id)
    sender = (message.sender or "").strip().lower()
    if message.message_id:
        done = session.exec(select(ObjectionOpinion).where(ObjectionOpinion.message_id == message.message_id)).first()
        if done is not None:
            return OpinionOutcome(objection.id, lead, True, "此前已记录")
    stamp = local_date(message.received_at, settings.tz).isoformat()
    body = Upload(f"牵头单位意见-第{objection.id}号异议-{stamp}.txt",
                  f"主题：{message.subject}\n发件人：{message.sender}\n\n{message.text}".encode())
    details = {"cycle": cycle.code, "objection": objection.id, "lead": lead_unit_id, "message_id": message.message_id,
               "received_at": message.received_at.isoformat()}
    if sender not in unit_addresses(session, lead_unit_id) or sender not in recipients(routed):
        reason = (f"发件人 {sender or '（无）'} 不是{lead}在考评对象名录中登记的邮箱" if sender not in unit_addresses(session, lead_unit_id)
                  else f"发件人 {sender} 没有收到所回复的异议转办邮件（它发给了 {'、'.join(sorted(recipients(routed)))}）")
        reason += f"：未作为牵头考核单位意见记录，已保存备查（专班可向{lead}核实）。"
        keep_received(session, settings, body, purpose=PURPOSE, status="refused", reason=reason, sender=sender,
                      details=details)
        audit.append(session, actor=ACTOR, action="objections.opinion_refused", entity=f"cycle:{cycle.code}/objection:{objection.id}",
                     cycle_code=cycle.code, after={"sender": sender, "message_id": message.message_id}, reason=reason)
        return OpinionOutcome(objection.id, lead, False, reason)
    kept = keep_received(session, settings, body, purpose=PURPOSE, status="accepted", sender=sender, details=details)
    for attachment in message.attachments:
        keep_received(session, settings, Upload(attachment.filename or "附件", attachment.content), purpose=PURPOSE,
                      status="accepted", sender=sender, details={**details, "part": "attachment"})
    read = read_opinion(message.text)
    opinion = ObjectionOpinion(objection_id=objection.id, lead_unit_id=lead_unit_id, stance=OpinionStance(read.stance),
                               score=read.score, text=read.text or message.subject, sender=sender,
                               message_id=message.message_id, received_at=message.received_at, received_file_id=kept.id)
    session.add(opinion)
    session.flush()
    audit.append(session, actor=f"mail:{sender}"[:64], action="objections.opinion",
                 entity=f"cycle:{cycle.code}/objection:{objection.id}", cycle_code=cycle.code,
                 after={"lead": lead, "stance": read.stance, "score": read.score, "text": opinion.text[:500]},
                 reason="收到牵头考核单位对异议的意见")
    decided = objection.status != ObjectionStatus.open
    rendered = render("objection_opinion_received", settings, greeting=lead, period=cycle_label(cycle),
                      unit=ctx.name(objection.unit_id), indicator=objection.indicator_number, objection_id=objection.id,
                      received=when(message.received_at, settings), stance=stance_text(opinion),
                      unclear=read.stance == "unclear", decided=decided,
                      outcome=ObjectionStatus(objection.status).label)
    queue(session, settings, key=f"objection-opinion:{opinion.id}", kind="objection_opinion_received", to=[sender],
          subject=rendered.subject, text=rendered.text, html=rendered.html, cycle_code=cycle.code,
          in_reply_to=message.message_id, references=tuple(message.references))
    return OpinionOutcome(objection.id, lead, True, f"已记录（{stance_text(opinion)}）" + ("；该异议此前已处理" if decided else ""))
