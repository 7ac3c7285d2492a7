"""A real SMTP server on loopback for the tests (aiosmtpd, in the test process), with
scripted trouble: replies to DATA, refused recipients, a dropped connection, STARTTLS, AUTH."""

from __future__ import annotations

import asyncio
import datetime
import email
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self):
        return email.message_from_bytes(self.raw, policy=policy.default)


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)  # replies to the next DATA commands, then 250
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550
    drop_next_data: int = 0  # close the connection in the middle of the next N DATA commands
    sessions: int = 0
    hold_at: int | None = None  # hold the DATA of message number N (1-based) until released, then drop it
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    data_seen: int = 0
    # Offer PIPELINING (RFC 2920) in the EHLO reply, as Postfix and Exchange do: aiosmtpd reads commands one
    # line at a time from its stream, so pipelined commands are answered in order; it just does not say so.
    pipelining: bool = False
    # For each MAIL: had the client already sent what follows (RCPT, DATA) before the server's reply?
    mail_pipelined: list[bool] = field(default_factory=list)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.host_name = hostname
        if self.pipelining:
            responses = [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.pipelining:  # one write carries MAIL, RCPT and DATA: what follows MAIL is in the reader's buffer
            await asyncio.sleep(0.002)
        self.mail_pipelined.append(bool(server._reader._buffer))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_seen += 1
        if self.hold_at is not None and self.data_seen == self.hold_at:
            self.held.set()  # the client now waits for our reply, as if the network stalled
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            server.transport.close()
            return "421 closing"
        if self.drop_next_data:
            self.drop_next_data -= 1
            server.transport.close()
            return "421 closing"
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued"


class SmtpServer:
    def __init__(self, *, port: int | None = None, tls: tuple[Path, Path] | None = None, require_starttls: bool = False,
                 users: dict[str, str] | None = None, implicit_tls: bool = False):
        self.handler = Handler()
        self.port = port or free_port()
        self.tls = tls
        self.users = users
        kwargs = {}
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            if implicit_tls:  # SMTPS (port 465 style): TLS from the first byte
                kwargs.update(ssl_context=context)
            else:
                kwargs.update(tls_context=context, require_starttls=require_starttls)
        if users is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=bool(tls))
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, server_hostname="localhost",
                                     decode_data=False, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> "SmtpServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def mail_settings(settings, port: int, **extra):
    """``settings`` pointed at a loopback SMTP server on ``port`` (validated like any settings), with short
    retries; ``extra`` overrides any setting (``smtp_attempts=…``, ``smtp_security="starttls"`` …)."""
    from kaoping.settings import Settings

    values = {**settings.model_dump(), "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_retry_initial": 0.01,
              "smtp_retry_max": 0.05, "smtp_attempts": 4, "smtp_timeout": 5, **extra}
    return Settings(**values, _env_file=None)
