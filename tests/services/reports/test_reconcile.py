"""Issue 26, Deliver 1: one number, one rounding. A whole cycle is scored and its documents written; then every
printed row of the 通报, each 反馈函 and the results workbook is read back from the .docx/.xlsx and recomputed
from the printed figures beneath it (item → area → 日常监测 → total), with Decimal arithmetic and the
half-up rounding a reader applies. The only things taken from outside the printed page are the structure
(which area an item belongs to) and the weights the documents state (60/20/10/10)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import docx
import openpyxl
import pytest

from kaoping import db
from kaoping.adapters.word.tables import cell_text
from kaoping.domain.text import chinese_numeral
from kaoping.domain.vocabulary import Component
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reports.charts import chart_series
from kaoping.services.scoring.results import compute_cycle, result_rows
from tests.factories import scored_cycle, write_reports

TONGBAO = "2022年上半年数字政府建设考评结果通报.docx"
WORKBOOK = "2022年上半年数字政府建设考评结果（实绩考核）.xlsx"
CENT = Decimal("0.01")


def r2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def D(text) -> Decimal:
    return Decimal(str(text).split("\n")[0])


def table_rows(table) -> list[list[str]]:
    return [[cell_text(c) for c in row.cells] for row in table.rows]


@pytest.fixture
def written(initialized_db, settings, tmp_path):
    scored_cycle(settings, tmp_path)
    out = tmp_path / "r"
    write_reports(settings, out, cycle="2022H1", signed=date(2022, 7, 15))
    with db.session_scope(settings) as session:
        inputs, results = compute_cycle(session, get_cycle(session, "2022H1"))
        weights = {c: Decimal(inputs.policy.weight(c)) / 100 for c in Component}
        area_of = {spec.number: spec.area_code for spec in inputs.items.values()}
        rows = result_rows(inputs, results)
    return out, weights, area_of, rows


def _total(weights, monitoring, field, opinion, third_party, adjustments) -> Decimal:
    return r2(weights[Component.monitoring] * D(monitoring) + weights[Component.field] * D(field)
              + weights[Component.opinion] * D(opinion) + weights[Component.third_party] * D(third_party) + D(adjustments))


@pytest.mark.layout_only
def test_every_printed_row_recomputes_from_the_printed_figures_beneath_it(written):
    out, weights, area_of, rows = written
    checked = defaultdict(int)

    # 通报: the ranking tables (total from the printed components) and the chart labels (the table's strings).
    tongbao = docx.Document(out / TONGBAO)
    printed_totals: dict[str, Decimal] = {}
    for table in tongbao.tables:
        body = table_rows(table)
        if body[0][0] != "排名":
            continue
        for line in body[1:]:
            rank, unit, monitoring, field, opinion, third_party, adjustments, total = line[:8]
            assert _total(weights, monitoring, field, opinion, third_party, adjustments) == D(total), unit
            printed_totals[unit] = D(total)
            checked["tongbao rows"] += 1
    assert len(printed_totals) == len(rows)
    for group in ("district", "department"):
        for unit, label in chart_series(rows, group):
            assert D(label) == printed_totals[unit] and re.fullmatch(r"\d+\.\d\d", label)
    # The averages in the text are the averages of the printed totals.
    text = "\n".join(p.text for p in tongbao.paragraphs)
    everyone = list(printed_totals.values())
    assert f"全市平均得分{r2(sum(everyone) / len(everyone))}分" in text
    for group, label in (("district", "旗县区、稀土高新区"), ("department", "市直部门、单位")):
        members = [printed_totals[r["unit_name"]] for r in rows if r["group"] == group]
        assert f"{label}平均得分{r2(sum(members) / len(members))}分" in text

    # Each 反馈函: item scores → 指标得分, item points → 承担指标分值, the area formula, 日常监测, the total.
    letters = sorted((out / "反馈函").glob("*.docx"))
    assert len(letters) == len(rows)
    by_name = {}
    for path in letters:
        letter = docx.Document(path)
        tables = [table_rows(t) for t in letter.tables]
        areas = next(t for t in tables if t[0][0] == "方面")
        items = next(t for t in tables if t[0][0] == "指标")
        item_scores, item_points = defaultdict(Decimal), defaultdict(Decimal)
        approximate = set()  # areas with an item on points that do not print in 2 places (an equal share: 2/3, 0.625)
        for number, _title, points, score, _notes in items[1:]:
            # A score has 2 places, or is full marks printed as the points are.
            assert Decimal(0) <= D(score) <= D(points) and (D(score) == r2(D(score)) or score == points)
            item_scores[area_of[int(number)]] += D(score)
            item_points[area_of[int(number)]] += D(points)
            if D(points) != r2(D(points)):
                approximate.add(area_of[int(number)])
        area_sum = weight_sum = Decimal(0)
        for name, weight, points, scores, score in areas[1:]:
            code = next(c for c in item_scores if name.startswith(f"{chinese_numeral(int(c))}、"))
            if code in approximate:
                checked["approximate areas"] += 1
                assert abs(D(scores) - item_scores[code]) < CENT and abs(D(points) - item_points[code]) < CENT
            else:
                assert D(scores) == item_scores[code], (path.name, name)
                assert D(points) == item_points[code], (path.name, name)
            assert r2(D(weight) * D(scores) / D(points)) == D(score), (path.name, name, weight, scores, points, score)
            area_sum += D(score)
            weight_sum += D(weight)
            checked["letter areas"] += 1
        text = "\n".join(p.text for p in letter.paragraphs)
        found = re.search(r"考评得分([\d.]+)分.*?其中日常监测([\d.]+)分，实地调研([\d.]+)分，民意调查([\d.]+)分，"
                          r"第三方评估([\d.]+)分(?:，加减分(-?[\d.]+)分)?", text)
        total, monitoring, field, opinion, third_party, adjustments = found.groups()
        assert r2(100 * area_sum / weight_sum) == D(monitoring), path.name
        assert _total(weights, monitoring, field, opinion, third_party, adjustments or "0") == D(total), path.name
        by_name[path.stem.split("-")[1]] = (D(total), {name.split("、")[0]: D(a[4]) for a in areas[1:] for name in [a[0]]},
                                            weight_sum)
        checked["letters"] += 1
    assert {name: v[0] for name, v in by_name.items()} == printed_totals

    # The workbook: 日常监测 from the area columns, the total from the components; the same figures as the 通报.
    book = openpyxl.load_workbook(out / WORKBOOK)
    for sheet in book.worksheets:
        header = [c.value for c in sheet[2]]
        first_area, monitoring_at = 4, header.index("日常监测")
        for line in sheet.iter_rows(min_row=3, values_only=True):
            if not line or line[1] not in printed_totals:
                continue
            record = dict(zip(header, line, strict=False))
            areas = {h: Decimal(str(v)) for h, v in zip(header[first_area - 1:monitoring_at], line[first_area - 1:monitoring_at],
                                                        strict=True) if v not in (None, "")}
            total, letter_areas, weight_sum = by_name[line[1]]
            assert areas == letter_areas, line[1]
            assert r2(100 * sum(areas.values()) / weight_sum) == Decimal(str(record["日常监测"]))
            assert _total(weights, record["日常监测"], record["实地调研"], record["民意调查"], record["第三方评估"],
                          record["加减分"]) == Decimal(str(record["总分"])) == printed_totals[line[1]]
            checked["workbook rows"] += 1
    assert checked["workbook rows"] == checked["tongbao rows"] == checked["letters"] == len(rows)
    assert checked["letter areas"] >= len(rows)
