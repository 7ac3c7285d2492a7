"""Emails as units send them back, for the IMAP tests, the demo-like flow test and the benchmark:
built with the standard library the way common clients (Outlook, Foxmail, 政务邮箱 webmail) do;
and the test mailbox on the `imap_server` fixture's dovecot: `deliver` a message into it, read a `folder`."""

from __future__ import annotations

import base64
import io
import zipfile
from datetime import datetime
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def gbk_word(text: str) -> str:
    """An RFC 2047 encoded word in GBK, as Foxmail writes names and filenames."""
    return f"=?GBK?B?{base64.b64encode(text.encode('gbk')).decode()}?="


def reply(sender: str, subject: str, attachments: list[tuple[str, bytes]] = (), *, text: str | None = "表格已填好，请查收。",
          html: str | None = None, charset: str = "utf-8", gbk_names: bool = False, headers: dict | None = None,
          message_id: str | None = None, forwarded=None) -> bytes:
    """A reply with forms attached (RFC 2231 filenames, or RFC 2047 GBK words with ``gbk_names``)."""
    message = MIMEMultipart("mixed")
    message["From"] = sender
    message["To"] = "zhuanban@baotou.example"
    message["Subject"] = Header(subject, charset)
    message["Date"] = formatdate(localtime=True)
    if message_id != "":
        message["Message-ID"] = message_id or make_msgid(domain="unit.example")
    for key, value in (headers or {}).items():
        message[key] = value
    if text is not None:
        message.attach(MIMEText(text, "plain", charset))
    if html is not None:
        message.attach(MIMEText(html, "html", charset))
    for name, data in attachments:
        part = MIMEApplication(data, _subtype="zip" if name.endswith(".zip") else DOCX.split("/")[1])
        if gbk_names:
            part.add_header("Content-Disposition", "attachment", filename=gbk_word(name))
        else:
            part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        message.attach(part)
    if forwarded is not None:
        message.attach(MIMEMessage(forwarded))
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))  # as on the wire


def forward_of(original: bytes):
    import email
    from email import policy

    return email.message_from_bytes(original, policy=policy.compat32)


class _GbkName(zipfile.ZipInfo):
    def _encodeFilenameFlags(self):  # what Chinese Windows writes: GBK bytes, no UTF-8 flag
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def gbk_zip(entries: dict[str, bytes]) -> bytes:
    """A .zip as Chinese Windows makes it: member names in GBK, without the UTF-8 flag."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = _GbkName(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def deliver(server, settings, raw: bytes, when: datetime | None = None) -> None:
    """Put ``raw`` in the INBOX of ``settings``' mailbox on the test IMAP server, as if it had arrived at ``when``."""
    from imapclient import IMAPClient

    with IMAPClient("127.0.0.1", port=server.port, ssl=False) as client:
        client.login(settings.imap_user, server.password)
        client.append("INBOX", raw, msg_time=when)


def folder(server, settings, name: str) -> list[bytes]:
    """The messages (raw) in folder ``name`` of ``settings``' mailbox; none if there is no such folder."""
    from imapclient import IMAPClient

    with IMAPClient("127.0.0.1", port=server.port, ssl=False) as client:
        client.login(settings.imap_user, server.password)
        if not client.folder_exists(name):
            return []
        client.select_folder(name, readonly=True)
        uids = client.search(["NOT", "DELETED"])
        return [d[b"BODY[]"] for _, d in sorted(client.fetch(uids, [b"BODY.PEEK[]"]).items())] if uids else []
