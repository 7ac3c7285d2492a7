"""A raw email as kaoping's services see it (``kaoping.domain.incoming.IncomingMessage``).

Mail from Chinese government mailboxes is often labelled ``gb2312`` while it holds GBK (or
GB18030) characters, sends headers as raw 8-bit GBK, RFC 2047 words in filenames
(``filename="=?GBK?B?…?="``) or RFC 2231 ones (``filename*=gbk''…``). Everything labelled in
the GB family is decoded as GB18030 (a superset of both); undeclared 8-bit text is tried as
UTF-8, then GB18030. An HTML-only body is turned into its text; a forwarded message
(``message/rfc822``) gives its text and its attachments too.

**The sender** is the one address of the raw ``From:`` header, parsed before anything is decoded
(RFC 5322 with the standard library's modern parser): an RFC 2047-encoded display name — even
one that decodes to "liaison@150203…," — is only ever a display name, never an address. A
``From:`` with no address, several, or one the parser flags as malformed gives no sender. With
``KAOPING_MAIL_AUTHSERV_ID`` set, the office server's Authentication-Results must vouch for it
(``kaoping.domain.authentication``); ``unproven`` says why it does not.

``automatic`` says why a message must never be answered: an automatic reply or bounce
(``Auto-Submitted``, ``Precedence``, ``X-Autoreply``, a delivery report, the mailer-daemon) —
kaoping answers people, never machines, so no two robots mail each other in a loop.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header, decode_header
from email.message import Message
from email.policy import compat32
from email.policy import default as modern
from email.utils import parsedate_to_datetime

from kaoping.domain.authentication import check_sender
from kaoping.domain.incoming import Attachment, IncomingMessage, machine_sender

#: Charset labels of the GB family, all read as GB18030 (their superset).
GB_FAMILY = {"gb2312", "gbk", "x-gbk", "cp936", "ms936", "gb_2312-80", "euc-cn", "csgb2312", "chinese", "gb18030",
             "x-euc-cn", "windows-936"}
#: Local parts that only machines write from.
_MSGID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class ParsedMessage:
    message: IncomingMessage
    automatic: str  # why this message must not be answered ("" = a person wrote it)
    raw_sha256: str
    unproven: str = ""  # why the office's mail server does not vouch for the sender ("" = it does, or it is not asked)


def _codec(charset: str | None) -> str:
    label = (charset or "").strip().strip('"').lower()
    if label in GB_FAMILY:
        return "gb18030"
    return label or "utf-8"


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in its declared charset (the GB family as GB18030); undeclared or wrong: UTF-8, then GB18030."""
    for codec in dict.fromkeys([_codec(charset), "utf-8", "gb18030"]):
        try:
            return data.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _unescape_8bit(value: str) -> str:
    """Raw 8-bit header bytes come through the parser as surrogate escapes: decode them properly."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        return decode_bytes(value.encode("ascii", "surrogateescape"), None)
    return value


def header_text(value) -> str:
    """A header's text: RFC 2047 words decoded (GB family as GB18030), raw 8-bit GBK/UTF-8 recovered."""
    if value is None:
        return ""
    if isinstance(value, Header):  # raw 8-bit bytes in the header (compat32 hands them over as unknown-8bit)
        parts = decode_header(value)
        return re.sub(r"\s*\n\s*", " ", "".join(decode_bytes(c, cs) if isinstance(c, bytes) else c for c, cs in parts)).strip()
    value = _unescape_8bit(str(value))
    try:
        parts = decode_header(value)
    except Exception:  # a malformed encoded word: show it as written
        return value
    text = []
    for chunk, charset in parts:
        text.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return re.sub(r"\s*\n\s*", " ", "".join(text)).strip()


def html_to_text(html: str) -> str:
    """The text a reader sees in an HTML body: blocks and line breaks kept, scripts and styles dropped."""
    from lxml import html as lxml_html

    try:
        root = lxml_html.fromstring(html)
    except Exception:  # empty or not HTML at all
        return re.sub(r"<[^>]+>", "", html)
    for element in list(root.iter("script", "style", "head", "title")):
        if element.getparent() is not None:
            element.drop_tree()
    for element in root.iter("br"):
        element.tail = "\n" + (element.tail or "")
    for element in root.iter("p", "div", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table"):
        element.tail = "\n" + (element.tail or "")
    for element in root.iter("td", "th"):
        element.tail = "\t" + (element.tail or "")
    text = root.text_content().replace("\xa0", " ")
    return re.sub(r"\n[ \t]*\n(\s*\n)+", "\n\n", text).strip()


def _filename(part: Message) -> str:
    name = part.get_filename()  # RFC 2231 collapsed (its charset applied) by the email package
    if name is None:
        name = part.get_param("name")  # old clients: Content-Type name=
        if isinstance(name, tuple):
            name = email.utils.collapse_rfc2231_value(name)
    if not name:
        return ""
    name = header_text(name)  # RFC 2047 words inside the parameter, raw 8-bit bytes
    return name.replace("/", "_").replace("\\", "_").strip()


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    return decode_bytes(payload, part.get_content_charset())


@dataclass
class _Walk:
    levels: list[dict]  # the message, then each forwarded message: {"heading", "plain", "html"}
    attachments: list[Attachment]

    def text(self) -> str:
        """Each level's plain text, or its HTML's text when it has none (an HTML-only message)."""
        parts = []
        for level in self.levels:
            body = "\n".join(t for t in level["plain"] if t.strip()).strip()
            if not body and level["html"]:
                body = "\n".join(html_to_text(h) for h in level["html"]).strip()
            parts += [p for p in (level["heading"], body) if p]
        return "\n".join(parts).strip()


def _walk(part: Message, found: _Walk, level: int = 0) -> None:
    """Bodies and attachments of a message, a forwarded message's included (bounded depth)."""
    content_type = part.get_content_type()
    if part.get_content_maintype() == "message" and content_type != "message/delivery-status":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if isinstance(inner, Message) and len(found.levels) < 20:
            found.levels.append({"heading": f"---------- 转发的邮件：{header_text(inner.get('Subject'))} ----------",
                                 "plain": [], "html": []})
            _walk(inner, found, len(found.levels) - 1)
        return
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _walk(sub, found, level)
        return
    name = _filename(part)
    disposition = (part.get_content_disposition() or "").lower()
    if name or disposition == "attachment":
        data = part.get_payload(decode=True) or b""
        found.attachments.append(Attachment(name or f"附件{len(found.attachments) + 1}", data, content_type))
    elif content_type == "text/plain":
        found.levels[level]["plain"].append(_text_of(part))
    elif content_type == "text/html":
        found.levels[level]["html"].append(_text_of(part))


def _automatic(message: Message, sender: str, own: set[str]) -> str:
    froms = [header_text(value) for value in message.get_all("From") or []]
    if not sender and any(f.strip() for f in froms):
        return f"发件人地址无效或不止一个（From: {'；'.join(froms)[:120]}），无法确认是谁发来的"
    auto = header_text(message.get("Auto-Submitted")).lower()
    if auto and auto != "no":
        return f"自动发送的邮件（Auto-Submitted: {auto}）"
    precedence = header_text(message.get("Precedence")).lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"群发或自动邮件（Precedence: {precedence}）"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if message.get(name) is not None:
            return f"自动回复（{name}）"
    if message.get_content_type() == "multipart/report":
        return "退信或回执（multipart/report）"
    if message.get("List-Id") is not None:
        return "邮件列表的邮件（List-Id）"
    if machine_sender(sender):
        return f"系统邮件（发件人 {sender or '为空'}）"
    if sender in own:
        return f"本系统自己的地址（{sender}）发出的邮件"
    return ""


def sender_address(value) -> str:
    """The one address of a raw ``From:`` header, lower-cased; "" when it has none, several, or is
    malformed. Display names never count (RFC 2047 words are decoded only as display names)."""
    if value is None:
        return ""
    text = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # raw 8-bit bytes: recovered as text, encoded words untouched
        text = decode_bytes(text.encode("ascii", "surrogateescape"), None)
    try:
        header = modern.header_factory("From", text.replace("\r", "").replace("\n", " "))
        addresses = [a.addr_spec for a in header.addresses]
        broken = any(type(d).__name__ == "InvalidHeaderDefect" for d in header.defects)
    except Exception:  # noqa: BLE001 - a header the parser cannot take is no proof of anyone
        return ""
    if broken or len(addresses) != 1 or "@" not in addresses[0] or addresses[0].startswith("<"):
        return ""
    return addresses[0].strip().lower()


def message_ids(value: str) -> list[str]:
    return _MSGID.findall(value or "")


def digest_message_id(raw: bytes) -> str:
    """A stable id for a message without a Message-ID: the hash of its bytes."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@kaoping.digest>"


def parse_message(raw: bytes, *, internal_date: datetime | None = None, own_addresses: set[str] = frozenset(),
                  authserv_id: str = "") -> ParsedMessage:
    """The message as an ``IncomingMessage``, whether a machine sent it, and (``authserv_id`` given)
    whether the office's mail server vouches for its sender."""
    message = email.message_from_bytes(raw, policy=compat32)
    froms = message.get_all("From") or []
    sender = sender_address(froms[0]) if len(froms) == 1 else ""
    found = _Walk([{"heading": "", "plain": [], "html": []}], [])
    _walk(message, found)
    text = found.text()
    received_at = internal_date
    if received_at is None:
        try:
            received_at = parsedate_to_datetime(header_text(message.get("Date")))
        except (TypeError, ValueError, IndexError):
            received_at = None
    if received_at is None:
        received_at = datetime.now(UTC)
    if received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=UTC)
    ids = message_ids(header_text(message.get("Message-ID")))
    incoming = IncomingMessage(
        message_id=ids[0] if ids else digest_message_id(raw),
        sender=sender,
        subject=header_text(message.get("Subject")),
        text=text,
        received_at=received_at,
        in_reply_to=(message_ids(header_text(message.get("In-Reply-To"))) or [""])[0],
        references=tuple(message_ids(header_text(message.get("References")))),
        attachments=tuple(found.attachments),
    )
    own = {a.strip().lower() for a in own_addresses if a}
    unproven = ""
    if authserv_id.strip():
        results = [str(h) for h in message.get_all("Authentication-Results") or []]
        check = check_sender(results, authserv_id, sender)
        unproven = "" if check.vouched else check.reason
    return ParsedMessage(incoming, _automatic(message, sender, own), hashlib.sha256(raw).hexdigest(), unproven)
