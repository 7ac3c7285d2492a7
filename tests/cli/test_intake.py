"""Word forms out and back: filled the way a person fills them (typing into cells with
python-docx), returned, and read back exactly — and every refusal of the intake."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from docxcompose.properties import CustomProperties
from kaoping.models import (
    ComponentScore,
    Cycle,
    CycleStatus,
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
from tests.conftest import write
from tests.factories import build, fill_all_progress, main_table

#: What these commands leave in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_later_return_supersedes_and_on_time_is_not_late",
                 "test_lead_scoring_sheet_round_trip_with_allocation_and_full_width_digits",
                 "test_refused_for_another_cycle_and_after_the_stage_closed", "test_refused_old_version",
                 "test_refused_when_another_unit_sends_it", "test_refused_with_forged_identity",
                 "test_refused_without_identity", "test_results_sheets_and_field_visit_round_trip",
                 "test_intake_replies_to_the_sender", "test_self_assessment_round_trip",
                 "test_several_files_at_once_report_each"}


def fill(path: Path, out: Path, edits: dict[tuple[int, int], str], *, first_header: str = "指标编号", table_index: int | None = None) -> Path:
    """Type into cells (row 0 is the header) and save, as Word would."""
    document = docx.Document(path)
    table = document.tables[table_index] if table_index is not None else main_table(document, first_header)
    for (row, col), text in edits.items():
        fill_cell(table.rows[row].cells[col], text)
    document.save(out)
    return out


def counts(settings):
    with db.session_scope(settings) as session:
        return {m.__name__: session.exec(select(func.count()).select_from(m)).one()
                for m in (Submission, LeadScore, ComponentScore, PointsAllocation)}


# --------------------------------------------------------------------------- round trips


def test_self_assessment_round_trip(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.self_assessment, tmp_path, "150202")
    document = docx.Document(path)
    props = dict(CustomProperties(document).items())
    assert props["kaoping.kind"] == "self_assessment" and props["kaoping.subject"] == "150202"
    assert len(props["kaoping.signature"]) == 64
    table = main_table(document, "指标编号")
    assert len(table.rows) == 91 and table.rows[1].cells[2].text == "市审批服务局"
    assert "2022年7月10日" in "\n".join(p.text for p in document.paragraphs)
    filled = fill_all_progress(path, tmp_path / "filled.docx", "推进中")
    filled = fill(filled, tmp_path / "filled.docx", {
        (1, 4): "已开通全程网办事项 1,234 项。\n适老化改造完成 12 个网站。",
        (1, 5): "取得明显成效",
        (1, 6): "全程网办事项清单.pdf\n适老化改造验收报告.docx",
        (3, 5): "完成",
    })
    result = cycle_cli("intake", filled, "--sender", "liaison@150202.baotou.example")
    assert result.exit_code == 0, result.output
    assert "已接收" in result.output and "2022H1-ZP001" in result.output and "逾期" in result.output  # 2022-07-10 passed
    with db.session_scope(settings) as session:
        submission = session.exec(select(Submission).where(Submission.current)).one()
        assert submission.late
        rows = {r["number"]: r for r in submission.rows}
    assert rows[1] == {"number": 1, "situation": "已开通全程网办事项 1,234 项。\n适老化改造完成 12 个网站。",
                       "progress": "取得明显成效", "evidence": ["全程网办事项清单.pdf", "适老化改造验收报告.docx"]}
    assert rows[3]["progress"] == "完成" and rows[2]["progress"] == "推进中" and len(rows) == 90


def test_later_return_supersedes_and_on_time_is_not_late(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.self_assessment, tmp_path, "wjw", deadline=date(2099, 1, 1))
    first = fill(fill_all_progress(path, tmp_path / "a.docx", "推进中"), tmp_path / "a.docx", {(1, 4): "第一次报送"})
    second = fill(fill_all_progress(path, tmp_path / "b.docx", "完成"), tmp_path / "b.docx", {(1, 4): "更正后再次报送"})
    assert cycle_cli("intake", first).exit_code == 0
    result = cycle_cli("intake", second)
    assert result.exit_code == 0 and "已替代此前报送的版本" in result.output and "逾期" not in result.output
    with db.session_scope(settings) as session:
        subs = session.exec(select(Submission).order_by(Submission.id)).all()
        assert [s.current for s in subs] == [False, True]
        assert subs[1].rows[0]["situation"] == "更正后再次报送" and not subs[1].late
        kept = session.exec(select(ReceivedFile).where(ReceivedFile.purpose == "intake.self_assessment")).all()
        assert len(kept) == 2 and all(k.status == "accepted" for k in kept)


def test_lead_scoring_sheet_round_trip_with_allocation_and_full_width_digits(cycle_cli, settings, tmp_path):
    # 市工信局 leads area 三 (items 54–58, 20 points) and others; it allocates 三 and scores.
    [path] = build(settings, FormKind.lead_scoring, tmp_path, "gxj")
    document = docx.Document(path)
    allocation = next(t for t in document.tables if t.rows[0].cells[0].text == "指标编号" and len(t.rows[0].cells) == 5)
    main = main_table(document, "指标编号")
    labels = [r.cells[2].text for r in main.rows[1:]]
    assert "市工信局（自评项）" in labels and labels.count("东河区") == 28
    rows_54 = [i for i, r in enumerate(allocation.rows) if r.cells[0].text in {"54", "55", "56", "57", "58"}]
    for i, value in zip(rows_54, ["5", "５", "4", "3", "3"], strict=True):
        fill_cell(allocation.rows[i].cells[4], value)
    scored = {}
    for i, row in enumerate(main.rows[1:], start=1):
        if row.cells[0].text == "54" and row.cells[2].text == "东河区":
            fill_cell(row.cells[5], "４.５")
            fill_cell(row.cells[6], "协同办公平台未完成国产化适配。\n已约谈。")
            scored[("东河区", 54)] = Decimal("4.5")
        elif row.cells[0].text == "59" and row.cells[2].text == "青山区":
            fill_cell(row.cells[5], "1.2")
            scored[("青山区", 59)] = Decimal("1.2")
    document.save(tmp_path / "pf.docx")
    result = cycle_cli("intake", tmp_path / "pf.docx")
    assert result.exit_code == 0, result.output
    assert "录入 2 项得分" in result.output and "已明确" in result.output
    with db.session_scope(settings) as session:
        got = {(s.unit_id, s.score, s.note) for s in session.exec(select(LeadScore))}
        allocations = session.exec(select(PointsAllocation).where(PointsAllocation.current)).all()
    assert sorted(a.points for a in allocations) == [3, 3, 4, 5, 5]
    assert {score for _, score, _ in got} == set(scored.values())
    assert any(note == "协同办公平台未完成国产化适配。\n已约谈。" for _, _, note in got)
    shown = cycle_cli("points", "show", "--cycle", "2022H1").output
    assert "牵头考核单位明确" in shown


def test_results_sheets_and_field_visit_round_trip(cycle_cli, settings, tmp_path):
    [third] = build(settings, FormKind.third_party, tmp_path)
    document = docx.Document(third)
    table = main_table(document, "序号")
    assert len(table.rows) == 37
    fill_cell(table.rows[1].cells[2], "８５.５")
    fill_cell(table.rows[2].cells[2], "95%")
    fill_cell(table.rows[2].cells[3], "样本充足")
    document.save(tmp_path / "ds.docx")
    result = cycle_cli("intake", tmp_path / "ds.docx")
    assert result.exit_code == 0 and "录入 2 个单位的得分" in result.output and "未填写得分的单位" in result.output
    [visit] = build(settings, FormKind.field_visit, tmp_path, "150203")
    filled = fill(visit, tmp_path / "dy.docx", {(2, 1): "2022-06-20", (3, 1): "张三、李四", (5, 1): "政务大厅自助终端不足",
                                                (6, 1): "８８", (7, 1): "整体推进较好"}, first_header="项目")
    assert cycle_cli("intake", filled).exit_code == 0
    with db.session_scope(settings) as session:
        scores = {(c.component, c.score) for c in session.exec(select(ComponentScore))}
        field = session.exec(select(ComponentScore).where(ComponentScore.component == "field")).one()
    assert scores == {("third_party", Decimal("85.5")), ("third_party", Decimal(95)), ("field", Decimal(88))}
    assert "政务大厅自助终端不足" in field.note and field.file_name == "dy.docx"


# --------------------------------------------------------------------------- refusals


def refused(cli, settings, path, *args) -> str:
    before = counts(settings)
    result = cli("intake", path, *args)
    assert result.exit_code != 0, result.output
    assert "已拒收" in result.output and "Traceback" not in result.output
    assert counts(settings) == before
    with db.session_scope(settings) as session:
        kept = session.exec(select(ReceivedFile).order_by(ReceivedFile.id.desc())).first()
        assert kept.status == "refused" and kept.filename == Path(path).name and kept.reason
    return result.output


def test_refused_without_identity(cycle_cli, settings, tmp_path):
    document = docx.Document()
    t = document.add_table(rows=2, cols=7)
    for cell, text in zip(t.rows[0].cells, ["指标编号", "指标内容", "牵头考核单位", "时间节点", "完成情况", "完成进度", "佐证材料"], strict=True):
        cell.text = text
    document.save(tmp_path / "retyped.docx")
    assert "没有考评系统的表单标识" in refused(cycle_cli, settings, tmp_path / "retyped.docx")


def test_refused_with_forged_identity(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.self_assessment, tmp_path, "150202")
    document = docx.Document(path)
    CustomProperties(document)["kaoping.subject"] = "150203"  # pretend to be 昆都仑区's form
    document.save(tmp_path / "forged.docx")
    assert "签名无效" in refused(cycle_cli, settings, tmp_path / "forged.docx")


def test_refused_for_another_cycle_and_after_the_stage_closed(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.self_assessment, tmp_path, "wjw")
    filled = fill_all_progress(path, tmp_path / "f.docx")
    assert "当前收集的是 2022H2" in refused(cycle_cli, settings, filled, "--cycle", "2022H2")
    with db.session_scope(settings) as session:
        cycle = session.exec(select(Cycle)).one()
        cycle.status = CycleStatus.verified
    assert "数据收集已经结束" in refused(cycle_cli, settings, filled)


def test_refused_when_another_unit_sends_it(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.self_assessment, tmp_path, "150202")
    filled = fill_all_progress(path, tmp_path / "f.docx")
    out = refused(cycle_cli, settings, filled, "--sender", "liaison@wjw.baotou.example")
    assert "是东河区的自评表，不能由市卫健委" in out


def _mutate_rows(path: Path, out: Path, how: str) -> Path:
    document = docx.Document(path)
    table = main_table(document, "指标编号")
    for row in table.rows[1:]:
        fill_cell(row.cells[5], "完成")
    rows = table.rows
    if how == "added":
        new = __import__("copy").deepcopy(rows[-1]._tr)
        rows[-1]._tr.addnext(new)
    elif how == "removed":
        rows[5]._tr.getparent().remove(rows[5]._tr)
    elif how == "reordered":
        rows[2]._tr.addprevious(rows[3]._tr)
    elif how == "edited":
        fill_cell(rows[4].cells[1], "改写后的指标内容")
    document.save(out)
    return out


@pytest.mark.layout_only  # reading the file: the database does not matter (SQLite only)
@pytest.mark.parametrize("how, expected", [
    ("added", "行被增加了"), ("removed", "行被删除了"), ("reordered", "第 3 行：行的顺序被调整了（这一行原在第 4 行）"),
    ("edited", "第 5 行“指标内容”列被改动"),
])
def test_refused_when_rows_change(cycle_cli, settings, tmp_path, how, expected):
    [path] = build(settings, FormKind.self_assessment, tmp_path, "150202")
    out = refused(cycle_cli, settings, _mutate_rows(path, tmp_path / f"{how}.docx", how))
    assert expected in out, out


@pytest.mark.layout_only  # reading the file: the database does not matter (SQLite only)
def test_refused_bad_progress_value(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.self_assessment, tmp_path, "wjw")
    filled = fill(path, tmp_path / "f.docx", {(1, 5): "基本完成"})
    out = refused(cycle_cli, settings, filled)
    assert "第 2 行（指标 20）“完成进度”列：“基本完成”不是可选项" in out


@pytest.mark.layout_only  # reading the file: the database does not matter (SQLite only)
@pytest.mark.parametrize("value, expected", [("八十", "“得分”列：“八十”不是数字"), ("1.5", "超出范围，应在 0 到 0.5 分之间")])
def test_refused_bad_scores(cycle_cli, settings, tmp_path, value, expected):
    [path] = build(settings, FormKind.lead_scoring, tmp_path, "wjw")  # item 20 (0.5 points), 10 districts + itself
    document = docx.Document(path)
    table = main_table(document, "指标编号")
    fill_cell(table.rows[3].cells[5], value)
    document.save(tmp_path / "pf.docx")
    out = refused(cycle_cli, settings, tmp_path / "pf.docx")
    assert "第 4 行" in out and "青山区" in out and "得分" in out and expected in out  # the header is row 1


@pytest.mark.layout_only  # reading the file: the database does not matter (SQLite only)
def test_refused_allocation_that_does_not_add_up(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.lead_scoring, tmp_path, "wxb")  # 市委网信办: area 六, items 78–85 (5 points)
    document = docx.Document(path)
    allocation = next(t for t in document.tables if len(t.rows[0].cells) == 5)
    for row in allocation.rows[1:]:
        fill_cell(row.cells[4], "1")
    document.save(tmp_path / "pf.docx")
    out = refused(cycle_cli, settings, tmp_path / "pf.docx")
    assert "合计应为 5 分" in out and "= 8 分" in out


def test_refused_old_version(cycle_cli, settings, tmp_path):
    [old] = build(settings, FormKind.self_assessment, tmp_path, "wjw", deadline=date(2022, 7, 10))
    filled = fill_all_progress(old, tmp_path / "old.docx")
    build(settings, FormKind.self_assessment, tmp_path, "wjw", deadline=date(2022, 7, 20))  # version 2
    assert "已被新版本取代（最新为第 2 版）" in refused(cycle_cli, settings, filled)


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.layout_only  # reading the file: the database does not matter (SQLite only)
@pytest.mark.parametrize("name, make, expected", [
    ("renamed.docx", lambda: bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 4096, "旧版 Office 97-2003 格式"),
    ("macro.docm", lambda: _zip_bytes({"word/document.xml": b"<w/>", "word/vbaProject.bin": b"x" * 100}), "含有宏"),
    ("bomb.docx", lambda: _zip_bytes({"word/document.xml": b"\0" * (30 * 1024 * 1024)}), "疑似恶意压缩文件"),
    ("empty.docx", lambda: b"", "空文件"),
    ("text.docx", lambda: "这是一封信".encode() * 10, "不是有效的 Word"),
    ("nodoc.docx", lambda: _zip_bytes({"xl/workbook.xml": b"<x/>"}), "缺少 word/document.xml"),
])
def test_refused_files_that_are_not_valid_word(cycle_cli, settings, tmp_path, name, make, expected):
    path = write(tmp_path / name, make())
    before = counts(settings)
    result = cycle_cli("intake", path)
    assert result.exit_code != 0 and expected in result.output, result.output
    assert counts(settings) == before


@pytest.mark.layout_only  # reading the file: the database does not matter (SQLite only)
def test_refused_file_over_the_size_limit(cycle_cli, tmp_path):
    path = tmp_path / "huge.docx"
    with path.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)
    result = cycle_cli("intake", path)
    assert result.exit_code != 0 and "太大" in result.output


def test_several_files_at_once_report_each(cycle_cli, settings, tmp_path):
    [path] = build(settings, FormKind.self_assessment, tmp_path, "wjw")
    good = fill_all_progress(path, tmp_path / "good.docx")
    bad = write(tmp_path / "bad.docx", b"")
    result = cycle_cli("intake", good, bad)
    assert result.exit_code != 0
    assert "已接收 good.docx" in result.output and "已拒收 bad.docx" in result.output
    with db.session_scope(settings) as session:
        assert session.exec(select(func.count()).select_from(Submission)).one() == 1


def test_intake_replies_to_the_sender(initialized, settings, tmp_path):
    cli = initialized
    cli("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则")
    bad = tmp_path / "empty.docx"
    bad.write_bytes(b"PK\x03\x04 not really")
    result = cli("intake", bad, "--sender", "liaison@150202.baotou.example")
    assert result.exit_code != 0
    with db.session_scope(settings) as session:
        [reply] = session.exec(select(OutboxMessage)).all()
    assert reply.kind == "return_refused" and reply.to == ["liaison@150202.baotou.example"]
    assert "empty.docx" in reply.subject and "已损坏" in reply.text_body and "请按上述说明更正" in reply.text_body
