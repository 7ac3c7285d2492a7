"""版记 (GB/T 9704-2012 §7.4, §10): 抄送 and 印发机关/印发日期 between rules, at the foot of the last page,
which is an even page (封四). The choice and how it renders: docs/documents.md."""

from __future__ import annotations

from docx.enum.section import WD_SECTION
from docx.enum.text import WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Emu, Mm, Pt

from kaoping.adapters.word.column_widths import text_em
from kaoping.adapters.word.layout import (
    BODY_FONT,
    LEFT_MARGIN_MM,
    SIZE_4,
    TYPE_AREA_HEIGHT_MM,
    TYPE_AREA_MM,
    _para,
    set_font,
)

#: 版记 rules (GB/T 9704-2012 §7.4.1): as wide as the type area, the first and the last thick (0.35 mm,
#: drawn as 1 pt: ``w:sz`` is in eighths of a point), those between thin (0.25 mm: 0.75 pt).
COLOPHON_THICK, COLOPHON_THIN = 8, 6
#: 版记 text: 4号仿宋, one character (14 pt) in from the left and the right (§7.4.2, §7.4.3).
COLOPHON_LINE, COLOPHON_INDENT, COLOPHON_COPY_LABEL = Pt(25), Pt(14), Pt(42)  # "抄送：" is 3 characters


def colophon(document, copied_to: list[str], printer: str, print_date: str) -> None:
    """版记 (GB/T 9704-2012 §7.4, §10): 抄送 and 印发机关/印发日期 between rules, at the foot of the last
    page, which is an even page (封四).

    python-docx cannot know where pages end, so the 版记 gets a section of its own that starts on an even
    page (``w:type evenPage``: after a body ending on an odd page, the next page; after one ending on an
    even page, a blank page and the one after), and stands there as a one-column table floating at the
    foot of the type area (``w:tblpPr``). Its rules are the table's borders: the type area's width
    whatever the text's indents."""
    _own_even_page_section(document)
    _tiny_paragraph(document)  # the page's first line (LibreOffice puts its page style there)
    t = document._body.add_table(0, 1, document._block_width)  # (Document.add_table would read the styles part for no style)
    lines = 0
    if copied_to:
        names = f"{'，'.join(copied_to)}。"
        paragraph = _colophon_row(t)
        set_font(paragraph.add_run(f"抄送：{names}"), BODY_FONT, size=SIZE_4)
        # a second line aligns under the first name
        paragraph.paragraph_format.left_indent = COLOPHON_INDENT + COLOPHON_COPY_LABEL
        paragraph.paragraph_format.right_indent = COLOPHON_INDENT
        paragraph.paragraph_format.first_line_indent = -COLOPHON_COPY_LABEL
        width = Mm(TYPE_AREA_MM) - 2 * COLOPHON_INDENT - COLOPHON_COPY_LABEL
        lines += max(1, -(-round(text_em(names) * SIZE_4) // width))  # ceil: the lines 抄送 takes
    paragraph = _colophon_row(t)
    set_font(paragraph.add_run(printer), BODY_FONT, size=SIZE_4)
    paragraph.add_run("\t")
    set_font(paragraph.add_run(f"{print_date}印发"), BODY_FONT, size=SIZE_4)
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = COLOPHON_INDENT
    paragraph.paragraph_format.tab_stops.add_tab_stop(Mm(TYPE_AREA_MM) - COLOPHON_INDENT, WD_TAB_ALIGNMENT.RIGHT)
    _colophon_table_properties(t, height=Emu((lines + 1) * COLOPHON_LINE))
    _tiny_paragraph(document)  # the table's anchor, the section's last paragraph


def _own_even_page_section(document) -> None:
    """End the body's section at its last paragraph (a 1-pt paragraph after a closing table, which Word
    requires) and start a new one on the next even page, with the same page setup and page numbers."""
    body = document.element.body
    last = body[-2] if len(body) > 1 else None  # body[-1] is the sentinel w:sectPr
    if last is None or last.tag != qn("w:p") or last.find(qn("w:pPr") + "/" + qn("w:sectPr")) is not None:
        _tiny_paragraph(document)
    sentinel = body.get_or_add_sectPr()
    body[-2].set_sectPr(sentinel.clone())
    for reference in sentinel.xpath("w:headerReference|w:footerReference"):
        sentinel.remove(reference)  # inherited from the body's section
    document.sections[-1].start_type = WD_SECTION.EVEN_PAGE


def _colophon_table_properties(t, *, height) -> None:
    """The 版记 table's ``w:tblPr``: floating, its foot on the foot of the type area (``height``: the rows'
    height), as wide as the type area, fixed layout, the rules as borders, no cell margins (the text's
    indents keep it one character from the rules' ends). Placed by offsets from the top margin and the
    page's left edge, which Word and LibreOffice read alike: LibreOffice takes "bottom of the margin"
    for the top of the footer, and keeps a table as wide as the type area floating only when it is
    placed horizontally on the page."""
    width, left = round(Mm(TYPE_AREA_MM).twips), round(Mm(LEFT_MARGIN_MM).twips)
    rules_height = Pt((2 * COLOPHON_THICK + COLOPHON_THIN * (len(t.rows) - 1)) / 8)
    top = round(Mm(TYPE_AREA_HEIGHT_MM).twips - height.twips - rules_height.twips)
    rules = "".join(f'<w:{side} w:val="{value}" w:sz="{size}" w:space="0" w:color="000000"/>'
                    for side, value, size in (("top", "single", COLOPHON_THICK), ("left", "nil", 0),
                                              ("bottom", "single", COLOPHON_THICK), ("right", "nil", 0),
                                              ("insideH", "single", COLOPHON_THIN), ("insideV", "nil", 0)))
    properties = [parse_xml(xml) for xml in (
        f'<w:tblpPr {nsdecls("w")} w:vertAnchor="margin" w:tblpY="{top}" w:horzAnchor="page" w:tblpX="{left}"/>',
        f'<w:tblOverlap {nsdecls("w")} w:val="never"/>',
        f'<w:tblW {nsdecls("w")} w:w="{width}" w:type="dxa"/>',
        f'<w:tblBorders {nsdecls("w")}>{rules}</w:tblBorders>',
        f'<w:tblLayout {nsdecls("w")} w:type="fixed"/>',
        f'<w:tblCellMar {nsdecls("w")}><w:left w:w="0" w:type="dxa"/><w:right w:w="0" w:type="dxa"/></w:tblCellMar>',
    )]
    tbl_pr = t._tbl.tblPr
    look = tbl_pr.find(qn("w:tblLook"))
    for child in list(tbl_pr):
        if child is not look:
            tbl_pr.remove(child)
    for child in properties:  # schema order: … tblLayout, tblCellMar, tblLook
        (look.addprevious if look is not None else tbl_pr.append)(child)
    t._tbl.tblGrid.find(qn("w:gridCol")).set(qn("w:w"), str(width))


def _colophon_row(t):
    """A row of the 版记 (never split across pages) and its paragraph: 4号 text on lines of exactly 25 pt."""
    row = t.add_row()
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    cell = row.cells[0]
    cell.width = Mm(TYPE_AREA_MM)
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    paragraph.paragraph_format.line_spacing = COLOPHON_LINE
    return paragraph


def _tiny_paragraph(document):
    """An empty paragraph 1 pt high (where Word needs a paragraph and the page has no room to spare)."""
    paragraph = _para(document, line=Pt(1))
    paragraph.paragraph_format.line_spacing = Pt(1)
    return paragraph
