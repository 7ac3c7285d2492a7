"""Word files written from a prepared base (kaoping/adapters/word/writer.py, issue 29): what python-docx's own save
writes, read back as written, the same bytes for the same document."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from docxcompose.properties import CustomProperties

from kaoping.adapters.word import form_page, layout, writer
from kaoping.adapters.word.identity import FormIdentity, read_identity, verify, write_identity
from kaoping.adapters.word.package import read_custom_properties, read_tables
from kaoping.adapters.word.tables import table_rows

HEADER = ["序号", "内容\n（说明）", "得分"]
ROWS = [["1", "甲 & <乙> \"丙\"", ""], ["2", "  前后有空格  ", "两行\n第二行"], ["3", "", "0.6667"]]
EXPECTED = [HEADER] + [[cell.strip() for cell in row] for row in ROWS]
KEY = b"test-key"


def _form(number: str = "2022H1-ZP001"):
    document = form_page.form_document(landscape=True)
    layout.add_run(document.sections[0].header.paragraphs[0], f"表单编号：{number}", layout.BODY_FONT, size=layout.SIZE_5)
    form_page.form_title(document, "自评表")
    form_page.form_line(document, "填报单位：东河区人民政府")
    layout.table(document, HEADER, ROWS, widths_mm=[14, 100, 30], shaded_columns=(0, 1))
    form_page.form_line(document, "表后一行")
    identity = FormIdentity("2022H1", "self_assessment", "150202", 1, number, "d" * 64)
    write_identity(document, identity, KEY)
    document.core_properties.title = "自评表"
    return document, identity


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_a_form_from_a_base_is_what_python_docx_saves_and_reads_back():
    document, identity = _form()
    data = writer.docx_bytes(document)
    saved = io.BytesIO()
    document.save(saved)  # python-docx's own save of the same document: the same members, in order, the same XML
    ours, theirs = _members(data), _members(saved.getvalue())
    assert list(ours) == list(theirs)
    assert ours == theirs
    assert b"kaoping-deferred" not in ours["word/document.xml"]
    assert writer.docx_bytes(document) == data  # the same document, the same bytes (entries dated 1980-01-01)

    reopened = docx.Document(io.BytesIO(data))
    assert table_rows(reopened.tables[0]) == EXPECTED
    assert [t.rows for t in read_tables(data)] == [EXPECTED]
    assert [p.text for p in reopened.paragraphs] == ["自评表", "填报单位：东河区人民政府", "表后一行"]
    assert reopened.sections[0].header.paragraphs[0].text == "表单编号：2022H1-ZP001"
    assert reopened.core_properties.title == "自评表"
    found, signature = read_identity(reopened)
    assert found == identity and verify(found, signature, KEY)
    assert read_custom_properties(data)["kaoping.form_no"] == "2022H1-ZP001"


def test_documents_from_one_base_share_nothing_they_change():
    first, _ = _form("2022H1-ZP001")
    second, _ = _form("2022H1-ZP002")
    one, two = _members(writer.docx_bytes(first)), _members(writer.docx_bytes(second))
    assert one["word/styles.xml"] == two["word/styles.xml"]  # untouched: the base's bytes
    assert b"ZP001" in one["word/header1.xml"] and b"ZP002" not in one["word/header1.xml"]
    assert b"ZP002" in two["word/header1.xml"] and b"ZP001" not in two["word/header1.xml"]
    fresh = _members(writer.docx_bytes(form_page.form_document(landscape=True)))
    assert "docProps/custom.xml" not in fresh and b"<w:tbl>" not in fresh["word/document.xml"]


def test_custom_properties_as_docxcompose_writes_them():
    values = {"kaoping.cycle": "2022H1", "kaoping.note": "a & <b> \"c\""}
    ours, theirs = form_page.form_document(), form_page.form_document()
    assert writer.add_custom_properties(ours, values)
    props = CustomProperties(theirs)
    for name, value in values.items():
        props[name] = value
    assert _members(writer.docx_bytes(ours))["docProps/custom.xml"] == _members(writer.docx_bytes(theirs))["docProps/custom.xml"]
    assert not writer.add_custom_properties(ours, {"x": "y"})  # it has some already: left to docxcompose


def test_a_control_character_is_refused_as_python_docx_refuses_it():
    """A text XML cannot carry fails the document (as lxml fails setting it), never a file Word calls damaged."""
    document = form_page.form_document()
    with pytest.raises(ValueError, match="XML compatible"):
        layout.table(document, HEADER, [["1", "扣分\x0b说明", ""]])
    with pytest.raises(ValueError):
        document.add_paragraph().add_run("扣分\x0b说明")  # python-docx's own refusal


def test_a_table_in_a_plain_python_docx_document():
    """A document not made from a base (python-docx's template) gets its table parsed at once."""
    document = docx.Document()
    layout.table(document, HEADER, ROWS)
    assert table_rows(document.tables[0]) == EXPECTED
    assert [t.rows for t in read_tables(writer.docx_bytes(document))] == [EXPECTED]
