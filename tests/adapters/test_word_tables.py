"""Reading the tables of a returned Word file (kaoping/adapters/word/tables.py)."""

from __future__ import annotations

import copy

import docx
from docx.oxml import OxmlElement

from kaoping.adapters.word.tables import cell_text, table_rows


def test_fast_table_reader_reads_what_python_docx_reads():
    """The intake walks the table XML itself (fast); it must read every cell exactly as python-docx
    does — line breaks, tabs, hyperlinks, several paragraphs — and defer to it for merged cells."""
    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).text = "序号"
    cell = table.cell(1, 1)
    cell.paragraphs[0].add_run("第一段")
    run = cell.paragraphs[0].add_run("甲")
    run.add_tab()
    run.add_break()
    run.add_text("乙")
    cell.add_paragraph("  第二段  ")
    link = OxmlElement("w:hyperlink")
    link.append(copy.deepcopy(cell.paragraphs[0].runs[0]._r))
    cell.paragraphs[1]._p.append(link)
    table.cell(2, 2).text = "\u3000全角空格 "

    def slow(t):
        return [[cell_text(c) for c in row.cells] for row in t.rows]

    assert table_rows(table) == slow(table)
    assert table_rows(table)[1][1] == "第一段甲\t\n乙\n  第二段  第一段"
    table.cell(2, 0).merge(table.cell(2, 1))  # merged cells: python-docx's reading, repeated per column
    assert table._tbl.xpath(".//w:gridSpan")
    assert table_rows(table) == slow(table) and len(table_rows(table)[2]) == 3


def test_the_stream_reader_takes_the_body_tables_row_by_row():
    """``read_tables`` (the intake's reader: only the body, its tables and their rows reported by the parser)
    reads what python-docx reads: merged cells repeated and marked, a table nested in a cell not a table of its
    own nor part of the cell's text, the tables in body order across paragraphs and many chunks of the stream."""
    import io

    from kaoping.adapters.word.package import read_tables

    document = docx.Document()
    first = document.add_table(rows=3, cols=3)
    for r, row in enumerate(first.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"{r}-{c}"
    first.cell(1, 0).merge(first.cell(1, 1))
    first.cell(2, 2).add_table(rows=1, cols=2).cell(0, 0).text = "嵌套"
    for n in range(3000):  # ~0.5 MB of paragraphs between the tables: freed chunk by chunk as the stream goes
        document.add_paragraph(f"两表之间 {n}")
    second = document.add_table(rows=400, cols=2)
    for r, row in enumerate(second.rows):
        row.cells[0].text, row.cells[1].text = str(r), f"第 {r} 行"
    second.cell(1, 1).paragraphs[0].add_run("甲").add_tab()
    buffer = io.BytesIO()
    document.save(buffer)
    tables = read_tables(buffer.getvalue())
    assert [t.merged for t in tables] == [True, False]
    assert tables[0].rows[1][0] == tables[0].rows[1][1] == "1-0\n1-1"  # the merged cell, in each column it covers
    assert tables[0].rows[2] == ["2-0", "2-1", "2-2"]  # a nested table is not the cell's text
    assert tables[1].rows == table_rows(second) and tables[1].rows[1][1] == "第 1 行甲" and len(tables[1].rows) == 400
