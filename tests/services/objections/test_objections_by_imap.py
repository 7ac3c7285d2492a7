"""Issue 17 through the front door: a unit replies to its provisional 反馈函 (征求意见稿) with its
evidence attached; the IMAP intake (a real dovecot on loopback) takes the reply as an objection
— not as a returned form, though a .docx is attached — keeps the evidence and moves the message."""

from __future__ import annotations

import pytest
from kaoping.models import Objection, OutboxMessage
from kaoping.notifications.mailbox import fetch_mail
from sqlmodel import select

from kaoping import db
from kaoping.services.objections.window import office_today
from tests.factories import filled_objection_form, open_objection_window, scored_cycle, sign_off
from tests.imap_mail import deliver, folder, reply

LIAISON = "liaison@150204.baotou.example"  # 青山区


def letter_sent(settings, tmp_path) -> tuple[str, str]:
    """A verified 2022H1 with the objection window open: the subject and Message-ID of 青山区's letter."""
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())
    with db.session_scope(settings) as session:
        letter = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == "objection-letter:2022H1:150204")).one()
        return letter.subject, letter.message_id


def test_a_reply_to_the_provisional_letter_is_an_objection_with_its_evidence(imap_settings, imap_server, tmp_path):
    settings = imap_settings
    if "postgresql" in settings.database_url:
        pytest.skip("the objection service runs on both backends in test_objections; here the mail path (SQLite)")
    subject, message_id = letter_sent(settings, tmp_path)

    raw = reply(LIAISON, f"回复：{subject}", [("指标43佐证材料.docx", b"PK\x03\x04 evidence")],
                text="指标序号：43\n异议内容：我区政务服务事项已全部上线，得分偏低。\n依据：见附件。",
                headers={"In-Reply-To": message_id, "References": message_id}, message_id="<objection@150204.example>")
    deliver(imap_server, settings, raw)
    report = fetch_mail(settings)

    assert [m.outcome for m in report.messages] == ["reply"] and report.messages[0].files == []
    assert "已登记异议 1 条" in report.messages[0].summary
    with db.session_scope(settings) as session:
        objection = session.exec(select(Objection)).one()
        assert objection.indicator_number == 43 and objection.sender == LIAISON and "偏低" in objection.disputed
        assert objection.attachments, "the evidence is kept with the objection"
        receipt = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "objection_received")).one()
        # The receipt answers in the thread (issue 26 item 6): the letter, then the unit's reply.
        assert receipt.in_reply_to == "<objection@150204.example>"
        assert receipt.reference_ids.split() == [message_id, "<objection@150204.example>"]
    assert len(folder(imap_server, settings, settings.imap_processed_folder)) == 1


def test_the_objection_form_comes_back_by_mail_reply_or_not(imap_settings, imap_server, tmp_path):
    """The filled objection form (异议表) attached to a reply — and to a fresh email from the unit —
    is taken as objections, never as a self-assessment; a blank one is refused with what to fix."""
    from kaoping.models import ObjectionOpinion, ObjectionSource, Submission

    settings = imap_settings
    if "postgresql" in settings.database_url:
        pytest.skip("the objection service runs on both backends in test_objection_forms; here the mail path (SQLite)")
    subject, message_id = letter_sent(settings, tmp_path)
    form = filled_objection_form(settings, [("57", "数据共享已全部完成，应得满分。", "验收报告（附件）")])
    deliver(imap_server, settings, reply(LIAISON, f"回复：{subject}", [("异议表.docx", form), ("验收报告.docx", b"PK\x03\x04 proof")],
                                         text="异议表和佐证材料见附件。", headers={"In-Reply-To": message_id, "References": message_id}))
    later = filled_objection_form(settings, [("43", "事项已全部上线。", "")])
    deliver(imap_server, settings, reply(LIAISON, "青山区异议表", [("青山区异议表.docx", later)], text="请查收。"))
    blank = filled_objection_form(settings, [])
    deliver(imap_server, settings, reply(LIAISON, "异议表", [("空白异议表.docx", blank)], text="无", message_id="<blank@150204.example>"))
    report = fetch_mail(settings)

    assert [m.outcome for m in report.messages] == ["reply", "reply", "reply"], [m.summary for m in report.messages]
    assert "已登记异议 1 条" in report.messages[0].summary and "已登记异议 1 条" in report.messages[1].summary
    assert "没有填写任何异议" in report.messages[2].summary
    with db.session_scope(settings) as session:
        made = session.exec(select(Objection).order_by(Objection.id)).all()
        assert [(o.indicator_number, o.source) for o in made] == [(57, ObjectionSource.form), (43, ObjectionSource.form)]
        assert [a["filename"] for a in made[0].attachments] == ["异议表.docx", "验收报告.docx"]
        first_id = made[0].id
        assert session.exec(select(Submission)).all() == []
        refused = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "objection_refused")).one()
        assert refused.to == [LIAISON] and "没有填写任何异议" in refused.text_body
        assert refused.in_reply_to == refused.reference_ids == "<blank@150204.example>"
        assert not session.exec(select(OutboxMessage).where(OutboxMessage.kind.in_(("return_refused", "mail_no_form")))).all()
    assert len(folder(imap_server, settings, settings.imap_processed_folder)) == 2  # the blank form: with the refused mail
    assert len(folder(imap_server, settings, settings.imap_refused_folder)) == 1

    # The lead assessor answers the email that routed the objection to it: recorded as its opinion.
    with db.session_scope(settings) as session:
        routed = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"objection-routed:{first_id}:%"))).first()
        lead, routed_subject, routed_id = routed.to[0], routed.subject, routed.message_id
    deliver(imap_server, settings, reply(lead, f"回复：{routed_subject}", text="维持原分\n理由：验收晚于时间节点。",
                                         headers={"In-Reply-To": routed_id, "References": routed_id}))
    [answered] = fetch_mail(settings).messages
    assert answered.outcome == "reply" and "维持原分" in answered.summary, answered.summary
    with db.session_scope(settings) as session:
        [opinion] = session.exec(select(ObjectionOpinion)).all()
        assert (opinion.objection_id, opinion.stance, opinion.sender) == (first_id, "maintain", lead)
        answer = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "objection_opinion_received")).one()
        assert answer.in_reply_to != routed_id and answer.reference_ids.split()[0] == routed_id
