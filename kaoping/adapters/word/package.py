"""Reading a returned .docx without loading it into python-docx: its custom properties (the
signed identity) and the cell texts of its top-level tables.

The intake reads every returned file this way so that its memory does not grow with the
document: a part of ordinary size is parsed whole by libxml2 and its tables walked; a larger one
is read as a stream, a row at a time (``lxml.etree.XMLPullParser``), each row discarded once its
texts are taken. The texts are exactly those of ``tables.table_rows`` for unmerged
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


def _events(part):
    """(event, element) pairs of an XML stream, elements of python-docx's classes (so a run's
    text reads as in python-docx: ``w:t`` its text, ``w:br`` a line break, ``w:tab`` a tab)."""
    from docx.oxml.parser import element_class_lookup

    parser = etree.XMLPullParser(events=("start", "end"), **_parse_options())
    parser.set_element_class_lookup(element_class_lookup)
    while chunk := part.read(1 << 16):
        parser.feed(chunk)
        yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


# A document.xml up to this size (uncompressed) is parsed whole by libxml2, in C, and its tables walked
# (a returned form of 90 rows is ~0.5 MB: 5 ms instead of 40 ms row by row in Python); a larger one is
# read as a stream, so that memory stays bounded whatever the file (benchmarks/intake_memory.py).
WHOLE_PARSE_BYTES = 8 << 20


def _parser():
    from docx.oxml.parser import element_class_lookup

    parser = etree.XMLParser(**_parse_options())
    parser.set_element_class_lookup(element_class_lookup)
    return parser


def read_tables(data: bytes, *, whole_parse_bytes: int = WHOLE_PARSE_BYTES) -> list[ReadTable]:
    """The top-level tables of ``word/document.xml``: every row of each table whose parent is the body.
    Small parts are parsed whole, large ones row by row (bounded memory); both give the same rows."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("word/document.xml")
        with archive.open(info) as part:
            if info.file_size > whole_parse_bytes:
                return _stream_tables(part)
            # ZipExtFile stops at the declared size; check_office_zip refused a member that lies about it.
            root = etree.fromstring(part.read(whole_parse_bytes + 1), _parser())
    tables: list[ReadTable] = []
    for tbl in root.iter(_TBL):
        parent = tbl.getparent()
        if parent is None or parent.tag != _BODY:
            continue
        table = ReadTable()
        tables.append(table)
        for tr in tbl:
            if tr.tag == _TR:
                table.rows.append(_row_cells(tr, table))
    return tables


def _stream_tables(part) -> list[ReadTable]:
    """``read_tables`` for a large part: each row taken at its end and freed with what came before it."""
    tables: list[ReadTable] = []
    current: ReadTable | None = None
    for event, element in _events(part):
        parent = element.getparent()
        if event == "start":
            if element.tag == _TBL and parent is not None and parent.tag == _BODY:
                current = ReadTable()
                tables.append(current)
            continue
        if element.tag == _TR and current is not None and parent is not None and parent.tag == _TBL \
                and parent.getparent() is not None and parent.getparent().tag == _BODY:
            current.rows.append(_row_cells(element, current))
        elif parent is None or parent.tag != _BODY:
            continue  # inside a row or paragraph: kept until its row or paragraph ends
        elif element.tag == _TBL:
            current = None
        # A finished row or body-level element: free it and what came before it.
        element.clear()
        while element.getprevious() is not None:
            del parent[0]
    return tables
