"""Reports: GB/T 9704-2012 layout read back from the files, content, and (when LibreOffice
is installed) a PDF rendering that contains every unit and total."""

from __future__ import annotations

import re
import shutil
import tempfile
import subprocess
from datetime import date
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.enum.text import WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from kaoping import db
from kaoping.adapters.word.layout import TYPE_AREA_MM
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reports.provisional import build_provisional_letters
from kaoping.settings import Settings
from tests.factories import add_line, adjust_score, approve, result_rows, scored_cycle, write_reports


@pytest.fixture(scope="module")
def reports(sqlite_initialized_template, tmp_path_factory):
    """The published documents of a scored 2022H1, built once for the module: the tests only read them
    (and render copies in folders of their own). On SQLite only: the documents are written from results
    read through the same code on either backend; the results themselves are computed and checked on
    both in tests/cli/test_rules.py."""
    folder = tmp_path_factory.mktemp("reports")
    shutil.copyfile(sqlite_initialized_template, folder / "kaoping.sqlite3")  # what `initialized_db` does
    settings = Settings(database_url=f"sqlite:///{folder / 'kaoping.sqlite3'}", var_dir=folder / "var",
                        environment="development", _env_file=None)
    scored_cycle(settings, folder)
    adjust_score(settings, unit="东河区", indicator=19, score="0.2", reason="数据目录挂载未完成")
    add_line(settings, unit="固阳县", kind="veto", reason="发生重大网络安全事件")
    with db.session_scope(settings) as session:  # the 征求意见稿 反馈函 of the 异议期, before the approval
        build_provisional_letters(session, settings, get_cycle(session, "2022H1"), folder / "reports" / "征求意见稿",
                                  signed=date(2022, 7, 11), closes_on=date(2022, 7, 18))
    approve(settings)
    write_reports(settings, folder / "reports", cycle="2022H1", signed=date(2022, 7, 15), publish=True, number=5)
    rows = result_rows(settings)
    yield folder / "reports", rows
    db.dispose_engine(settings.database_url)


def _texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def test_tongbao_layout_follows_gbt_9704(reports):
    folder, _ = reports
    document = docx.Document(folder / "2022年上半年数字政府建设考评结果通报.docx")
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)] == [37, 35, 28, 26]
    normal = document.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert normal.font.size == Pt(16)
    assert normal.paragraph_format.line_spacing_rule == WD_LINE_SPACING.EXACTLY
    assert normal.paragraph_format.line_spacing == Pt(28.95)
    assert section._sectPr.find(qn("w:docGrid")).get(qn("w:linePitch")) == "579"

    texts = _texts(document)
    title = next(p for p in document.paragraphs if p.text.startswith("关于2022年上半年"))
    run = title.runs[0]
    assert run.font.size == Pt(22) and run._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    assert "包政办〔2022〕5号" in texts
    assert all(re.fullmatch(r".+〔\d{4}〕\d+号", t) for t in texts if "〔" in t)
    assert "2022年7月15日" in texts
    heading1 = next(p for p in document.paragraphs if p.text == "一、总体情况")
    assert heading1.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    heading2 = next(p for p in document.paragraphs if p.text.startswith("（一）"))
    assert heading2.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    body = next(p for p in document.paragraphs if p.text.startswith("根据《数字政府建设考评办法》"))
    assert body.paragraph_format.first_line_indent == Pt(32)
    assert body.paragraph_format.line_spacing == Pt(28.95)
    # Page numbers "— N —" in 4号宋体 on odd (right) and even (left) pages.
    assert document.settings.odd_and_even_pages_header_footer
    for footer in (section.footer, section.even_page_footer):
        xml = footer._element.xml
        assert "PAGE" in xml and "— " in footer.paragraphs[0].text
        assert footer.paragraphs[0].runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "宋体"
        assert footer.paragraphs[0].runs[0].font.size == Pt(14)
    # 版记 with 抄送 (a table of its own at the end), and the chart embedded as a PNG.
    colophon = [c.text for r in document.tables[-1].rows for c in r.cells]
    assert colophon == ["抄送：市委办公室，市人大常委会办公室，市政协办公室，市纪委监委。", "包头市人民政府办公室\t2022年7月15日印发"]
    images = [r for r in document.part.rels.values() if "image" in r.reltype]
    assert len(images) == 2 and all(i.target_part.blob[:8] == b"\x89PNG\r\n\x1a\n" for i in images)  # one per group
    for shape in document.inline_shapes:  # inside the type area (156 × 225 mm), clear of the page number
        assert shape.width <= Mm(156) and shape.height <= Mm(205), (shape.width.mm, shape.height.mm)
    for paragraph in document.paragraphs:  # Word cuts a picture in an exact-spaced paragraph to one line
        if paragraph._element.xpath(".//pic:pic"):
            assert paragraph.paragraph_format.line_spacing_rule == WD_LINE_SPACING.SINGLE  # the style says EXACTLY
    assert "附件：2022年上半年数字政府建设考评结果排名表" in texts


def test_tongbao_content_ranks_everyone(reports):
    folder, rows = reports
    document = docx.Document(folder / "2022年上半年数字政府建设考评结果通报.docx")
    text = "\n".join(_texts(document))
    assert "本次共有36个单位参加考评" in text and "固阳县因一票否决事项，排在本组末位" in text
    table_text = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    for row in rows:
        assert row["unit_name"] in table_text and row["total"] in table_text


def test_baogao_lists_adjustments_and_vetoes(reports):
    folder, _ = reports
    document = docx.Document(folder / "2022年上半年数字政府建设考评情况报告.docx")
    text = "\n".join(_texts(document))
    assert text.count("市委、市政府、市纪委监委：") == 1
    assert re.search(r"东河区指标19：经专班核实，得分由牵头考核单位评定的\d+\.\d\d分调整为0\.20分。", text)
    assert "数据目录挂载未完成" not in text  # the typed reason is not pasted
    assert "有关单位排在本组末位" in text and "固阳县：发生重大网络安全事件。" in text
    assert "需要关注的问题" in text and "平均得分率" in text and "牵头考核单位：" in text
    assert "包政办〔2022〕6号" in text.replace("\t", "")


def test_feedback_letters_and_workbook(reports):
    folder, rows = reports
    letters = sorted((folder / "反馈函").glob("*.docx"))
    assert len(letters) == 36
    donghe = docx.Document(folder / "反馈函" / "150202-东河区-反馈函.docx")
    text = "\n".join(_texts(donghe))
    row = next(r for r in rows if r["unit_name"] == "东河区")
    assert f"你单位考评得分{row['total']}分" in text and f"排名第{row['rank']}位" in text
    items = next(t for t in donghe.tables if t.rows[0].cells[0].text == "指标")
    assert len(items.rows) == 91
    assert any("经专班核实调整为0.20分" in r.cells[4].text for r in items.rows)
    workbook = openpyxl.load_workbook(folder / "2022年上半年数字政府建设考评结果（实绩考核）.xlsx")
    assert workbook.sheetnames == ["旗县区、稀土高新区", "市直部门、单位"]


TONGBAO, BAOGAO = "2022年上半年数字政府建设考评结果通报", "2022年上半年数字政府建设考评情况报告"
LETTER, DRAFT = "150202-东河区-反馈函", "150202-东河区-反馈函（征求意见稿）"
#: LibreOffice leaves out of a PDF the blank page it inserts before an even-page section, unless told not to.
PDF_WITH_BLANK_PAGES = 'pdf:writer_pdf_Export:{"IsSkipEmptyPages":{"type":"boolean","value":"false"}}'


@pytest.fixture(scope="module")
def rendered(reports, tmp_path_factory):
    """The 通报, the 报告, a 反馈函 and a 征求意见稿 rendered to PDF by LibreOffice, blank pages included, once
    for the module (~5 s a start of soffice)."""
    folder, _ = reports
    out = tmp_path_factory.mktemp("pdf")
    sources = [folder / f"{TONGBAO}.docx", folder / f"{BAOGAO}.docx", folder / "反馈函" / f"{LETTER}.docx",
               folder / "征求意见稿" / f"{DRAFT}.docx"]
    subprocess.run(["soffice", f"-env:UserInstallation=file://{out / 'lo-profile'}", "--headless", "--convert-to",
                    PDF_WITH_BLANK_PAGES, "--outdir", str(out), *map(str, sources)], check=True, capture_output=True,
                   timeout=240)
    return out


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed; "
                    "install libreoffice-writer-nogui to render the 通报 to PDF")
def test_tongbao_renders_to_pdf_with_every_unit_and_total(reports, rendered):
    _, rows = reports
    pdf = rendered / "2022年上半年数字政府建设考评结果通报.pdf"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    for row in rows:
        assert row["unit_name"] in flat and row["total"] in flat, row["unit_name"]


# GB/T 9704-2012 §7.2.4: the 发文机关标志's upper edge 35 mm below the type area's (37 mm top margin),
# i.e. 72 mm from the page top, ±1 mm (§5.1). pdftotext's box of a word starts at the font's ascent,
# about 1 mm above the ink of CJK characters: the box's top is expected 1 mm higher.
MARK_TOP_MM, MARK_TOLERANCE_MM = 37 + 35 - 1, 1.0


def issuer_mark_top_mm(pdf, mark: str = "包头市人民政府办公室文件") -> float:
    """How far below the top of page 1 the 发文机关标志 starts, from pdftotext's word boxes."""
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    tops = [float(m.group(1)) for m in re.finditer(r'<word xMin="[\d.]+" yMin="([\d.]+)"[^>]*>([^<]*)</word>', html)
            if m.group(2) and m.group(2) in mark]
    assert tops, f"the 发文机关标志 {mark} is not on page 1"
    return min(tops) * 25.4 / 72


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or pdftotext is not installed")
def test_issuer_mark_of_a_preview_baogao_stands_35_mm_below_the_type_area(tmp_path):
    """A preview 报告 (上行文, 征求意见稿 above the mark): the mark stays where the published one is."""
    from kaoping.adapters.word import layout

    document = layout.official_document()
    layout.draft_mark(document)
    layout.issuer_mark(document, "包头市人民政府办公室文件")
    layout.number_and_signer(document, "", "×××")
    layout.title(document, "关于2022年上半年数字政府建设考评情况的报告")
    document.save(tmp_path / "报告.docx")
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(tmp_path / "报告.docx")], check=True, capture_output=True, timeout=180)
    assert abs(issuer_mark_top_mm(tmp_path / "报告.pdf") - MARK_TOP_MM) <= MARK_TOLERANCE_MM


RANKING_HEADERS = ("日常监测", "实地调研", "民意调查", "第三方评估", "加减分", "总分")


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or pdftotext is not installed: apt-get install libreoffice-writer-nogui "
                    "fonts-noto-cjk poppler-utils (.ci/run does)")
def test_ranking_table_headers_do_not_break_inside_a_word_in_the_pdf(rendered):
    """The 通报's and 报告's ranking tables rendered by LibreOffice: every header on one line; and the
    发文机关标志 of both (下行文 and 上行文) where GB/T 9704-2012 §7.2.4 puts it."""
    sources = [rendered / "2022年上半年数字政府建设考评结果通报.pdf", rendered / "2022年上半年数字政府建设考评情况报告.pdf"]
    for source in sources:
        text = subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True).stdout
        assert abs(issuer_mark_top_mm(source) - MARK_TOP_MM) <= MARK_TOLERANCE_MM, \
            f"{source.name}: the 发文机关标志 is not 35 mm below the type area"
        header_lines = [line for line in text.splitlines() if line.split()[:2] == ["排名", "单位"]]
        assert len(header_lines) >= 2, f"{source.name}: no ranking table header found"
        for line in header_lines:
            words = line.split()
            for header in RANKING_HEADERS:
                assert header in words, f"{source.name}: header {header} is broken: {line!r}"


# --------------------------------------------------------------------------- 版记, tables, pages (issue 26)


def _twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


def test_colophon_is_a_floating_table_in_a_section_of_its_own_on_an_even_page(reports):
    """GB/T 9704-2012 §7.4: the 版记 at the foot of the last, even page, its rules as wide as the type area."""
    from docx.enum.section import WD_SECTION

    folder, _ = reports
    for name in (TONGBAO, BAOGAO):
        document = docx.Document(folder / f"{name}.docx")
        last = document.sections[-1]
        assert last.start_type == WD_SECTION.EVEN_PAGE, name
        assert last.footer.is_linked_to_previous and last.even_page_footer.is_linked_to_previous  # page numbers go on
        table = document.tables[-1]._tbl
        position = table.tblPr.find(qn("w:tblpPr"))
        assert position is not None and position.get(qn("w:vertAnchor")) == "margin"
        assert int(position.get(qn("w:tblpY"))) > _twips(225 - 40)  # the foot of the 225 mm type area
        assert position.get(qn("w:tblpX")) == str(_twips(28))
        borders = {b.tag.rsplit("}", 1)[1]: b.get(qn("w:sz")) for b in table.tblPr.find(qn("w:tblBorders"))
                   if b.get(qn("w:val")) == "single"}
        assert borders == {"top": "8", "bottom": "8", "insideH": "6"}  # 0.35 mm first and last, 0.25 mm between
        assert [g.get(qn("w:w")) for g in table.tblGrid] == [str(_twips(TYPE_AREA_MM))]
        assert all(tc.tcPr.find(qn("w:tcW")).get(qn("w:w")) == str(_twips(TYPE_AREA_MM)) for tc in table.iter(qn("w:tc")))
        # Nothing else in that section: one page, the 版记 alone at its foot.
        assert all(not p.text for p in document.paragraphs[-2:])


def test_every_table_is_as_wide_as_the_type_area_with_columns_fitted_to_their_content(reports):
    """w:tblGrid (LibreOffice) and each cell's w:tcW (Word) agree, and add up to 156 mm; text columns wide,
    figure columns narrow: the 征求意见稿's 内容 is no longer 2 characters wide."""
    folder, _ = reports
    paths = [folder / f"{TONGBAO}.docx", folder / f"{BAOGAO}.docx", folder / "反馈函" / f"{LETTER}.docx",
             folder / "征求意见稿" / f"{DRAFT}.docx"]
    for path in paths:
        for table in docx.Document(path).tables:
            grid = [int(g.get(qn("w:w"))) for g in table._tbl.tblGrid]
            assert abs(sum(grid) - _twips(TYPE_AREA_MM)) <= 5, (path.name, grid)
            for tr in table._tbl.iter(qn("w:tr")):
                assert [int(tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for tc in tr.iter(qn("w:tc"))] == grid, path.name
    draft = docx.Document(folder / "征求意见稿" / f"{DRAFT}.docx")
    items = next(t for t in draft.tables if t.rows[0].cells[0].text == "指标序号")
    header = [c.text for c in items.rows[0].cells]
    width = dict(zip(header, (int(g.get(qn("w:w"))) * 25.4 / 1440 for g in items._tbl.tblGrid), strict=True))
    assert width["内容"] >= 6 * 3.7 and width["扣分原因"] >= 6 * 3.7 and width["牵头考核单位"] >= 6 * 3.7  # 5号: 3.7 mm a character
    assert width["分值"] < 15 and width["得分"] < 15 and width["内容"] > 2 * width["分值"]


def _pdf_pages(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def horizontal_rules_mm(pdf, page: int, dpi: int = 100) -> list[tuple[float, float, float, int]]:
    """The horizontal rules on ``page`` of ``pdf``, top to bottom: (y, x0, x1) in mm and the ink across the
    rule at its middle (the darkness summed over the pixel rows about it: a thicker rule has more, however
    it falls on the pixels), from LibreOffice's rendering (runs of dark pixels longer than 60 mm)."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-gray", "-png", str(pdf),
                        f"{folder}/page"], check=True, capture_output=True)
        [png] = Path(folder).glob("page*.png")
        image = Image.open(png).convert("L")
    mm = 25.4 / dpi
    width, height = image.size
    pixels = image.load()
    lines: list[tuple[int, int, int]] = []  # (y, x0, x1) in pixels
    for y in range(height):
        best = (0, 0)
        start = None
        for x in range(width + 1):
            dark = x < width and pixels[x, y] < 128
            if dark and start is None:
                start = x
            elif not dark and start is not None:
                best = max(best, (x - start, start))
                start = None
        if best[0] * mm > 60:
            lines.append((y, best[1], best[1] + best[0]))
    rules: list[list[tuple[int, int, int]]] = []
    for line in lines:  # consecutive pixel rows make one rule
        if rules and line[0] == rules[-1][-1][0] + 1:
            rules[-1].append(line)
        else:
            rules.append([line])

    def ink(rule) -> int:  # measured on a 600-dpi rendering of a small box about the rule's middle
        scale = 600 / dpi
        x, y = round((rule[0][1] + rule[0][2]) / 2 * scale), round((rule[0][0] - 3) * scale)
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run(["pdftoppm", "-r", "600", "-f", str(page), "-l", str(page), "-x", str(x), "-y", str(y),
                            "-W", "1", "-H", str(round((len(rule) + 6) * scale)), "-gray", "-png", str(pdf),
                            f"{folder}/box"], check=True, capture_output=True)
            [png] = Path(folder).glob("box*.png")
            box = Image.open(png).convert("L")
            column = box.load()
            return sum(255 - column[0, row] for row in range(box.height))

    return [(rule[0][0] * mm, min(r[1] for r in rule) * mm, max(r[2] for r in rule) * mm, ink(rule)) for rule in rules]


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
                    reason="LibreOffice (soffice) or poppler-utils is not installed")
def test_colophon_stands_at_the_foot_of_the_last_page_which_is_even(rendered):
    """The 通报 and the 报告 as printed: an even number of pages, the 版记 on the last one only, its three
    rules 156 mm long from the left margin, the last on the foot of the type area (297 − 35 = 262 mm), the
    first and last thicker than the one between."""
    for name, copied in ((TONGBAO, "抄送：市委办公室"), (BAOGAO, "抄送：市人大常委会办公室")):
        pdf = rendered / f"{name}.pdf"
        pages = _pdf_pages(pdf)
        assert len(pages) % 2 == 0, f"{name}: {len(pages)} pages"
        assert [i for i, page in enumerate(pages, start=1) if copied in re.sub(r"\s+", "", page)] == [len(pages)], name
        assert [i for i, page in enumerate(pages, start=1) if "日印发" in re.sub(r"\s+", "", page)] == [len(pages)], name
        assert f"— {len(pages)} —" in pages[-1] or f"—{len(pages)}—" in re.sub(r"[ \t]+", "", pages[-1])  # numbered on
        rules = horizontal_rules_mm(pdf, len(pages))
        assert len(rules) == 3, (name, rules)
        for y, x0, x1, _ in rules:
            assert abs(x0 - 28) <= 1 and abs(x1 - x0 - TYPE_AREA_MM) <= 1, (name, rules)
        assert abs(rules[-1][0] - 262) <= 2, (name, rules)  # at the foot of the type area, not mid-page
        assert rules[0][3] > rules[1][3] and rules[2][3] > rules[1][3], (name, rules)


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                    reason="LibreOffice (soffice) or pdftotext is not installed")
def test_one_units_letters_are_a_few_pages(rendered):
    """The 90 items of one unit in a table a few pages long (the 征求意见稿 ran 23 pages, the 反馈函 12):
    text columns wide enough, rows off the 28.95 pt line grid."""
    for name in (LETTER, DRAFT):
        pages = _pdf_pages(rendered / f"{name}.pdf")
        assert len(pages) <= 8, f"{name}: {len(pages)} pages"
        assert "联系人：" in re.sub(r"\s+", "", pages[-1])
