"""The office mailbox over IMAP (IMAPClient): list what waits in the intake folder, fetch one
message at a time without marking it read, and move it to the processed or refused folder.

IMAPClient rather than bare ``imaplib``: it speaks UIDs throughout, parses FETCH responses
(INTERNALDATE as a timezone-aware datetime), encodes folder names in modified UTF-7 (the
folders are Chinese: 考评已录入) and knows the server's capabilities (MOVE, UIDPLUS) — the
parts that are easy to get subtly wrong by hand. It is maintained, pure Python, no
dependencies. Messages are read with ``BODY.PEEK[]``: fetching never sets ``\\Seen``, so a
crash before kaoping has recorded a message leaves it exactly as it was.

A move uses MOVE (RFC 6851) when the server offers it, else COPY + ``\\Deleted`` + EXPUNGE
(UID EXPUNGE with UIDPLUS, so only this message is expunged).
"""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from imaplib import IMAP4

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from kaoping.domain.errors import KaopingError
from kaoping.domain.readiness import Check
from kaoping.settings import Settings, SmtpSecurity

log = logging.getLogger("kaoping.mail")


class MailboxUnavailable(KaopingError):
    """The office mailbox cannot be reached or used as configured (nothing was taken from it)."""

    exit_code = 4


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    internal_date: datetime | None


def _tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.imap_ca_file) if settings.imap_ca_file else None)
    if not settings.imap_verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _where(settings: Settings) -> str:
    return f"{settings.imap_host}:{settings.effective_imap_port}"


class ImapMailbox:
    """``with ImapMailbox(settings) as box:`` — logged in, the intake folder selected, the
    processed and refused folders created if missing."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.client: IMAPClient | None = None

    def __enter__(self) -> "ImapMailbox":
        s = self.settings
        try:
            client = IMAPClient(s.imap_host, port=s.effective_imap_port, ssl=s.imap_security is SmtpSecurity.ssl,
                                ssl_context=_tls_context(s) if s.imap_security is SmtpSecurity.ssl else None,
                                timeout=s.imap_timeout)
        except (socket.gaierror, ConnectionError, TimeoutError, OSError) as exc:
            raise MailboxUnavailable(
                f"无法连接专用邮箱的 IMAP 服务器 {_where(s)}（{exc.__class__.__name__}: {exc}）：请确认 KAOPING_IMAP_HOST、"
                "KAOPING_IMAP_PORT 和 KAOPING_IMAP_SECURITY（ssl 通常用 993 端口，starttls 和 none 用 143），以及网络是否可达。"
                "邮件留在邮箱中，下次运行再收取。 / The IMAP server cannot be reached.") from None
        try:
            if s.imap_security is SmtpSecurity.starttls:
                if not client.has_capability("STARTTLS"):
                    raise MailboxUnavailable(
                        f"IMAP 服务器 {_where(s)} 不提供 STARTTLS，而 KAOPING_IMAP_SECURITY=starttls 要求加密：密码未以明文发出。"
                        "请改用 ssl（993 端口），或在仅限本机的测试服务器上设为 none。 / STARTTLS required but not offered.")
                client.starttls(_tls_context(s))
            client.login(s.imap_user, s.imap_password.get_secret_value())
        except LoginError as exc:
            client.shutdown()
            raise MailboxUnavailable(f"专用邮箱登录被拒绝（{_words(exc)}）：请检查 KAOPING_IMAP_USER 和 KAOPING_IMAP_PASSWORD。"
                                     " / IMAP login failed.") from None
        except ssl.SSLError as exc:
            client.shutdown()
            raise MailboxUnavailable(f"与 IMAP 服务器 {_where(s)} 的 TLS 握手失败（{exc}）：请检查 KAOPING_IMAP_SECURITY、"
                                     "KAOPING_IMAP_CA_FILE 和服务器证书。 / TLS handshake failed.") from None
        except MailboxUnavailable:
            client.shutdown()
            raise
        except (IMAPClientError, IMAP4.error, OSError) as exc:
            client.shutdown()
            raise MailboxUnavailable(f"IMAP 服务器 {_where(s)} 出错（{_words(exc)}）：请稍后重试，或检查邮箱设置。"
                                     " / IMAP error.") from None
        client.normalise_times = False  # INTERNALDATE with its zone, not converted to naive local time
        self.client = client
        try:
            for folder in (s.imap_processed_folder, s.imap_refused_folder):
                if not client.folder_exists(folder):
                    client.create_folder(folder)
                    log.info("已在邮箱中创建文件夹 %s", folder)
            client.select_folder(s.imap_folder)
        except (IMAPClientError, IMAP4.error) as exc:
            self.__exit__(None, None, None)
            raise MailboxUnavailable(f"无法打开或创建邮箱文件夹（{_words(exc)}）：请确认 KAOPING_IMAP_FOLDER={s.imap_folder!r} 存在，"
                                     "并且该账户可以创建文件夹 KAOPING_IMAP_PROCESSED_FOLDER、KAOPING_IMAP_REFUSED_FOLDER。"
                                     " / Cannot open or create the mailbox folders.") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            try:
                self.client.logout()
            except Exception:  # already broken: closing the socket is all we can do
                try:
                    self.client.shutdown()
                except Exception:
                    pass
            self.client = None

    def waiting(self, limit: int | None = None) -> list[int]:
        """UIDs of the messages in the intake folder (not marked deleted), oldest first."""
        uids = sorted(self.client.search(["NOT", "DELETED"]))
        return uids[:limit] if limit else uids

    def message_ids(self, uids: list[int]) -> dict[int, bytes]:
        """The Message-ID header block of each message (cheap: to skip what is already recorded)."""
        if not uids:
            return {}
        key = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
        response = self.client.fetch(uids, [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        return {uid: data.get(key, b"") or b"" for uid, data in response.items()}

    def fetch(self, uid: int) -> Fetched | None:
        """One message's bytes and INTERNALDATE, without setting \\Seen; None if it is gone."""
        response = self.client.fetch([uid], [b"BODY.PEEK[]", b"INTERNALDATE"])
        data = response.get(uid)
        if not data or data.get(b"BODY[]") is None:
            return None
        return Fetched(uid, bytes(data[b"BODY[]"]), data.get(b"INTERNALDATE"))

    def move(self, uid: int, folder: str) -> None:
        if self.client.has_capability("MOVE"):
            self.client.move([uid], folder)
            return
        self.client.copy([uid], folder)
        self.client.add_flags([uid], [DELETED])
        if self.client.has_capability("UIDPLUS"):
            self.client.uid_expunge([uid])
        else:
            self.client.expunge()


def _words(exc: BaseException) -> str:
    first = exc.args[0] if exc.args else exc
    return first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)


def imap_check(settings: Settings) -> Check:
    """`kaoping doctor`: log in to the office mailbox exactly as the intake does (STARTTLS or SSL,
    the three folders), and count what waits; nothing is fetched or moved. Without a mailbox the
    intake reads the inbox folder: worth a look, not a fault."""
    if not settings.imap_enabled:
        return Check.warn("邮件", "收件（专用邮箱 IMAP）", "未设置 KAOPING_IMAP_HOST：交回的表格从收件文件夹读取，"
                          f"{settings.effective_inbox_dir}",
                          fix="如有专用邮箱（推荐），设置 KAOPING_IMAP_HOST、KAOPING_IMAP_USER、KAOPING_IMAP_PASSWORD，"
                              "并把 KAOPING_MAIL_FROM 设为该邮箱")
    s = settings.model_copy(update={"imap_timeout": min(settings.imap_timeout, 10.0)})
    try:
        with ImapMailbox(s) as box:
            waiting = len(box.waiting())
    except MailboxUnavailable as exc:
        return Check.fail("邮件", "收件（专用邮箱 IMAP）", exc.message)
    how = {SmtpSecurity.none: "未加密", SmtpSecurity.starttls: "STARTTLS 加密", SmtpSecurity.ssl: "SSL 加密"}[s.imap_security]
    summary = (f"{_where(s)} 以 {s.imap_user} 登录成功（{how}）；{s.imap_folder} 中有 {waiting} 封待收，"
               f"文件夹 {s.imap_processed_folder}、{s.imap_refused_folder} 已就绪")
    if s.imap_security is SmtpSecurity.none and not s.imap_host.startswith("127.") and s.imap_host != "localhost":
        return Check.fail("邮件", "收件（专用邮箱 IMAP）", summary + "，但密码以明文发送",
                          fix="设置 KAOPING_IMAP_SECURITY=starttls（143）或 ssl（993）；none 只可用于本机的测试服务器")
    if s.mail_from.strip().lower() != s.imap_user.strip().lower() and "@" in s.imap_user:
        return Check.warn("邮件", "收件（专用邮箱 IMAP）", summary,
                          fix=f"KAOPING_MAIL_FROM（{s.mail_from}）不是该邮箱：各单位回复表格邮件时会回到别处")
    return Check.ok("邮件", "收件（专用邮箱 IMAP）", summary)
