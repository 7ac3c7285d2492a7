"""Table column widths fitted to the content (issue 26): a figure column as wide as its widest figure,
text columns sharing the rest where it shortens the table most. Widths in mm, for ``layout.table``."""

from __future__ import annotations

import unicodedata

from docx.shared import Pt

#: The 公文 type area's width: A4 210 mm − margins 28 and 26 mm.
TYPE_AREA_MM = 156.0
#: Cell margins kaoping's tables set (left and right; Word's default is 1.9 mm), and a little
#: slack for the difference between the fonts named and the fonts a PC substitutes.
CELL_MARGIN_MM = 1.0
CELL_PADDING_MM = 2 * CELL_MARGIN_MM
CELL_SLACK_MM = 0.8
#: 5号, the tables' text.
SIZE_5 = Pt(10.5)


class _CharEm(dict):
    """Character → its width in em (CJK and full-width 1, others ½), looked up in Unicode once per character
    (issue 29: a 反馈函's 90-row table measured every character of every cell through ``unicodedata``)."""

    def __missing__(self, ch: str) -> float:
        em = self[ch] = 1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5
        return em


_CHAR_EM = _CharEm()


def text_em(text: str) -> float:
    """Width of the widest line of ``text`` in em: CJK and full-width characters 1, others ½."""
    if "\n" not in text:
        return sum(map(_CHAR_EM.__getitem__, text))
    return max(sum(map(_CHAR_EM.__getitem__, line)) for line in text.split("\n"))


#: A wrapping column is never narrower than this many characters (nor than its header), unless its
#: text is shorter: a 内容 column four characters wide makes a 90-row table run 22 pages.
WRAP_MIN_EM = 6
_FIT_STEPS = 32


def _length_em(text: str) -> float:
    """Width of all of ``text`` in em, on one line: CJK and full-width characters 1, others ½."""
    return sum(map(_CHAR_EM.__getitem__, text.replace("\n", "")))


def fitted_widths(header: list[str], rows: list[list[str]], *, total_mm: float = TYPE_AREA_MM, size=SIZE_5,
                  wrap: tuple[int, ...] = ()) -> list[float]:
    """Column widths (mm) from the content, spanning ``total_mm``.

    Every column not in ``wrap`` gets its widest cell at ``size`` plus the cell padding, so no header
    and no figure breaks inside a word. The columns in ``wrap`` (text: titles, names, notes) may wrap
    their body text: they share what is left, at least their header (and ``WRAP_MIN_EM`` characters
    where the table has room) each, the rest given step by step to the column where it shortens the
    table most (the rows' heights estimated from the characters in each cell). What is left once every
    column has its natural width goes to the ``wrap`` columns, or to all columns in proportion when there
    are none.
    """
    em_mm = size.pt * 25.4 / 72

    def width(em: float) -> float:
        return em * em_mm + CELL_PADDING_MM + CELL_SLACK_MM

    heads = [width(text_em(h)) for h in header]
    cells = [[str(r[i]) for r in rows] for i in range(len(header))]
    natural = [max([heads[i]] + [width(text_em(c)) for c in cells[i]]) for i in range(len(header))]
    fixed = sum(w for i, w in enumerate(natural) if i not in wrap)
    if not wrap:
        if fixed > total_mm:
            raise ValueError(f"table does not fit in {total_mm} mm: its columns need {fixed:.1f} mm")
        return [round(w * total_mm / fixed, 2) for w in natural]
    floor = {i: max(heads[i], min(natural[i], width(WRAP_MIN_EM))) for i in wrap}
    spare = total_mm - fixed
    if spare < sum(floor.values()):  # a wide table (the ranking with its comparison): down to the headers
        floor = {i: heads[i] for i in wrap}
    if spare < sum(floor.values()):
        raise ValueError(f"table does not fit in {total_mm} mm: its columns need {fixed + sum(floor.values()):.1f} mm")
    widths = list(natural)
    for i in wrap:
        widths[i] = floor[i]
    _share(widths, spare - sum(floor.values()), {i: cells[i] for i in wrap}, natural, em_mm)
    return [round(w, 2) for w in widths]


def _share(widths: list[float], spare: float, texts: dict[int, list[str]], natural: list[float], em_mm: float) -> None:
    """Give ``spare`` mm to the wrapping columns (``texts``: their cells), in steps, each to the column
    whose widening most lowers the table's estimated height (Σ over rows of the row's tallest cell);
    past every column's natural width, in proportion to it."""
    # Each cell as (its lines, its length in mm): at a width it takes about max(lines, length / width) lines.
    cells = {i: [(c.count("\n") + 1, _length_em(c) * em_mm) for c in column] for i, column in texts.items()}

    def lines(i: int, w: float) -> list[float]:  # each row's lines in column i at width w
        per_mm = 1.0 / max(w - CELL_PADDING_MM - CELL_SLACK_MM, 1.0)
        return [count if length * per_mm < count else length * per_mm for count, length in cells[i]]

    step = spare / _FIT_STEPS
    current = {i: lines(i, widths[i]) for i in texts}
    for _ in range(_FIT_STEPS if step > 0.05 else 0):
        growing = [i for i in texts if widths[i] < natural[i]]
        if not growing:
            break
        trials = {}
        for i in growing:
            wider = lines(i, widths[i] + step)
            others = [current[j] for j in texts if j != i]
            trials[i] = (sum(map(max, wider, *others)) if others else sum(wider), -natural[i] / widths[i], wider)
        best = min(growing, key=lambda i: trials[i][:2])
        widths[best] += step
        current[best] = trials[best][2]
        spare -= step
    wanted = sum(natural[i] for i in texts)
    for i in texts:  # what is left once every wrapping column has its natural width
        widths[i] += spare * natural[i] / wanted
