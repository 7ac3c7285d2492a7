"""The local catch-all SMTP server of the demo and the benchmarks (notifications/mail/sink.py): every message
saved byte for byte as an .eml file named by its number, recipients and subject (decoded)."""

from __future__ import annotations

import smtplib
from email import policy
from email.message import EmailMessage

from kaoping.notifications.mail.sink import MailSink


def test_each_message_is_saved_as_sent_and_named_by_its_subject(tmp_path):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "office@example.org", "liaison@example.org", "关于报送自评表的通知 2022/上半年"
    message.set_content("您好：\n请于7月8日前报送。")
    message.add_attachment(b"PK\x03\x04" + bytes(range(256)) * 400, maintype="application", subtype="octet-stream",
                           filename="自评表.docx")
    raw = message.as_bytes(policy=policy.SMTP)
    with MailSink(tmp_path / "mail") as sink, smtplib.SMTP("127.0.0.1", sink.port) as client:
        client.sendmail("office@example.org", ["liaison@example.org"], raw)
        client.sendmail("office@example.org", ["other@example.org"], raw)
    first, second = sorted((tmp_path / "mail").iterdir())
    assert sink.count == 2
    assert first.name == "0001-liaison@example.org-关于报送自评表的通知_2022_上半年.eml"
    assert second.name.startswith("0002-other@example.org-")
    assert first.read_bytes().replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
