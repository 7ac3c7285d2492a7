"""Issue 13: the 发文字号 register, the issuer, 签发人 and 抄送, the 反馈函 as a 函, comparisons
with the previous period and the annual documents — read back from the Word files."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date

import docx
import pytest
from sqlmodel import select

from kaoping import db
from kaoping.domain.clock import chinese_date
from kaoping.domain.errors import Conflict
from kaoping.domain.text import short_title
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.reports.documents import copy_list
from kaoping.services.stages.status import cycle_status
from tests.factories import approve, scored_cycle, write_reports

TONGBAO = "2022年上半年数字政府建设考评结果通报.docx"
BAOGAO = "2022年上半年数字政府建设考评情况报告.docx"
NUMBER = re.compile(r"包政办(函)?〔\d{4}〕\d+号")


#: Document numbers are taken from the register on PostgreSQL too; what a document says and how it is laid out does not
#: depend on the database (SQLite only: tests/conftest.py).
BOTH_BACKENDS = {"test_previews_carry_no_number_and_publishing_never_gives_a_number_twice"}


def _text(path) -> str:
    document = docx.Document(path)
    return "\n".join(p.text for p in document.paragraphs)


def _numbers(path) -> list[str]:
    return [m.group(0) for m in NUMBER.finditer(_text(path))]


def _all_numbers(folder) -> list[str]:
    found = []
    documents = [*folder.glob("*通报.docx"), *folder.glob("*报告.docx"), *sorted((folder / "反馈函").glob("*.docx"))]
    for path in documents:
        found += _numbers(path)[:1]  # each document's own number (the first one it carries)
    return found


def status(settings, code: str = "2022H1") -> str:
    """What `kaoping status --cycle CODE` prints."""
    with db.session_scope(settings) as session:
        return "\n".join(cycle_status(session, get_cycle(session, code), today=date(2022, 7, 20), tz=settings.tz).lines())


# Marked layout_only (SQLite only, tests/conftest.py): what the documents look like. On both backends: the
# number register (given once, never twice), the previous period's comparison and the annual documents.
@pytest.fixture
def scored(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    return settings


def test_previews_carry_no_number_and_publishing_never_gives_a_number_twice(scored, settings, tmp_path):
    preview = tmp_path / "preview"
    write_reports(settings, preview, cycle="2022H1", signed=date(2022, 7, 15))
    write_reports(settings, preview, cycle="2022H1", signed=date(2022, 7, 15))
    text = _text(preview / TONGBAO)
    assert "征求意见稿" in text and not NUMBER.search(text)
    assert "草稿" in _text(next((preview / "反馈函").glob("*.docx"))) and _all_numbers(preview) == []
    assert "发文字号：尚未印发" in status(settings)

    with pytest.raises(Conflict, match="须分管领导审定后才能印发"):
        write_reports(settings, tmp_path / "p", cycle="2022H1", signed=date(2022, 7, 15), publish=True)
    approve(settings, "2022H1")
    published = tmp_path / "published"
    write_reports(settings, published, cycle="2022H1", signed=date(2022, 7, 15), publish=True)
    first = _all_numbers(published)
    assert len(first) == 38 and len(set(first)) == 38  # 通报, 报告, 36 反馈函
    assert first[:2] == ["包政办〔2022〕1号", "包政办〔2022〕2号"] and first[2] == "包政办函〔2022〕1号"
    assert "征求意见稿" not in _text(published / TONGBAO)
    # Publishing the same documents again keeps their numbers; another cycle's documents get new ones.
    again = tmp_path / "again"
    write_reports(settings, again, cycle="2022H1", signed=date(2022, 7, 16), publish=True)
    assert _all_numbers(again) == first
    shown = status(settings)
    assert "通报 包政办〔2022〕1号" in shown and "报告 包政办〔2022〕2号" in shown and "反馈函 36 份" in shown

    scored_cycle(settings, tmp_path / "h2", "2022H2", seed=2)
    approve(settings, "2022H2")
    with pytest.raises(Conflict, match="包政办〔2022〕2号已用于.*不能重复使用"):
        write_reports(settings, tmp_path / "h2docs", cycle="2022H2", signed=date(2022, 12, 30), publish=True, number=2)
    write_reports(settings, tmp_path / "h2docs", cycle="2022H2", signed=date(2022, 12, 30), publish=True, number=7)
    second = _all_numbers(tmp_path / "h2docs")
    assert second[:2] == ["包政办〔2022〕7号", "包政办〔2022〕8号"]
    assert not set(first) & set(second)


@pytest.mark.layout_only
def test_the_report_is_an_upward_document_with_its_signer_and_copies_leave_out_issuer_and_addressees(scored, settings,
                                                                                                    tmp_path):
    approve(settings, "2022H1")
    write_reports(settings, tmp_path / "r", cycle="2022H1", signed=date(2022, 7, 15), publish=True)
    baogao = docx.Document(tmp_path / "r" / BAOGAO)
    line = next(p for p in baogao.paragraphs if "签发人：" in p.text)
    number, _, signer = line.text.partition("\t")
    assert NUMBER.fullmatch(number) and signer == "签发人：【待填：签发人】"  # 文号 left, 签发人 right, one line (not filled in: development)
    assert line.runs[-1]._element.rPr.rFonts.get(qn_east_asia()) == "楷体_GB2312"
    assert line.alignment is None or int(line.alignment) != 1  # not centred
    texts = [p.text for p in baogao.paragraphs]
    assert texts[0] == "包头市人民政府办公室文件"
    for path in (tmp_path / "r" / TONGBAO, tmp_path / "r" / BAOGAO):
        document = docx.Document(path)
        paragraphs = [p.text for p in document.paragraphs]
        copy = document.tables[-1].rows[0].cells[0].text  # the 版记, a table of its own at the foot of the last page
        assert copy.startswith("抄送：")
        to = next(t for t in paragraphs if t.endswith("：") and ("市委" in t or "各旗县区" in t))
        for name in copy.removeprefix("抄送：").rstrip("。").split("，"):
            assert name not in ("包头市人民政府办公室", "市政府办公室") and name not in to.rstrip("：").replace("，", "、").split("、")
        # One issuer everywhere: mark, number, signature (the seal area above it is left blank).
        assert paragraphs[0] == "包头市人民政府办公室文件" and "包头市人民政府办公室" in paragraphs
        assert "包头市人民政府办公室数字政府专班" not in paragraphs
        assert any(t.startswith("（联系人：市政府办公室数字政府专班") for t in paragraphs)
        images = [r for r in document.part.rels.values() if "image" in r.reltype]
        assert len(images) == (2 if path.name == TONGBAO else 0)  # the charts (one per group) only: no seal image


def qn_east_asia():
    from docx.oxml.ns import qn

    return qn("w:eastAsia")


@pytest.mark.layout_only  # settings only: no database is read
def test_copy_list_never_names_the_issuer_or_an_addressee(settings):
    s = settings.model_copy(update={"tongbao_copy": ["市委办公室", "市政府办公室", "包头市人民政府办公室", "市纪委监委",
                                                     "市委办公室", "稀土高新区管委会"]})
    assert copy_list(s, s.tongbao_copy, s.tongbao_to) == ["市委办公室", "市纪委监委"]
    assert copy_list(s, ["市纪委监委"], s.report_to) == []


def test_short_titles_come_from_the_indicator_text():
    assert short_title("建成全市统一的政务云平台，实现各部门业务系统迁移上云") == "建成全市统一的政务云平台"
    long = short_title("推进政务服务事项标准化规范化便利化建设并实现全程网办率达到百分之九十以上")
    assert len(long) == 20 and long.endswith("…")
    assert short_title("按照国家、自治区“跨省通办”“跨市通办”事项清单,完善跨地区通办机制,优化服务窗口") == "完善跨地区通办机制"
    assert short_title("完善“前台综合受理、后台分类办理、统一窗口出件”模式,不断优化") == "完善“前台综合受理、后台分类办理…”"
    # An aside in brackets is left out, a means (以…方式) skipped like a preamble, a number never cut.
    assert short_title("全市新增2400户(累计约3600户)大中型餐饮单位纳入“互联网+明厨亮灶”社会共治智慧监管平台") == \
        "全市新增2400户大中型餐饮单位纳入…"
    assert short_title("以应用整合方式,嵌入整合城市大数据和城市大脑数据分析功能。") == "嵌入整合城市大数据和城市大脑数据分析功能"
    assert short_title("依托国家企业信用信息公示系统(部门协同监管平台内蒙古)开展“双随机、一公开”监管,除特殊行业外") == \
        "开展“双随机、一公开”监管"
    assert short_title("推进政务服务事项标准化规范化和便利化建设") == "推进政务服务事项标准化规范化和便利化建设"


@pytest.mark.layout_only
def test_the_feedback_letter_is_a_letter(scored, settings, tmp_path):
    approve(settings, "2022H1")
    write_reports(settings, tmp_path / "r", cycle="2022H1", signed=date(2022, 7, 15), publish=True)
    letter = docx.Document(tmp_path / "r" / "反馈函" / "150202-东河区-反馈函.docx")
    texts = [p.text for p in letter.paragraphs]
    text = "\n".join(texts)
    assert texts[0] == "包头市人民政府办公室" and re.fullmatch(r"包政办函〔2022〕\d+号", texts[1])
    assert "东河区人民政府：" in texts or any(t.startswith("东河区") and t.endswith("：") for t in texts)
    with db.session_scope(settings) as session:
        due = WorkCalendar.load(session).add_workdays(date(2022, 7, 15), settings.rectification_workdays)
    assert f"于{chinese_date(due)}前将" in text and "报送市政府办公室数字政府专班" in text
    assert "联系人：市政府办公室数字政府专班【待填：联系人】，联系电话：【待填：联系电话】" in text
    assert "包头市人民政府办公室" in texts[-4:] and "2022年7月15日" in texts
    items = next(t for t in letter.tables if t.rows[0].cells[0].text == "指标")
    assert [c.text for c in items.rows[0].cells] == ["指标", "内容", "分值", "得分", "扣分说明"]
    assert all(r.cells[1].text.strip() and len(r.cells[1].text) <= 20 for r in items.rows[1:])
    # Points exactly as the rules give them (points_text: no rounding of thirds).
    assert any("/" in r.cells[2].text or "." in r.cells[2].text or r.cells[2].text.isdigit() for r in items.rows[1:])
    improve = [t for t in texts if re.match(r"\d+\. 指标\d+“", t)]
    assert all("”：得" in t for t in improve)


def test_comparisons_appear_only_when_a_previous_period_exists(scored, settings, tmp_path):
    write_reports(settings, tmp_path / "h1", cycle="2022H1", signed=date(2022, 7, 15))
    h1 = docx.Document(tmp_path / "h1" / TONGBAO)
    assert "较上期" not in "\n".join(c.text for t in h1.tables for c in t.rows[0].cells)
    assert not any("↑" in c.text or "↓" in c.text for t in h1.tables for r in t.rows for c in r.cells)
    assert "与" not in "".join(p.text for p in h1.paragraphs if p.text.startswith("（三）"))

    approve(settings, "2022H1")
    scored_cycle(settings, tmp_path / "h2", "2022H2", seed=2)
    write_reports(settings, tmp_path / "h2docs", cycle="2022H2", signed=date(2022, 12, 30))
    tongbao = docx.Document(tmp_path / "h2docs" / "2022年下半年数字政府建设考评结果通报.docx")
    table = next(t for t in tongbao.tables if t.rows[0].cells[0].text.startswith("排名"))
    header = [c.text for c in table.rows[0].cells]
    assert header[0] == "排名\n升降" and header[7] == "总分\n较上期"
    moves = [r.cells[0].text.split("\n")[1] for r in table.rows[1:]]
    assert all(re.fullmatch(r"[↑↓]\d+|—", m) for m in moves) and any(m.startswith(("↑", "↓")) for m in moves)
    changes = [r.cells[7].text.split("\n")[1] for r in table.rows[1:]]
    assert all(re.fullmatch(r"[+-]?\d+\.\d\d", c) for c in changes)
    assert "与2022年上半年比较" in _text(tmp_path / "h2docs" / "2022年下半年数字政府建设考评结果通报.docx")
    report = _text(tmp_path / "h2docs" / "2022年下半年数字政府建设考评情况报告.docx")
    assert "与2022年上半年比较" in report and "名次上升较多" in report


@pytest.mark.layout_only
def test_problems_are_drawn_from_the_data(scored, settings, tmp_path):
    write_reports(settings, tmp_path / "r", cycle="2022H1", signed=date(2022, 7, 15))
    tongbao = _text(tmp_path / "r" / TONGBAO)
    assert "重点任务推进不够有力" not in tongbao and "等单位得分相对靠后" not in tongbao
    problems = tongbao.split("三、存在的问题")[1].split("四、工作要求")[0]
    assert "得分率最低的指标是：指标" in problems and "牵头考核单位" in problems


def test_annual_documents(scored, settings, tmp_path):
    approve(settings, "2022H1")
    scored_cycle(settings, tmp_path / "h2", "2022H2", seed=2)
    approve(settings, "2022H2")
    out = tmp_path / "annual"
    write_reports(settings, out, annual=2022, signed=date(2023, 1, 10), publish=True)
    tongbao = docx.Document(out / "2022年度数字政府建设考评结果通报.docx")
    text = "\n".join(p.text for p in tongbao.paragraphs)
    assert "关于2022年度数字政府建设考评结果的通报" in text and "包政办〔2023〕1号" in text
    table = next(t for t in tongbao.tables if t.rows[0].cells[0].text == "排名")
    assert [c.text for c in table.rows[0].cells] == ["排名", "单位", "上半年", "下半年", "年度得分"]  # no 等次: the 细则 is not issued
    for row in table.rows[1:]:
        first, second, total = (float(c.text) for c in row.cells[2:5])
        assert abs((first + second) / 2 - total) <= 0.011
    baogao = _text(out / "2022年度数字政府建设考评情况报告.docx")
    assert "签发人：" in baogao and "包政办〔2023〕2号" in baogao
    assert (out / "2022年度数字政府建设考评结果（实绩考核）.xlsx").exists()


@pytest.mark.layout_only
def test_the_report_summarises_the_field_visit_findings(scored, settings, tmp_path):
    from kaoping.models import Component, ComponentScore, Unit

    with db.session_scope(settings) as session:
        donghe = session.exec(select(Unit).where(Unit.short_name == "东河区")).one()
        row = session.exec(select(ComponentScore).where(ComponentScore.unit_id == donghe.id, ComponentScore.current,
                                                        ComponentScore.component == Component.field)).first()
        row.note = "政务大厅自助终端半数停用"
        session.add(row)
    write_reports(settings, tmp_path / "r", cycle="2022H1", signed=date(2022, 7, 15))
    report = _text(tmp_path / "r" / BAOGAO)
    assert "实地调研发现的问题" in report and "东河区“政务大厅自助终端半数停用”" in report
    # A summary, not the records: counts by theme, a few examples, never a record's working fields.
    assert re.search(r"实地调研共走访36个单位，\d+个单位发现问题：.*政务服务方面\d+个单位次", report)
    assert "评分说明" not in report and "调研组成员" not in report


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or pdftotext is not installed")
@pytest.mark.layout_only
def test_report_letter_and_annual_tongbao_render_with_number_signer_and_signature_on_a_page_with_text(
        scored, settings, tmp_path):
    approve(settings, "2022H1")
    scored_cycle(settings, tmp_path / "h2", "2022H2", seed=2)
    approve(settings, "2022H2")
    write_reports(settings, tmp_path / "h2", cycle="2022H2", signed=date(2022, 12, 30), publish=True)
    write_reports(settings, tmp_path / "y", annual=2022, signed=date(2023, 1, 10), publish=True)
    sources = [tmp_path / "h2" / "2022年下半年数字政府建设考评情况报告.docx", tmp_path / "h2" / "反馈函" / "150202-东河区-反馈函.docx",
               tmp_path / "y" / "2022年度数字政府建设考评结果通报.docx"]
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path / "pdf"), *map(str, sources)], check=True, capture_output=True, timeout=300)
    for source, date_text, must in ((sources[0], "2022年12月30日", ["签发人：【待填：签发人】", "包政办〔2022〕"]),
                                    (sources[1], "2022年12月30日", ["包政办函〔2022〕", "联系人：", "整改要求"]),
                                    (sources[2], "2023年1月10日", ["包政办〔2023〕1号", "上半年", "下半年"])):
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "pdf" / (source.stem + ".pdf")), "-"], check=True,
                              capture_output=True, text=True).stdout
        flat = re.sub(r"\s+", "", text)
        for word in must:
            assert word in flat, (source.name, word)
        pages = text.split("\f")
        signature_page = next(p for p in pages if re.search(rf"{date_text}(?!印发)", re.sub(r"[ \t]+", "", p)))
        lines = [line for line in signature_page.splitlines() if line.strip()]
        assert len(lines) >= 5, f"{source.name}: the signature page carries no body text: {lines}"
