"""Issue 15 item 2 through the front door: a signer's reply reaches the office mailbox (a real
dovecot on loopback), the IMAP intake takes it as the signature and names the waiting run to
release; a reply with a wrong code is refused by a reply email and the stage stays unsigned."""

from __future__ import annotations

from kaoping.models import CycleStatus, OutboxMessage
from kaoping.notifications.mailbox import fetch_mail
from sqlmodel import select

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from tests.factories import WAITING_RUN, ask_signer, scored_cycle
from tests.imap_mail import deliver, folder, reply


def _reply_to(request_id: str, subject: str, sender: str, text: str) -> bytes:
    return reply(sender, f"回复：{subject}", text=text, headers={"In-Reply-To": request_id, "References": request_id})


def test_a_signers_reply_over_imap_signs_and_a_wrong_code_is_refused(imap_settings, imap_server, tmp_path, request):
    settings = imap_settings
    if "postgresql" in settings.database_url:
        import pytest

        pytest.skip("the sign-off service runs on both backends in test_signoff_reply; here the mail path (SQLite)")
    scored_cycle(settings, tmp_path)
    code, message_id, subject = ask_signer(settings)
    wrong = "000000" if code != "000000" else "111111"

    deliver(imap_server, settings, _reply_to(message_id, subject, settings.verifier_email, f"同意。验证码 {wrong}"))
    first = fetch_mail(settings)
    assert [m.outcome for m in first.messages] == ["reply"]
    assert "签字未生效" in first.messages[0].summary and first.messages[0].release_run == ""
    with db.session_scope(settings) as session:
        assert get_cycle(session, "2022H1").status == CycleStatus.open
        answers = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "signoff_reply_refused")).all()
        assert len(answers) == 1 and settings.verifier_email in answers[0].to and "验证码不正确" in answers[0].text_body

    deliver(imap_server, settings, _reply_to(message_id, subject, settings.verifier_email, f"同意\n验证码：{code}"))
    second = fetch_mail(settings)
    assert [m.outcome for m in second.messages] == ["reply"]
    assert "签字已生效" in second.messages[0].summary and second.messages[0].release_run == WAITING_RUN
    with db.session_scope(settings) as session:
        assert get_cycle(session, "2022H1").status == CycleStatus.verified
    # Both replies are kept in the processed folder; nothing waits in the inbox.
    assert len(folder(imap_server, settings, settings.imap_processed_folder)) == 2
    assert folder(imap_server, settings, "INBOX") == []
