"""Issue 17 through the front door: a unit replies to its provisional 反馈函 (征求意见稿) with its
evidence attached; the IMAP intake (a real dovecot on loopback) takes the reply as an objection
— not as a returned form, though a .docx is attached — keeps the evidence and moves the message."""

from __future__ import annotations

import pytest
from sqlmodel import select

from kaoping import db
from kaoping.models import Objection, OutboxMessage
from kaoping.services.mailbox import fetch_mail
from kaoping.services.objection_window import office_today
from tests.factories import open_objection_window, scored_cycle, sign_off
from tests.imap_mail import reply
from tests.services.test_mailbox_imap import deliver, folder

LIAISON = "liaison@150204.baotou.example"  # 青山区


def test_a_reply_to_the_provisional_letter_is_an_objection_with_its_evidence(imap_settings, imap_server, tmp_path):
    settings = imap_settings
    if "postgresql" in settings.database_url:
        pytest.skip("the objection service runs on both backends in test_objections; here the mail path (SQLite)")
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    open_objection_window(settings, today=office_today())
    with db.session_scope(settings) as session:
        letter = session.exec(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == "objection-letter:2022H1:150204")).one()
        subject, message_id = letter.subject, letter.message_id

    raw = reply(LIAISON, f"回复：{subject}", [("指标43佐证材料.docx", b"PK\x03\x04 evidence")],
                text="指标序号：43\n异议内容：我区政务服务事项已全部上线，得分偏低。\n依据：见附件。",
                headers={"In-Reply-To": message_id, "References": message_id})
    deliver(imap_server, settings, raw)
    report = fetch_mail(settings)

    assert [m.outcome for m in report.messages] == ["reply"] and report.messages[0].files == []
    assert "已登记异议 1 条" in report.messages[0].summary
    with db.session_scope(settings) as session:
        objection = session.exec(select(Objection)).one()
        assert objection.indicator_number == 43 and objection.sender == LIAISON and "偏低" in objection.disputed
        assert objection.attachments, "the evidence is kept with the objection"
    assert len(folder(imap_server, settings, settings.imap_processed_folder)) == 1
