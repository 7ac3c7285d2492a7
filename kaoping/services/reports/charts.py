"""The 通报's bar charts of totals, one per group: each bar labelled with the total as the ranking table prints it."""

from __future__ import annotations

import io
from pathlib import Path

from kaoping.services.scoring.results import GROUP_LABELS


def chart_series(rows: list[dict], group: str) -> list[tuple[str, str]]:
    """(unit, label) of one group's bars, top first: the labels are the ranking table's own strings."""
    return [(r["unit_name"], r["total"]) for r in rows if r["group"] == group]


def bar_charts(rows: list[dict]) -> list[bytes]:
    """One bar chart of totals per group (matplotlib; Chinese labels in Noto Sans CJK SC): two
    pictures rather than one tall one, so the first fits under the 总体情况 on its page. Each bar's
    label is the total as the table prints it (no float formatting)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=str(cjk_font()))
    charts = []
    for key, label in GROUP_LABELS.items():
        members = chart_series(rows, key)
        if not members:
            continue
        fig, ax = plt.subplots(figsize=(6.2, max(2.2, 0.22 * len(members) + 1)))
        names = [name for name, _ in members][::-1]
        labels = [label for _, label in members][::-1]
        values = [float(label) for label in labels]  # bar lengths only
        bars = ax.barh(names, values, color="#C0392B" if label.startswith("旗县区") else "#2E5C8A", height=0.6)
        ax.set_xlim(0, 105)
        ax.set_title(f"{label}考评得分", fontproperties=font, fontsize=11)
        for tick in ax.get_yticklabels():
            tick.set_fontproperties(font)
            tick.set_fontsize(8 if len(members) > 15 else 9)
        for bar, value, text in zip(bars, values, labels, strict=True):
            ax.text(value + 0.5, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=150)
        plt.close(fig)
        charts.append(buffer.getvalue())
    return charts


def cjk_font() -> Path:
    """A font with the Chinese glyphs the chart needs (shipped with the mplfonts package)."""
    import mplfonts

    return Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
