"""The SMTP wire: one connection reused for a batch, STARTTLS/SSL and login as configured, and
the words of a server's refusal. What happens to a stored message (its states, retries per
message) is ``notifications.delivery``.

Transient trouble before the end of the data (connection refused, dropped before or during
DATA, timeouts, 4xx replies) is retryable (``is_transient``); a 5xx reply is permanent;
STARTTLS required but not offered, a TLS or login failure stop a batch
(``ConnectionRefusedForGood``); a drop after the end of the data is ``UncertainDelivery``.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from email._policybase import Compat32

from kaoping.domain.readiness import Check
from kaoping.settings import Settings, SmtpSecurity

log = logging.getLogger("kaoping.mail")

class _Wire(Compat32):
    """``compat32`` with CRLF lines (smtplib does not convert bytes), which writes a header that needs no
    folding or encoding — ASCII, one line, within the line length — as it is, without building an
    ``email.header.Header`` to find that out (most of a message's ~20 headers; the same bytes)."""

    def _fold(self, name, value, sanitize):
        if (isinstance(value, str) and value.isascii() and len(name) + len(value) + 2 <= (self.max_line_length or 78)
                and "\r" not in value and "\n" not in value and (not value or not value[0].isspace())):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


#: How a message is written for the wire.
WIRE = _Wire(linesep="\r\n")


class PermanentFailure(Exception):
    """The server refused this message for good (5xx); its words are the message."""


class UncertainDelivery(Exception):
    """The connection dropped after the end of the data, before the server's reply."""


class ConnectionRefusedForGood(Exception):
    """The connection itself cannot work as configured (STARTTLS not offered, TLS or login refused):
    every message would fail the same way."""


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (ssl.SSLError, UncertainDelivery, ConnectionRefusedForGood, smtplib.SMTPNotSupportedError)):
        return False  # a certificate or TLS setting problem, or a drop after the data: retrying now will not help
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    return isinstance(exc, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, socket.timeout,
                            TimeoutError, OSError))


def server_words(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "；".join(f"{rcpt}: {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
                        for rcpt, (code, msg) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {error}"
    if isinstance(exc, (UncertainDelivery, ConnectionRefusedForGood)):
        return str(exc)
    return f"{exc.__class__.__name__}: {exc}"


class SmtpTransport:
    """One SMTP connection, opened lazily and reopened after trouble."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.connection: smtplib.SMTP | None = None
        self.connects = 0

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.settings.smtp_ca_file) if self.settings.smtp_ca_file else None)
        if not self.settings.smtp_verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def open(self) -> smtplib.SMTP:
        if self.connection is not None:
            return self.connection
        s = self.settings
        if s.smtp_security is SmtpSecurity.ssl:
            connection = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=self._tls_context())
        else:
            connection = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            if s.smtp_security is SmtpSecurity.starttls:
                try:
                    connection.starttls(context=self._tls_context())
                except smtplib.SMTPNotSupportedError:
                    connection.close()
                    raise ConnectionRefusedForGood(
                        f"SMTP 服务器 {s.smtp_host}:{s.smtp_port} 不提供 STARTTLS，而 KAOPING_SMTP_SECURITY=starttls 要求加密："
                        "邮件未以明文发出。请确认服务器地址和端口（如 587），或改用 ssl（465）。"
                        " / STARTTLS required but not offered.") from None
        if s.smtp_user:
            try:
                connection.login(s.smtp_user, s.smtp_password.get_secret_value())
            except smtplib.SMTPAuthenticationError as exc:
                connection.close()
                raise ConnectionRefusedForGood(
                    f"SMTP 登录被拒绝（{server_words(exc)}）：请检查 KAOPING_SMTP_USER 和 KAOPING_SMTP_PASSWORD。"
                    " / SMTP authentication failed.") from None
            except smtplib.SMTPNotSupportedError:
                connection.close()
                raise ConnectionRefusedForGood(
                    "SMTP 服务器不支持登录（AUTH），而设置了 KAOPING_SMTP_USER：请确认是否需要加密（KAOPING_SMTP_SECURITY）"
                    "或清空 KAOPING_SMTP_USER。 / The server offers no AUTH.") from None
        self.connection = connection
        self.connects += 1
        return connection

    def drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except Exception:  # already broken: closing is all we can do
                try:
                    self.connection.close()
                except Exception:
                    pass
            self.connection = None

    def send(self, message: bytes, sender: str, recipients: list[str]) -> dict:
        """``sendmail``, step by step, so that a drop after the end of the data (the server may
        have stored the message) is told apart from one before it (nothing stored: retry). When the
        server offers PIPELINING (RFC 2920: Postfix, Exchange and the hosted 政务邮箱 servers do),
        MAIL, RCPT and DATA go out in one write and their replies are read in order: one round trip
        to the server instead of two plus one per recipient, with the same checks of every reply."""
        connection = self.open()
        connection.ehlo_or_helo_if_needed()
        options = [f"size={len(message)}"] if connection.does_esmtp and connection.has_extn("size") else []
        if connection.does_esmtp and connection.has_extn("pipelining"):
            refused = self._envelope_pipelined(connection, sender, options, recipients)
        else:
            refused = self._envelope(connection, sender, options, recipients)
        return self._data(connection, message, refused)

    @staticmethod
    def _envelope(connection: smtplib.SMTP, sender: str, options: list[str], recipients: list[str]) -> dict:
        code, words = connection.mail(sender, options)
        if code != 250:
            connection.rset() if code != 421 else connection.close()
            raise smtplib.SMTPSenderRefused(code, words, sender)
        refused = {}
        for recipient in recipients:
            code, words = connection.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, words)
            if code == 421:
                connection.close()
                raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            connection.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        connection.putcmd("data")
        code, words = connection.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, words)
        return refused

    @staticmethod
    def _envelope_pipelined(connection: smtplib.SMTP, sender: str, options: list[str], recipients: list[str]) -> dict:
        """MAIL, every RCPT and DATA in one write (RFC 2920), then every reply read, in order: the
        outcome is the one ``_envelope`` reaches command by command."""
        lines = [f"mail FROM:{smtplib.quoteaddr(sender)}{''.join(' ' + o for o in options)}\r\n"]
        lines += [f"rcpt TO:{smtplib.quoteaddr(recipient)}\r\n" for recipient in recipients]
        lines.append("data\r\n")
        connection.send("".join(lines).encode("ascii"))
        mail = connection.getreply()
        replies = {}
        for recipient in recipients:
            replies[recipient] = connection.getreply()
        data = connection.getreply()
        refused = {r: reply for r, reply in replies.items() if reply[0] not in (250, 251)}
        if data[0] == 354 and (mail[0] != 250 or len(refused) == len(recipients)):
            # A server that opens the data without a sender or a recipient (RFC 2920 says it must not):
            # an empty message ends it, and the transaction is reset below.
            connection.send(b"." + smtplib.bCRLF)
            connection.getreply()
        if mail[0] != 250:
            connection.rset() if 421 not in (mail[0], data[0]) else connection.close()
            raise smtplib.SMTPSenderRefused(mail[0], mail[1], sender)
        if any(code == 421 for code, _ in replies.values()):
            connection.close()
            raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(recipients):
            connection.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        if data[0] != 354:
            raise smtplib.SMTPDataError(*data)
        return refused

    def _data(self, connection: smtplib.SMTP, message: bytes, refused: dict) -> dict:
        # Dot-stuffing (RFC 5321 4.5.2) only where a line starts with a dot: never in base64 lines, so
        # the regular expression need not walk the attachment's lines to find none.
        data = smtplib._quote_periods(message) if message[:1] == b"." or b"\n." in message else message
        if data[-2:] != smtplib.bCRLF:
            data += smtplib.bCRLF
        connection.send(data + b"." + smtplib.bCRLF)
        try:
            code, words = connection.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.connection = None
            raise UncertainDelivery(
                f"数据发送完毕后连接断开，未收到服务器答复（{exc.__class__.__name__}）：服务器可能已收下这封邮件。"
                " / The connection dropped after the end of the data.") from None
        if code != 250:
            raise smtplib.SMTPDataError(code, words)
        return refused


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def smtp_check(settings: Settings) -> Check:
    """`kaoping doctor`: connect, STARTTLS or SSL and log in exactly as a batch of email would (no
    message is sent). ✘ when that fails; ! when mail would leave the machine unencrypted."""
    s = settings.model_copy(update={"smtp_timeout": min(settings.smtp_timeout, 10.0)})
    where = f"{s.smtp_host}:{s.smtp_port}"
    transport = SmtpTransport(s)
    try:
        transport.open().noop()
    except ConnectionRefusedForGood as exc:
        return Check.fail("邮件", "发件（SMTP）", str(exc))
    except ssl.SSLError as exc:
        return Check.fail("邮件", "发件（SMTP）", f"与 {where} 的 TLS 握手失败（{exc}）",
                          fix="检查 KAOPING_SMTP_SECURITY 和端口（starttls 用 587，ssl 用 465）；服务器用私有证书时设置 KAOPING_SMTP_CA_FILE")
    except (OSError, smtplib.SMTPException) as exc:
        return Check.fail("邮件", "发件（SMTP）", f"无法连接 {where}（{server_words(exc)}）",
                          fix="确认 KAOPING_SMTP_HOST、KAOPING_SMTP_PORT 正确，本机能访问该服务器（防火墙）")
    finally:
        transport.drop()
    how = {SmtpSecurity.none: "未加密", SmtpSecurity.starttls: "STARTTLS 加密", SmtpSecurity.ssl: "SSL 加密"}[s.smtp_security]
    login = f"，以 {s.smtp_user} 登录成功" if s.smtp_user else "，未登录（KAOPING_SMTP_USER 为空）"
    summary = f"{where} 连接成功（{how}）{login}；发件地址 {s.mail_from}"
    if s.smtp_security is SmtpSecurity.none and not _loopback(s.smtp_host):
        return Check.warn("邮件", "发件（SMTP）", summary,
                          fix="邮件（含签字验证码）将以明文经过网络：如服务器支持，设置 KAOPING_SMTP_SECURITY=starttls（587）或 ssl（465）")
    return Check.ok("邮件", "发件（SMTP）", summary)
