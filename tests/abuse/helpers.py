"""What the abuse tests share: an open cycle, forms built and filled the way a person (or an
attacker) would, and the counts that must not move when a file is refused or held."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import docx
from kaoping.models import (
    ComponentScore,
    FormKind,
    LeadScore,
    OutboxMessage,
    PointsAllocation,
    ReceivedFile,
    Submission,
)
from sqlmodel import func, select

from kaoping import db
from kaoping.adapters.word.layout import fill_cell
from tests import factories
from tests.factories import main_table  # noqa: F401  (re-exported for the abuse tests)

HEADERS = {"self_assessment": "指标编号", "lead_scoring": "指标编号", "field_visit": "项目", "third_party": "序号"}


def build(settings, kind: FormKind, tmp_path: Path, *units: str, deadline=date(2099, 7, 10)) -> list[Path]:
    """Forms due in the future: returns are on time whatever today is."""
    return factories.build(settings, kind, tmp_path, *units, deadline=deadline)


def filled_self_assessment(settings, tmp_path: Path, unit: str = "150202", name: str = "f.docx",
                           situation: str = "", deadline=date(2099, 7, 10)) -> Path:
    [path] = build(settings, FormKind.self_assessment, tmp_path, unit, deadline=deadline)
    document = docx.Document(path)
    table = main_table(document, "指标编号")
    for row in table.rows[1:]:
        fill_cell(row.cells[5], "完成")
    if situation:
        fill_cell(table.rows[1].cells[4], situation)
    document.save(tmp_path / name)
    return tmp_path / name


def counts(settings) -> dict[str, int]:
    with db.session_scope(settings) as session:
        return {m.__name__: session.exec(select(func.count()).select_from(m)).one()
                for m in (Submission, LeadScore, ComponentScore, PointsAllocation)}


def last_received(settings) -> ReceivedFile:
    with db.session_scope(settings) as session:
        return session.exec(select(ReceivedFile).order_by(ReceivedFile.id.desc())).first()


def mail_to(settings, address: str) -> list[OutboxMessage]:
    with db.session_scope(settings) as session:
        return [m for m in session.exec(select(OutboxMessage)) if address in (m.to or [])]


def zip_bytes(entries: dict[str, bytes], *, stored: set[str] = frozenset()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def under_limit_bomb(paragraphs: int = 12_000_000) -> bytes:
    """A .docx within every size limit (under 20 MB packed, under 200 MB unpacked, under 100×
    compression — random padding brings the ratio down) whose document.xml is millions of empty
    paragraphs: what python-docx would expand to gigabytes."""
    import os

    body = b"<w:p/>" * paragraphs
    document = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                + body + b"</w:body></w:document>")
    content_types = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                     b'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
    padding = os.urandom(len(document) // 95)  # incompressible: keeps the overall ratio under 100
    return zip_bytes({"[Content_Types].xml": content_types, "word/document.xml": document, "word/media/image1.png": padding},
                     stored={"word/media/image1.png"})


def fill(mount: Path, leave: int) -> None:
    """Fill ``mount`` (the `full_disk` fixture, tests/abuse/conftest.py) until only about ``leave`` bytes are free."""
    import shutil

    free = shutil.disk_usage(mount).free
    with (mount / "filler.bin").open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
