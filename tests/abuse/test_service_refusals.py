"""Issue 25 item 4: tracebacks that must be answers — one Chinese line naming the cause, a non-zero
exit, the data as it was. Each case was a traceback before (a 101-line IntegrityError, an
OverflowError, 66–71 lines for a database URL, Errno 28 with a half-written .docx left behind)."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from kaoping.models import ComponentScore, Unit
from sqlmodel import func, select

from kaoping import db
from tests import factories
from tests.abuse.helpers import fill


def lines(output: str) -> list[str]:
    """What the command printed, without the development-mode notice every command gives once."""
    return [line for line in output.splitlines() if line.strip() and not line.startswith("开发模式")]


def count(settings, model) -> int:
    with db.session_scope(settings) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_a_unit_code_on_two_rows_is_named_not_a_database_traceback(initialized, settings, tmp_path):
    registry = tmp_path / "名录.csv"
    registry.write_text("代码,全称,简称,类别,别名,联络员,联络员邮箱,负责人,负责人邮箱\n"
                        "150299,包头市新区甲,新区甲,旗县区,,张三,a@example.gov.cn,,\n"
                        "150299,包头市新区乙,新区乙,旗县区,,李四,b@example.gov.cn,,\n", encoding="utf-8")
    before = count(settings, Unit)
    result = initialized("units", "import", str(registry))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(lines(result.output)) <= 2  # the refusal and its one problem
    assert "150299" in result.output and "重复" in result.output and "第 2 行" in result.output and "第 3 行" in result.output
    assert count(settings, Unit) == before


def test_a_value_longer_than_the_registry_holds_is_named_not_a_database_error(initialized, settings, tmp_path):
    registry = tmp_path / "名录.csv"
    registry.write_text("代码,全称,简称,类别\n150298," + "很长的单位名称" * 30 + ",长名,旗县区\n", encoding="utf-8")
    result = initialized("units", "import", str(registry))
    assert result.exit_code == 2 and "Traceback" not in result.output and "上限" in result.output
    assert len(lines(result.output)) <= 2


def _xlsx_with_raw_value(raw: str) -> bytes:
    """A workbook whose score cell holds ``raw`` as written in the sheet's XML (``<v>1e400</v>``),
    as a program — not Excel — might write it."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["单位", "得分", "说明"])
    sheet.append(["东河区", 12345.5, ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v>12345.5</v>", f"<v>{raw}</v>".encode())
                assert raw.encode() in data
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize("raw", ["1e400", "-1e400"])
def test_a_number_beyond_any_range_in_a_workbook_is_refused_in_one_line(initialized, settings, tmp_path, raw):
    factories.open_cycle(settings)
    path = tmp_path / "第三方评估结果.xlsx"
    path.write_bytes(_xlsx_with_raw_value(raw))
    result = initialized("thirdparty", "import", str(path), "--cycle", "2022H1")
    assert result.exit_code == 2 and "Traceback" not in result.output and "OverflowError" not in result.output
    assert "超出范围的数值" in result.output and "第 2 行" in result.output
    assert count(settings, ComponentScore) == 0


URLS = {
    "postgres://kaoping:s3cret@db/kaoping": "postgresql+psycopg://kaoping:***@db/kaoping",
    "postgresql+psycopg2://kaoping:s3cret@db/kaoping": "postgresql+psycopg://kaoping:***@db/kaoping",
    "postgresql://kaoping:s3cret@db/kaoping": "postgresql+psycopg://kaoping:***@db/kaoping",
    "mysql+pymysql://kaoping:s3cret@db/kaoping": "只支持 PostgreSQL",
    "kaoping:s3cret@db/kaoping": "不是数据库地址",
}


@pytest.mark.layout_only
@pytest.mark.parametrize("url", list(URLS))
def test_a_database_url_of_another_shape_says_what_to_write(cli, url):
    cli.env["KAOPING_DATABASE_URL"] = url
    result = cli("db", "status")
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = lines(result.output)
    assert "KAOPING_DATABASE_URL" in line and URLS[url] in line
    assert "s3cret" not in result.output  # the password is never printed


def test_a_full_disk_while_building_reports_leaves_the_folder_as_it_was(initialized, settings, tmp_path, full_disk):
    factories.scored_cycle(settings, tmp_path)
    out = full_disk / "reports"
    out.mkdir()
    (out / "说明.txt").write_text("已有的文件", encoding="utf-8")
    fill(full_disk, leave=64 * 1024)  # room for a few pages, not for 36 letters and a 通报 with charts
    result = initialized("report", "--cycle", "2022H1", "--out", str(out), "--date", "2022-07-20")
    assert result.exit_code != 0 and "Traceback" not in result.output
    [line] = lines(result.output)
    assert "磁盘空间不足" in line
    assert sorted(p.name for p in out.rglob("*")) == ["说明.txt"]  # nothing half-written, nothing added
    assert not [p for p in full_disk.iterdir() if p.name.startswith(".reports.staging")]

    (full_disk / "filler.bin").unlink()
    again = initialized("report", "--cycle", "2022H1", "--out", str(out), "--date", "2022-07-20")
    assert again.exit_code == 0, again.output
    assert len(list((out / "反馈函").glob("*.docx"))) == 36 and re.search(r"通报", again.output)
