"""Issue 14 item 1: each returned file is accepted or refused on its own. A structural defect
(a short row, merged cells, a missing table) is a refusal with a reason, never an exception;
the file is kept; nothing is recorded; the next file is handled as if nothing happened."""

from __future__ import annotations

import docx
import pytest
from kaoping.models import FormKind

from kaoping.adapters.word.layout import fill_cell
from tests.abuse.helpers import (
    build,
    counts,
    filled_self_assessment,
    last_received,
    main_table,
)


def refused(cli, settings, path, *args) -> str:
    before = counts(settings)
    result = cli("intake", path, *args)
    assert result.exit_code != 0, result.output
    assert "已拒收" in result.output and "Traceback" not in result.output
    assert counts(settings) == before
    kept = last_received(settings)
    assert kept.status == "refused" and kept.filename == path.name and kept.reason
    assert (settings.received_dir / kept.sha256[:2] / kept.sha256).read_bytes() == path.read_bytes()
    return result.output


def _drop_last_cells(table, row: int, n: int) -> None:
    tr = table.rows[row]._tr
    for tc in tr.tc_lst[-n:]:
        tr.remove(tc)


def test_self_assessment_row_missing_its_last_three_cells_is_refused(cycle_cli, settings, tmp_path):
    path = filled_self_assessment(settings, tmp_path)
    document = docx.Document(path)
    _drop_last_cells(main_table(document, "指标编号"), 1, 3)
    document.save(tmp_path / "short.docx")
    out = refused(cycle_cli, settings, tmp_path / "short.docx", "--sender", "liaison@150202.baotou.example")
    assert "第 2 行只有 4 列，应有 7 列" in out and "不要删除单元格" in out


@pytest.mark.parametrize("kind, unit, header, cut", [
    (FormKind.lead_scoring, "wjw", "指标编号", 4),
    (FormKind.field_visit, "150203", "项目", 1),
    (FormKind.third_party, None, "序号", 2),
])
def test_short_rows_of_sheets_and_visit_records_are_refused(cycle_cli, settings, tmp_path, kind, unit, header, cut):
    [path] = build(settings, kind, tmp_path, *([unit] if unit else []))
    document = docx.Document(path)
    _drop_last_cells(main_table(document, header), 2, cut)
    document.save(tmp_path / "short.docx")
    out = refused(cycle_cli, settings, tmp_path / "short.docx")
    assert "第 3 行只有" in out


def test_merged_cells_are_refused(cycle_cli, settings, tmp_path):
    path = filled_self_assessment(settings, tmp_path)
    document = docx.Document(path)
    table = main_table(document, "指标编号")
    table.cell(2, 4).merge(table.cell(2, 6))
    document.save(tmp_path / "merged.docx")
    assert "合并的单元格" in refused(cycle_cli, settings, tmp_path / "merged.docx")


def test_missing_table_is_refused(cycle_cli, settings, tmp_path):
    path = filled_self_assessment(settings, tmp_path)
    document = docx.Document(path)
    tbl = main_table(document, "指标编号")._tbl
    tbl.getparent().remove(tbl)
    document.save(tmp_path / "notable.docx")
    assert "找不到表格" in refused(cycle_cli, settings, tmp_path / "notable.docx")


def test_an_unforeseen_error_refuses_that_file_only(cycle_cli, settings, tmp_path, monkeypatch):
    from kaoping.services.forms import KINDS

    visit = build(settings, FormKind.field_visit, tmp_path, "150203")[0]
    document = docx.Document(visit)
    fill_cell(main_table(document, "项目").rows[6].cells[1], "88")
    document.save(tmp_path / "visit.docx")
    good = filled_self_assessment(settings, tmp_path, "wjw", "good.docx")

    def broken(session, returned):
        raise RuntimeError("a bug in one handler")

    monkeypatch.setattr(KINDS[FormKind.field_visit], "record_return", broken)
    result = cycle_cli("intake", tmp_path / "visit.docx", good)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "已拒收 visit.docx" in result.output and "系统处理文件 visit.docx 时出错（RuntimeError）" in result.output
    assert "已接收 good.docx" in result.output
    assert counts(settings)["Submission"] == 1


def test_stream_reader_reads_what_python_docx_reads(tmp_path):
    """The intake reads tables as a stream (bounded memory): the same texts as python-docx,
    line breaks, tabs, hyperlinks and several paragraphs included; merged cells flagged."""
    import copy
    import io

    from docx.oxml import OxmlElement

    from kaoping.adapters.word.package import read_tables
    from kaoping.adapters.word.tables import table_rows

    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).text = "序号"
    cell = table.cell(1, 1)
    run = cell.paragraphs[0].add_run("甲")
    run.add_tab()
    run.add_break()
    run.add_text("乙")
    cell.add_paragraph("  第二段  ")
    link = OxmlElement("w:hyperlink")
    link.append(copy.deepcopy(cell.paragraphs[0].runs[0]._r))
    cell.paragraphs[1]._p.append(link)
    table.cell(2, 2).text = "\u3000全角空格 "
    inner = table.cell(2, 0).add_table(rows=1, cols=1)  # a nested table is not a table of its own
    inner.cell(0, 0).text = "内表"
    second = document.add_table(rows=2, cols=2)
    second.cell(1, 0).merge(second.cell(1, 1))
    buffer = io.BytesIO()
    document.save(buffer)
    read = read_tables(buffer.getvalue())
    assert len(read) == 2 and read[0].rows == table_rows(table) and not read[0].merged
    assert read[0].rows[1][1] == "甲\t\n乙\n  第二段  甲\t\n乙"
    assert read[1].merged and len(read[1].rows[1]) == 2
