"""The 通报's bar charts of totals, one per group: each bar labelled with the total as the ranking table prints it.

A group of more than ``MAX_BARS`` units (a province's 480 departments) is drawn as its first and last ``EDGE`` units with
the gap between them named: the picture stays the same size whatever the number of units (issue 29: the 通报 at 600
units was 1.6 MB, nearly all of it two pictures of 120 and 480 bars), and the ranking table lists everyone."""

from __future__ import annotations

import functools
import io
from pathlib import Path

from kaoping.services.scoring.results import GROUP_LABELS


MAX_BARS, EDGE = 30, 15


def chart_series(rows: list[dict], group: str) -> list[tuple[str, str]]:
    """(unit, label) of one group's bars, top first: the labels are the ranking table's own strings."""
    return [(r["unit_name"], r["total"]) for r in rows if r["group"] == group]


def drawn(members: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The bars drawn, top first: every unit, or the first and last ``EDGE`` with the gap between them named
    (a bar without a label)."""
    if len(members) <= MAX_BARS:
        return members
    return members[:EDGE] + [(f"……（中间 {len(members) - 2 * EDGE} 个单位见排名表）", "")] + members[-EDGE:]


def bar_charts(rows: list[dict]) -> list[bytes]:
    """One bar chart of totals per group (matplotlib; Chinese labels in Noto Sans CJK SC): two
    pictures rather than one tall one, so the first fits under the 总体情况 on its page. Each bar's
    label is the total as the table prints it (no float formatting)."""
    charts = []
    for key, label in GROUP_LABELS.items():
        members = chart_series(rows, key)
        if members:
            charts.append(group_chart(label, tuple(drawn(members)), len(members)))
    return charts


@functools.lru_cache(maxsize=32)
def group_chart(label: str, shown: tuple[tuple[str, str], ...], count: int) -> bytes:
    """One group's chart as PNG: the bars ``shown`` (top first) of a group of ``count`` units.

    Kept for the process (the picture depends on nothing else): a cycle's 通报 is built for each sign-off's brief, for
    the provisional results and for the publication, mostly from the same totals, and drawing a chart (the layout pass,
    the text, the PNG) was the larger part of building the documents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=str(cjk_font()))
    fig, ax = plt.subplots(figsize=(6.2, max(2.2, 0.22 * len(shown) + 1)))
    names = [name for name, _ in shown][::-1]
    labels = [text for _, text in shown][::-1]
    values = [float(text) if text else 0.0 for text in labels]  # bar lengths only
    bars = ax.barh(names, values, color="#C0392B" if label.startswith("旗县区") else "#2E5C8A", height=0.6)
    ax.set_xlim(0, 105)
    title = f"{label}考评得分" + (f"（前 {EDGE} 名和后 {EDGE} 名，共 {count} 个单位）" if len(shown) < count else "")
    ax.set_title(title, fontproperties=font, fontsize=11)
    for tick in ax.get_yticklabels():
        tick.set_fontproperties(font)
        tick.set_fontsize(8 if len(shown) > 15 else 9)
    for bar, value, text in zip(bars, values, labels, strict=True):
        ax.text(value + 0.5, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    plt.close(fig)
    return buffer.getvalue()


def cjk_font() -> Path:
    """A font with the Chinese glyphs the chart needs (shipped with the mplfonts package)."""
    import mplfonts

    return Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
