"""A local catch-all SMTP server that saves every message as an .eml file (for the demo and
for trying kaoping without a mail server): ``kaoping mailsink --dir demo-output/mail``."""

from __future__ import annotations

import re
import socket
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from aiosmtpd.controller import Controller


class _SaveToFolder:
    def __init__(self, folder: Path):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        # The headers only (the subject names the file): parsing the bodies too, line by line in Python, cost
        # more than sending them — and the sink shares its process with the demo and the benchmarks.
        message = BytesHeaderParser(policy=policy.default).parsebytes(envelope.original_content)
        subject = re.sub(r'[\\/:*?"<>|\s]+', "_", str(message.get("Subject", "")))[:60]
        to = re.sub(r"[^A-Za-z0-9@._-]+", "_", ",".join(envelope.rcpt_tos))[:60]
        path = self.folder / f"{self.count:04d}-{to}-{subject}.eml"
        path.write_bytes(envelope.original_content)
        return "250 OK: saved"


class MailSink:
    """Start on a free loopback port (or ``port``), save messages under ``folder``."""

    def __init__(self, folder: Path, port: int | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        if port is None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.port = port
        self.handler = _SaveToFolder(self.folder)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=port)

    def __enter__(self) -> "MailSink":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def count(self) -> int:
        return self.handler.count
