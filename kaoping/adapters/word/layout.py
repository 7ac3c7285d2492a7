"""Word layout primitives: 公文 (GB/T 9704-2012) pages for reports, plain A4 for forms.

Chinese fonts only take effect in Word when the run's ``w:rFonts`` names them for East
Asian text (``w:eastAsia``); every helper here sets it. Sizes in 号: 2号 = 22 pt,
3号 = 16 pt, 4号 = 14 pt, 小4 = 12 pt, 5号 = 10.5 pt.
"""

from __future__ import annotations

from copy import deepcopy
from functools import lru_cache

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.simpletypes import ST_HpsMeasure
from docx.shared import Emu, Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph

from kaoping.adapters.word import writer
from kaoping.adapters.word.column_widths import (  # noqa: F401  (layout.fitted_widths, layout.text_em)
    CELL_MARGIN_MM,
    SIZE_5,
    TYPE_AREA_MM,
    fitted_widths,
    text_em,
)

# GB/T 9704-2012 fonts (the names Word and WPS look up on government PCs).
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"

SIZE_2 = Pt(22)
SIZE_3 = Pt(16)
SIZE_4 = Pt(14)
SIZE_SMALL_4 = Pt(12)

LEFT_MARGIN_MM = 28.0  # the type area: 156 mm wide (TYPE_AREA_MM), 28 mm from the left edge
BOTTOM_MARGIN_MM = 35.0

#: 22 lines a page: (297 − 37 − 35) mm / 22 = 28.95 pt a line.
BODY_LINE = Pt(28.95)
RED = RGBColor(0xFF, 0x00, 0x00)


def _east_asian_fonts(rpr, east_asia: str, latin: str = LATIN_FONT) -> None:
    """``w:rFonts`` naming the Latin and the East Asian font (Word ignores Chinese names otherwise)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def set_font(run, east_asia: str, *, size=None, bold: bool | None = None, latin: str = LATIN_FONT, color=None) -> None:
    """Set a run's fonts for Latin and East Asian text (``w:eastAsia``)."""
    run.font.name = latin
    _east_asian_fonts(run._element.get_or_add_rPr(), east_asia, latin)
    if size is not None:
        run.font.size = size
    if bold is not None:
        run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color


def add_run(paragraph, text: str, east_asia: str, *, size) -> None:
    """``set_font(paragraph.add_run(text), east_asia, size=size)``, stamped from a cached run (issue 29: the
    python-docx calls cost ~0.4 ms a run). Text with tabs or line breaks goes through python-docx, which
    writes them as ``w:tab`` and ``w:br``."""
    if "\t" in text or "\n" in text or "\r" in text:
        set_font(paragraph.add_run(text), east_asia, size=size)
    else:
        paragraph._p.append(_run_element(text, east_asia, size))


def _style_fonts(style, east_asia: str, size) -> None:
    style.font.name = LATIN_FONT
    style.font.size = size
    _east_asian_fonts(style.element.get_or_add_rPr(), east_asia)


# --------------------------------------------------------------------------- 公文 pages


_BASES: dict[str, writer.Base] = {}


def _lean_document():
    """python-docx's default template, without the parts nobody reads back: the Word 2010
    copy of all styles (stylesWithEffects.xml, 440 KB) and the thumbnail picture. Saving is
    then about twice as fast, which matters for 600 letters."""
    document = Document()
    for rel_id, rel in list(document.part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            document.part.drop_rel(rel_id)
    package = document.part.package
    for rel_id, rel in list(package.rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del package.rels[rel_id]
    return document


def _from_base(key: str, make):
    """A fresh document with the content of a base prepared once per process (``writer.Base``: as a deep copy of
    it would be, without copying its 350 KB of styles)."""
    if key not in _BASES:
        _BASES[key] = writer.Base(make())
    return _BASES[key].new()


def official_document():
    """An empty A4 document laid out as GB/T 9704-2012 requires."""
    return _from_base("official", _official_document)


def _official_document():
    document = _lean_document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.orientation = WD_ORIENT.PORTRAIT
    section.top_margin, section.bottom_margin = Mm(37), Mm(BOTTOM_MARGIN_MM)
    section.left_margin, section.right_margin = Mm(LEFT_MARGIN_MM), Mm(210 - LEFT_MARGIN_MM - TYPE_AREA_MM)
    section.header_distance, section.footer_distance = Mm(15), Mm(20)
    # Line grid: 22 lines of 28.95 pt (579 twentieths of a point).
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), "579")
    normal = document.styles["Normal"]
    _style_fonts(normal, BODY_FONT, SIZE_3)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    normal.paragraph_format.line_spacing = BODY_LINE
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    _page_numbers(document)
    return document


def _page_number_paragraph(footer, align) -> None:
    paragraph = footer.paragraphs[0]
    paragraph.alignment = align
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        paragraph.paragraph_format.right_indent = Pt(14)  # 单页码居右空一字
    else:
        paragraph.paragraph_format.left_indent = Pt(14)  # 双页码居左空一字
    set_font(paragraph.add_run("— "), PAGE_NUMBER_FONT, size=SIZE_4)
    run = paragraph.add_run()
    set_font(run, PAGE_NUMBER_FONT, size=SIZE_4)
    begin, instr, end = OxmlElement("w:fldChar"), OxmlElement("w:instrText"), OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    end.set(qn("w:fldCharType"), "end")
    run._element.append(begin)
    run._element.append(instr)
    run._element.append(end)
    set_font(paragraph.add_run(" —"), PAGE_NUMBER_FONT, size=SIZE_4)


def _page_numbers(document) -> None:
    """Page numbers "— 1 —" in 4号宋体: odd pages right, even pages left (GB/T 9704 7.5)."""
    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    _page_number_paragraph(section.footer, WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number_paragraph(section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)


_PARAS: dict[tuple, object] = {}


def _para(document, text: str = "", *, font: str = BODY_FONT, size=SIZE_3, align=None, indent_chars: float = 0,
          bold: bool | None = None, color=None, line=BODY_LINE, right_indent=None, keep_with_next: bool = False):
    """A paragraph stamped from a cached prototype (formatting it through python-docx costs ~0.7 ms), appended to
    the body (``right_indent``, ``keep_with_next``: set on the prototype, after the rest, as callers set them)."""
    key = (font, size, align, indent_chars, bold, color, line, bool(text), right_indent, keep_with_next)
    if key not in _PARAS:
        _PARAS[key] = _format_para(Document(), "x" if text else "", font=font, size=size, align=align,
                                   indent_chars=indent_chars, bold=bold, color=color, line=line,
                                   right_indent=right_indent, keep_with_next=keep_with_next)._p
    element = deepcopy(_PARAS[key])
    document.element.body._insert_p(element)
    if text:
        t = element.find(_RUN_TEXT)
        t.text = text
        if text != text.strip():
            t.set(qn("xml:space"), "preserve")
    return Paragraph(element, document._body)


_RUN_TEXT = f"{qn('w:r')}/{qn('w:t')}"


def _format_para(document, text: str, *, font, size, align, indent_chars, bold, color, line, right_indent=None,
                 keep_with_next=False):
    paragraph = document.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = line
    if indent_chars:
        fmt.first_line_indent = Pt(16 * indent_chars)
    if text:
        set_font(paragraph.add_run(text), font, size=size, bold=bold, color=color)
    if right_indent is not None:
        fmt.right_indent = right_indent
    if keep_with_next:
        fmt.keep_with_next = True
    return paragraph


# GB/T 9704-2012 §7.2.4: the 发文机关标志's upper edge is 35 mm below the top of the type area
# (版心上边缘), for every document with a 版头 — 下行文 and 上行文 alike (the 80 mm of 上报的公文
# was GB/T 9704-1999's rule, dropped in 2012). The type area starts at the 37 mm top margin, so
# the characters' top stands 72 mm from the top of the page.
ISSUER_MARK_FROM_TYPE_AREA = Mm(35)
ISSUER_MARK_SIZE, ISSUER_MARK_LINE = Pt(26), Pt(40)
# In a line of exactly 40 pt, the top of 26 pt characters stands this far below the line's top
# (measured on LibreOffice's PDF: tests/services/reports/test_tongbao_layout.py renders and checks the 35 mm).
ISSUER_MARK_INK_OFFSET = Mm(5.8)


def issuer_mark(document, issuer: str) -> None:
    """发文机关标志: red 小标宋, centred, its top 35 mm below the top of the type area (GB/T 9704 §7.2.4),
    whatever stands above it on the first page (a preview's 征求意见稿)."""
    above = sum(p.paragraph_format.line_spacing or BODY_LINE for p in document.paragraphs)
    paragraph = _para(document, issuer, font=TITLE_FONT, size=ISSUER_MARK_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER,
                      color=RED, line=ISSUER_MARK_LINE)
    paragraph.paragraph_format.space_before = Emu(max(0, ISSUER_MARK_FROM_TYPE_AREA - ISSUER_MARK_INK_OFFSET - above))


def document_number(document, number: str) -> None:
    """发文字号 (包数字政府办〔2022〕5号), centred, then the red separator line."""
    _para(document)
    paragraph = _para(document, number, align=WD_ALIGN_PARAGRAPH.CENTER)
    _border(paragraph, "bottom", color="FF0000", size=12)
    _para(document)


def draft_mark(document, text: str = "征求意见稿") -> None:
    """A preview's mark (征求意见稿 / 草稿), 3号黑体 at the top right: the document has no number yet."""
    _para(document, text, font=HEADING1_FONT, align=WD_ALIGN_PARAGRAPH.RIGHT, right_indent=Pt(16))


def number_and_signer(document, number: str, signer: str) -> None:
    """上行文 (GB/T 9704 §7.2.3): 发文字号 left (one character in), 签发人 right on the same line
    ("签发人：" in 3号仿宋, the name in 3号楷体), then the red separator line."""
    _para(document)
    paragraph = _para(document)
    paragraph.paragraph_format.left_indent = Pt(16)
    paragraph.paragraph_format.right_indent = Pt(16)
    set_font(paragraph.add_run(number or "　"), BODY_FONT, size=SIZE_3)
    paragraph.add_run("\t")
    set_font(paragraph.add_run("签发人："), BODY_FONT, size=SIZE_3)
    set_font(paragraph.add_run(signer), HEADING2_FONT, size=SIZE_3)
    from docx.enum.text import WD_TAB_ALIGNMENT

    paragraph.paragraph_format.tab_stops.add_tab_stop(Mm(TYPE_AREA_MM) - Pt(16), WD_TAB_ALIGNMENT.RIGHT)
    _border(paragraph, "bottom", color="FF0000", size=12)
    _para(document)


def letter_head(document, issuer: str, number: str) -> None:
    """函 (GB/T 9704 §10.1): the issuer's name in red, a red double line, the 发文字号 at the right below it."""
    paragraph = _para(document, issuer, font=TITLE_FONT, size=Pt(26), align=WD_ALIGN_PARAGRAPH.CENTER, color=RED,
                      line=Pt(40))
    ppr = paragraph._element.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    edge = OxmlElement("w:bottom")
    for key, value in (("w:val", "thinThickSmallGap"), ("w:sz", "24"), ("w:space", "4"), ("w:color", "FF0000")):
        edge.set(qn(key), value)
    borders.append(edge)
    ppr.append(borders)
    _para(document, number or "　", align=WD_ALIGN_PARAGRAPH.RIGHT, right_indent=Pt(16))
    _para(document)


def note(document, text: str) -> None:
    """附注 (联系人和电话): in parentheses, two characters in, below the date."""
    _para(document, f"（{text}）", indent_chars=2)


def title(document, text: str) -> None:
    """标题: 2号方正小标宋简体, centred, then a blank line."""
    for line in text.split("\n"):
        _para(document, line, font=TITLE_FONT, size=SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER, line=Pt(35))
    _para(document)


def addressee(document, text: str) -> None:
    """主送机关: flush left, ends with a full-width colon."""
    _para(document, text)


def body(document, text: str):
    """正文 paragraph: 3号仿宋, first line indented two characters."""
    return _para(document, text, indent_chars=2)


def heading(document, text: str, level: int):
    """一、 黑体 / （一） 楷体 / 1. 仿宋 (bold) — the three heading levels of GB/T 9704."""
    font = {1: HEADING1_FONT, 2: HEADING2_FONT, 3: BODY_FONT}[level]
    # a heading (一、 and （一）) never ends a page
    return _para(document, text, font=font, indent_chars=2, bold=True if level == 3 else None, keep_with_next=level < 3)


def signature_and_date(document, issuer: str, date_text: str) -> None:
    """发文机关署名 and 成文日期 (2022年7月15日), right-aligned, 4 characters from the edge, below a
    blank seal area (印章 is stamped by the office; kaoping never prints one)."""
    for _ in range(3):  # kept with what follows: the seal area, 署名 and date (and the 附注) stay on one page
        _para(document, keep_with_next=True)
    for text in (issuer, date_text):
        _para(document, text, align=WD_ALIGN_PARAGRAPH.RIGHT, right_indent=Pt(16 * 4), keep_with_next=True)


#: The type area's height: 297 − 37 − 35 mm. A picture is at most this high less two lines (its own
#: paragraph's spacing, and a line of text above it), so it never runs into the page number.
TYPE_AREA_HEIGHT_MM = 225.0
PICTURE_MAX_HEIGHT_MM = TYPE_AREA_HEIGHT_MM - 2 * 10.2


def picture(document, png: bytes, *, width_mm: float = 150.0) -> None:
    """A centred picture (a chart) in a paragraph of its own. Its line spacing is single, not the
    body's exact 28.95 pt: Word shows a picture in an exact-spaced paragraph cut to one line.
    Scaled down when needed so it fits the type area's height."""
    import io

    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Mm

    document.add_picture(io.BytesIO(png), width=Mm(width_mm))
    paragraph = document.paragraphs[-1]
    shape = document.inline_shapes[-1]
    if shape.height > Mm(PICTURE_MAX_HEIGHT_MM):
        ratio = Mm(PICTURE_MAX_HEIGHT_MM) / shape.height
        shape.width, shape.height = int(shape.width * ratio), int(shape.height * ratio)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = 0
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    paragraph.paragraph_format.space_before = paragraph.paragraph_format.space_after = Pt(6)


def attachment_note(document, items: list[str]) -> None:
    """附件说明: 正文下空一行左空二字编排"附件："."""
    _para(document)
    for index, item in enumerate(items, start=1):
        label = "附件：" if index == 1 else "　　　"
        prefix = f"{index}. " if len(items) > 1 else ""
        _para(document, f"{label}{prefix}{item}", indent_chars=2)


def _border(paragraph, side: str, *, color: str, size: int) -> None:
    ppr = paragraph._element.get_or_add_pPr()
    borders = ppr.find(qn("w:pBdr"))
    if borders is None:
        borders = OxmlElement("w:pBdr")
        ppr.append(borders)
    edge = OxmlElement(f"w:{side}")
    edge.set(qn("w:val"), "single")
    edge.set(qn("w:sz"), str(size))
    edge.set(qn("w:space"), "1")
    edge.set(qn("w:color"), color)
    borders.append(edge)


# --------------------------------------------------------------------------- tables


def table(document, header: list[str], rows: list[list[str]], *, widths_mm: list[float] | None = None,
          font: str = BODY_FONT, size=SIZE_5, header_font: str = HEADING1_FONT, shaded_columns: tuple[int, ...] = ()):
    """A bordered table with a bold header row, text in 仿宋 (tables are not 28.95-pt lines).

    ``shaded_columns`` are greyed: the cells kaoping fills in and people must not change.
    The table is written as one XML string (issue 29): python-docx's cell API costs ~1 ms a cell, and
    copying a prototype row per row was still most of a 90-row form. The XML is what python-docx's
    table with formatted cells gave: a fixed layout, a header row repeated on each page, rows that do
    not split across pages, each cell single-spaced off the line grid (``_off_grid``). Line breaks
    inside a cell become ``w:br`` (read back as "\n"); in the header, paragraphs. In a document made
    from a base, the XML goes into the document as it is when the document is saved (``writer.defer``):
    until then python-docx sees an empty table.
    """
    columns = len(header)
    # Word reads the cells' widths (w:tcW), LibreOffice the grid's (w:gridCol): both are set, and the table's
    # own width with a fixed layout, so neither re-flows the columns.
    if widths_mm:
        if len(widths_mm) != columns:
            raise ValueError(f"{len(widths_mm)} widths for {columns} columns")
        twips = [Mm(width).twips for width in widths_mm]
        table_width = f'<w:tblW w:type="dxa" w:w="{round(Mm(sum(widths_mm)).twips)}"/>'
    else:  # python-docx's default: the text width shared equally
        twips = [Emu(document._block_width // columns).twips] * columns
        table_width = '<w:tblW w:type="auto" w:w="0"/>'
    margin = round(Mm(CELL_MARGIN_MM).twips)
    head_rpr, body_rpr = _rpr_xml(header_font, size), _rpr_xml(font, size)
    parts = [f'<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/>{table_width}<w:jc w:val="center"/>'
             f'<w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="{margin}" w:type="dxa"/>'
             f'<w:right w:w="{margin}" w:type="dxa"/></w:tblCellMar><w:tblLook w:firstColumn="1" w:firstRow="1" '
             f'w:lastColumn="0" w:lastRow="0" w:noHBand="0" w:noVBand="1" w:val="04A0"/></w:tblPr><w:tblGrid>',
             *(f'<w:gridCol w:w="{w}"/>' for w in twips), "</w:tblGrid><w:tr><w:trPr><w:tblHeader w:val=\"true\"/></w:trPr>"]
    for text, w in zip(header, twips, strict=True):
        parts.append(f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{w}"/><w:shd w:val="clear" w:color="auto" w:fill="D9D9D9"/>'
                     "</w:tcPr>")
        for line in text.split("\n") if text else [""]:
            parts.append(f"<w:p><w:pPr>{_CELL_PPR}<w:jc w:val=\"center\"/></w:pPr>")
            if line:
                parts.append(f"<w:r>{head_rpr}{_t_xml(line)}</w:r>")
            parts.append("</w:p>")
        parts.append("</w:tc>")
    parts.append("</w:tr>")
    if rows:
        opening = [f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{w}"/>'
                   + ('<w:shd w:val="clear" w:color="auto" w:fill="EDEDED"/>' if index in shaded_columns else "")
                   + f"</w:tcPr><w:p><w:pPr>{_CELL_PPR}</w:pPr><w:r>{body_rpr}" for index, w in enumerate(twips)]
        closing = "</w:r></w:p></w:tc>"
        for values in rows:
            if len(values) != columns:
                raise ValueError(f"a row of {len(values)} cells in a table of {columns} columns")
            parts.append("<w:tr><w:trPr><w:cantSplit/></w:trPr>")  # a row of two lines stays on one page
            for start, value in zip(opening, values):
                parts += (start, _cell_runs_xml(str(value)), closing)
            parts.append("</w:tr>")
    parts.append("</w:tbl>")
    document.element.body._insert_tbl(writer.defer(document, "w:tbl", "".join(parts)))


#: a table cell's paragraph properties: off the line grid, single spacing (``_cell_text``)
_CELL_PPR = '<w:snapToGrid w:val="0"/><w:spacing w:line="240" w:lineRule="auto"/>'


def _rpr_xml(font: str, size) -> str:
    """The ``w:rPr`` of ``set_font(run, font, size=size)`` as XML text."""
    return (f'<w:rPr><w:rFonts w:ascii="{LATIN_FONT}" w:hAnsi="{LATIN_FONT}" w:eastAsia="{writer.xml_attribute(font)}"/>'
            f'<w:sz w:val="{ST_HpsMeasure.convert_to_xml(size)}"/></w:rPr>')


def _t_xml(text: str) -> str:
    """A ``w:t`` of ``text`` (kept as typed where it starts or ends with blanks, or is empty)."""
    space = ' xml:space="preserve"' if not text or text != text.strip() else ""
    return f"<w:t{space}>{writer.xml_text(text)}</w:t>"


@lru_cache(maxsize=16384)  # a province's forms repeat the same indicator texts, names and dates 600 times
def _cell_runs_xml(value: str) -> str:
    """What ``_set_run_text`` makes of a body cell's run: the first line, then a ``w:br`` and a kept ``w:t`` each."""
    first, *more = value.split("\n")
    return _t_xml(first) + "".join(f'<w:br/><w:t xml:space="preserve">{writer.xml_text(line)}</w:t>' for line in more)


_RUNS: dict[tuple, object] = {}


def _run_element(text: str, font: str, size):
    """A ``w:r`` with fonts set, stamped from a cached prototype (set_font costs ~0.3 ms)."""
    key = (font, size)
    if key not in _RUNS:
        paragraph = Document().add_paragraph()
        run = paragraph.add_run("x")
        set_font(run, font, size=size)
        _RUNS[key] = run._element
    element = deepcopy(_RUNS[key])
    t = element.find(qn("w:t"))
    t.text = text
    if text != text.strip():
        t.set(qn("xml:space"), "preserve")
    return element


def _cell_text(cell, text: str, font: str, size, *, align=None) -> None:
    lines = text.split("\n") if text else [""]
    paragraph = cell.paragraphs[0]
    for index, line in enumerate(lines):
        if index:
            paragraph = cell.add_paragraph()
        paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        _off_grid(paragraph)
        if align is not None:
            paragraph.alignment = align
        if line:
            paragraph._p.append(_run_element(line, font, size))


def _off_grid(paragraph) -> None:
    """``w:snapToGrid 0``: a table's single-spaced 5号 lines keep their own height. A 公文 has a line
    grid of 28.95 pt (``w:docGrid``) that Word and LibreOffice otherwise snap every line to, which
    makes each table row at least as tall as a line of body text."""
    ppr = paragraph._p.get_or_add_pPr()
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    spacing = ppr.find(qn("w:spacing"))  # schema order: … snapToGrid, spacing, ind, … jc
    if spacing is not None:
        spacing.addprevious(snap)
    else:
        ppr.append(snap)


def fill_cell(cell, text: str, *, font: str = BODY_FONT, size=SIZE_5) -> None:
    """Replace a cell's text (used by tests and the demo to fill forms as a person would)."""
    for paragraph in cell.paragraphs[1:]:
        paragraph._element.getparent().remove(paragraph._element)
    first = cell.paragraphs[0]
    for run in list(first.runs):
        run._element.getparent().remove(run._element)
    _cell_text(cell, text, font, size)
