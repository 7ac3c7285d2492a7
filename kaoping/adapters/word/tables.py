"""Reading the tables of a returned Word file: cell texts as typed, and the table a form's
header names.

Two paths with one result: a fast walk over the table XML for the tables kaoping sends (no
merged cells), and python-docx's own reading for tables with merged cells (it repeats a merged
cell in each grid column it covers).
"""

from __future__ import annotations

from collections.abc import Sequence

from docx.oxml.ns import qn

from kaoping.domain.text import fold


def cell_text(cell) -> str:
    """A cell's text as typed: paragraphs joined by line breaks, outer blanks trimmed."""
    return "\n".join(p.text for p in cell.paragraphs).strip()


_P, _R, _HYPERLINK, _TC, _TR = (qn(t) for t in ("w:p", "w:r", "w:hyperlink", "w:tc", "w:tr"))
_RUN_TEXT = {qn(t) for t in ("w:br", "w:cr", "w:noBreakHyphen", "w:ptab", "w:t", "w:tab")}
_MERGES = ".//w:gridSpan | .//w:vMerge"


def _run_text(r) -> str:
    return "".join(str(e) for e in r if e.tag in _RUN_TEXT)


def _tc_text(tc) -> str:
    """What ``cell_text`` gives for an unmerged cell, walking the XML once instead of one XPath
    per paragraph and run (most of the intake time of a 16,000-row scoring sheet)."""
    paragraphs = []
    for p in tc:
        if p.tag != _P:
            continue
        parts = []
        for child in p:
            if child.tag == _R:
                parts.append(_run_text(child))
            elif child.tag == _HYPERLINK:
                parts.extend(_run_text(r) for r in child if r.tag == _R)
        paragraphs.append("".join(parts))
    return "\n".join(paragraphs).strip()


def has_merged_cells(table) -> bool:
    """Whether any cell spans several columns or rows (the forms kaoping sends have none)."""
    return bool(table._tbl.xpath(_MERGES))


def table_rows(table) -> list[list[str]]:
    """Every row's cell texts. Tables with merged cells go through python-docx, which repeats
    a merged cell in each grid column it covers; the forms kaoping sends have none."""
    tbl = table._tbl
    if tbl.xpath(_MERGES):
        return [[cell_text(c) for c in row.cells] for row in table.rows]
    return [[_tc_text(tc) for tc in tr if tc.tag == _TC] for tr in tbl if tr.tag == _TR]


def find_table(document, header: Sequence[str]):
    """The first table whose header row starts with ``header`` (compared folded), or None."""
    wanted = [fold(h) for h in header]
    for t in document.tables:
        if not t.rows:
            continue
        first = [fold(cell_text(c)) for c in t.rows[0].cells]
        if first[: len(wanted)] == wanted:
            return t
    return None
