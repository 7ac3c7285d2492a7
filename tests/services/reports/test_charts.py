"""The 通报's charts stay small at a province's size: a group of hundreds of units is drawn as its first and last
15 with the gap named, and every drawn label is the ranking table's own string."""

from __future__ import annotations

from kaoping.services.reports.charts import EDGE, MAX_BARS, bar_charts, chart_series, drawn, group_chart


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


def test_a_chart_is_drawn_once_for_the_same_totals_and_again_when_one_changes():
    """The briefs, the provisional results and the publication build the 通报 from the same totals: each group's
    picture is drawn once a process (``group_chart``'s cache), and drawn again for a changed total or name."""
    rows = _rows(10, 26)
    group_chart.cache_clear()
    first = bar_charts(rows)
    drawn_once = group_chart.cache_info()
    assert drawn_once.misses == 2 and drawn_once.hits == 0
    assert bar_charts([dict(row) for row in rows]) == first  # equal rows, fresh objects: the same pictures, not redrawn
    assert group_chart.cache_info().misses == 2 and group_chart.cache_info().hits == 2

    changed = [dict(row) for row in rows]
    changed[-1]["total"] = "12.34"  # the last department's total
    pictures = bar_charts(changed)
    assert group_chart.cache_info().misses == 3  # the departments' chart drawn again, the districts' reused
    assert pictures[0] == first[0] and pictures[1] != first[1]
    renamed = [dict(row, unit_name=row["unit_name"] + "局") if row["group"] == "district" else row for row in rows]
    assert bar_charts(renamed)[0] != first[0]
