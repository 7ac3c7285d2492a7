"""Reading a returned .docx without loading it into python-docx: its custom properties (the
signed identity) and the cell texts of its top-level tables.

The intake reads every returned file this way so that its memory does not grow with the
document: table rows are read one at a time (``lxml.etree.XMLPullParser``) and each is discarded
once its texts are taken. The texts are exactly those of ``tables.table_rows`` for unmerged
tables; a cell spanning several columns is repeated in each (as python-docx does) and the
table is marked ``merged`` (the forms kaoping sends have no merged cells).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from docx.oxml.ns import qn
from lxml import etree

from kaoping.adapters.word.tables import _tc_text

_BODY, _TBL, _TR, _TC, _TCPR = (qn(t) for t in ("w:body", "w:tbl", "w:tr", "w:tc", "w:tcPr"))
_GRID_SPAN, _V_MERGE, _VAL = qn("w:gridSpan"), qn("w:vMerge"), qn("w:val")
_CP_PROPERTY = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}property"
CUSTOM_PART = "docProps/custom.xml"


@dataclass
class ReadTable:
    """One top-level table: every row's cell texts (header first), and whether any cell is merged."""

    rows: list[list[str]] = field(default_factory=list)
    merged: bool = False


def _parse_options() -> dict:
    return {"resolve_entities": False, "no_network": True, "huge_tree": False, "load_dtd": False}


def read_custom_properties(data: bytes) -> dict[str, str]:
    """The custom document properties (name → text of the value); {} when there are none."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if CUSTOM_PART not in archive.namelist():
            return {}
        with archive.open(CUSTOM_PART) as part:
            root = etree.parse(part, etree.XMLParser(**_parse_options())).getroot()
    return {prop.get("name"): (prop[0].text or "") if len(prop) else "" for prop in root.iter(_CP_PROPERTY)}


def _row_cells(tr, table: ReadTable) -> list[str]:
    cells: list[str] = []
    for tc in tr:
        if tc.tag != _TC:
            continue
        span = 1
        properties = tc.find(_TCPR)
        if properties is not None:
            grid_span = properties.find(_GRID_SPAN)
            if grid_span is not None:
                table.merged = True
                try:
                    span = max(1, int(grid_span.get(_VAL, "1")))
                except ValueError:
                    span = 1
            if properties.find(_V_MERGE) is not None:
                table.merged = True
        text = _tc_text(tc)
        cells.extend([text] * min(span, 64))
    return cells


def _events(part, tags=None):
    """(event, element) pairs of an XML stream (of the elements named in ``tags`` only: lxml matches them in C),
    elements of python-docx's classes (so a run's text reads as in python-docx: ``w:t`` its text, ``w:br`` a line
    break, ``w:tab`` a tab)."""
    from docx.oxml.parser import element_class_lookup

    parser = etree.XMLPullParser(events=("start", "end"), tag=tags, **_parse_options())
    parser.set_element_class_lookup(element_class_lookup)
    while chunk := part.read(1 << 16):
        parser.feed(chunk)
        yield from parser.read_events()
        yield "chunk", None
    parser.close()
    yield from parser.read_events()


def read_tables(data: bytes) -> list[ReadTable]:
    """The top-level tables of ``word/document.xml`` (each a child of the body), read row by row (bounded memory)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("word/document.xml") as part:
        return _stream_tables(part)


def _stream_tables(part) -> list[ReadTable]:
    """Only the body, its tables and their rows are reported by the parser (matched in C: two events a row,
    where every element's start and end once made ~160); each row is taken at its end and freed with what came
    before it, and after each chunk of the stream the body's finished children (paragraphs between tables, a
    table already read) are freed too. As fast as parsing a returned form whole, in constant memory."""
    tables: list[ReadTable] = []
    current: ReadTable | None = None
    bodies = []
    for event, element in _events(part, (_BODY, _TBL, _TR)):
        if event == "chunk":
            for body in bodies:
                if len(body) > 1:
                    del body[:-1]  # only the last child can still be open
            continue
        parent = element.getparent()
        if event == "start":
            if element.tag == _BODY:
                bodies.append(element)
            elif element.tag == _TBL and parent is not None and parent.tag == _BODY:
                current = ReadTable()
                tables.append(current)
            continue
        if element.tag == _TR:
            if current is not None and parent is not None and parent.tag == _TBL \
                    and parent.getparent() is not None and parent.getparent().tag == _BODY:
                current.rows.append(_row_cells(element, current))
                element.clear()
                while element.getprevious() is not None:
                    del parent[0]
        elif element.tag == _TBL and parent is not None and parent.tag == _BODY:
            current = None
    return tables
