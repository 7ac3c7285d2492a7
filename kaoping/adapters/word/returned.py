"""A returned Word file, recognised once.

Whatever reaches kaoping as a Word file — from the office mailbox, the inbox folder, the CLI, a
held file released by the team — is opened defensively (``check_office_zip``: sizes and XML
elements counted as a stream) and its signed identity read (``identity_from_properties``) exactly
once, here. The intake then dispatches on the kind the file claims (a form kaoping issued, or the
objection form 异议表) and verifies the signature against the deployment's keys; nothing reads the
identity again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kaoping.adapters.uploads import Upload, check_office_zip
from kaoping.adapters.word.identity import FormIdentity, identity_from_properties
from kaoping.adapters.word.package import ReadTable, read_custom_properties, read_tables
from kaoping.domain.errors import InvalidInput
from kaoping.domain.incoming import IncomingMessage


@dataclass(frozen=True)
class ReturnedFile:
    """A received file's bytes with the identity it claims (unverified: the signature is checked by
    whoever takes it in), or, when it cannot be opened as Word, the refusal saying why."""

    upload: Upload
    identity: FormIdentity | None = None
    signature: str = ""
    unreadable: str = ""  # the refusal for the sender when the file is not a Word file kaoping can open
    tables: list[ReadTable] | None = None  # its tables, when read already (``read_returned``, issue 29); else read on demand

    @property
    def kind(self) -> str | None:
        """The kaoping form kind the file claims (``objection`` for the 异议表), None for anything else."""
        return self.identity.kind if self.identity is not None else None

    @property
    def name(self) -> str:
        return self.upload.name


def recognise(upload: Upload) -> ReturnedFile:
    """Open ``upload`` once and read the identity it carries. Never raises for what is in the file."""
    try:
        check_office_zip(upload, kind="docx")
    except InvalidInput as exc:
        return ReturnedFile(upload, unreadable=str(exc))
    try:
        properties = read_custom_properties(upload.data)
    except Exception as exc:  # noqa: BLE001 - a broken custom.xml part: a refusal, never a crash
        return ReturnedFile(upload, unreadable=f"无法读取 Word 文件 {upload.name}（{exc.__class__.__name__}）："
                                               "文件可能已损坏，请重新保存后发送。")
    identity, signature = identity_from_properties(properties)
    return ReturnedFile(upload, identity, signature)


def recognise_attachments(message: IncomingMessage) -> tuple[ReturnedFile, ...]:
    """Every attachment of an email read once, in order: what the mailbox hands to each handler that
    looks at them (the objection form, a reply to a 反馈函, the form intake)."""
    return tuple(recognise(Upload(a.filename or "附件", a.content)) for a in message.attachments)


@dataclass(frozen=True)
class FileRead:
    """What reading one returned file finds, as plain picklable values without the file's bytes (issue 29):
    made by ``read_returned`` wherever the fanout puts the work, joined to the file again by ``with_read``."""

    sha256: str
    identity: FormIdentity | None
    signature: str
    unreadable: str
    tables: list[ReadTable] | None  # None: not a form, or its tables could not be read (read again: the refusal says why)


def read_returned(upload: Upload) -> FileRead:
    """Recognise ``upload`` and read its tables: the pure part of taking a returned file in."""
    returned = recognise(upload)
    tables = None
    if returned.identity is not None and not returned.unreadable:
        try:
            tables = read_tables(upload.data)
        except Exception:  # noqa: BLE001 - read again by the intake, which refuses the file saying why
            tables = None
    return FileRead(upload.sha256, returned.identity, returned.signature, returned.unreadable, tables)


def with_read(upload: Upload, read: FileRead | None) -> ReturnedFile:
    """The returned file with what was read of it elsewhere — if that was read from these very bytes;
    otherwise recognised here."""
    if read is None or read.sha256 != upload.sha256:
        return recognise(upload)
    return replace(ReturnedFile(upload, read.identity, read.signature, read.unreadable), tables=read.tables)
