"""The 通报's charts stay small at a province's size: a group of hundreds of units is drawn as its first and last
15 with the gap named, and every drawn label is the ranking table's own string."""

from __future__ import annotations

from kaoping.services.reports.charts import EDGE, MAX_BARS, bar_charts, chart_series, drawn


def _rows(districts: int, departments: int) -> list[dict]:
    rows = []
    for group, count in (("district", districts), ("department", departments)):
        for n in range(count):  # top first, as the ranking table lists them
            rows.append({"unit_name": f"{group}{n:03d}", "group": group, "total": f"{95 - n * 60 / count:.2f}"})
    return rows


def test_a_provinces_groups_are_drawn_as_their_top_and_bottom_with_the_gap_named():
    rows = _rows(120, 480)
    departments = chart_series(rows, "department")
    shown = drawn(departments)
    assert len(shown) == 2 * EDGE + 1
    assert shown[:EDGE] == departments[:EDGE] and shown[-EDGE:] == departments[-EDGE:]
    assert shown[EDGE] == (f"……（中间 {480 - 2 * EDGE} 个单位见排名表）", "")
    charts = bar_charts(rows)
    assert len(charts) == 2 and all(chart.startswith(b"\x89PNG") for chart in charts)
    assert max(map(len, charts)) < 150_000, [len(c) for c in charts]  # two such pictures: the 通报 well under 300 KB


def test_a_citys_groups_are_drawn_whole():
    rows = _rows(10, MAX_BARS)
    for group in ("district", "department"):
        assert drawn(chart_series(rows, group)) == chart_series(rows, group)
