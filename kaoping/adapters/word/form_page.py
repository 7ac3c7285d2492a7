"""The page of a form kaoping sends (自评表, 评分表, 调研记录表, 结果表, 异议表): A4, landscape by default for wide
tables, 仿宋 text, modest margins; its title and lines. The 公文's pages are in ``layout``."""

from __future__ import annotations

from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt

from kaoping.adapters.word.layout import (
    BODY_FONT,
    HEADING1_FONT,
    SIZE_SMALL_4,
    TITLE_FONT,
    _from_base,
    _lean_document,
    _style_fonts,
    add_run,
)


def form_document(*, landscape: bool = True):
    """A4 (landscape by default, for wide tables) with 仿宋 text and modest margins."""
    return _from_base(f"form-{landscape}", lambda: _form_document(landscape))


def _form_document(landscape: bool):
    document = _lean_document()
    section = document.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    else:
        section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("top_margin", "bottom_margin", "left_margin", "right_margin"):
        setattr(section, side, Mm(18))
    normal = document.styles["Normal"]
    _style_fonts(normal, BODY_FONT, SIZE_SMALL_4)
    normal.paragraph_format.space_after = Pt(2)
    return document


def form_title(document, text: str) -> None:
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    add_run(paragraph, text, TITLE_FONT, size=Pt(18))


def form_line(document, text: str, *, bold: bool = False, size=SIZE_SMALL_4, font: str = BODY_FONT):
    paragraph = document.add_paragraph()
    add_run(paragraph, text, HEADING1_FONT if bold else font, size=size)
    return paragraph
