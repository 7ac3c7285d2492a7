"""Issue 27, item 2: departments ranked on their base. Every result row carries the unit's base
(承担指标分值) and the part of it the unit scored itself; a department below the policy's minimum base
(专班口径) is listed, not ranked or graded; the registry says per unit ranked | listed | not_assessed,
frozen when a cycle opens."""

from __future__ import annotations

import pytest
from kaoping.models import CycleUnit, Unit
from sqlmodel import select

from kaoping import db
from kaoping.domain.errors import InvalidInput
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.scoring.results import LISTED, NO_GRADE, compute_cycle, result_rows, write_xlsx
from tests.factories import import_units, scored_cycle, write_text

ZJJ = """units:
- code: zjj
  name: 包头市住房和城乡建设局
  short_name: 市住建局
  group: department
  standing: {standing}
  aliases: [住建局]
  contacts:
  - {{role: liaison, name: 市住建局联络员, email: liaison@zjj.baotou.example}}
  - {{role: head, name: 市住建局负责人, email: head@zjj.baotou.example}}
"""


def _rows(settings):
    with db.session_scope(settings) as session:
        inputs, results = compute_cycle(session, get_cycle(session, "2022H1"))
        return inputs, results, result_rows(inputs, results)


def test_departments_are_ranked_on_their_base_and_listed_below_the_minimum(initialized_db, tmp_path):
    settings = initialized_db
    scored_cycle(settings, tmp_path)
    inputs, results, rows = _rows(settings)
    minimum = inputs.policy.ranking.min_base
    by_name = {r["unit_name"]: r for r in rows}
    for r in results:
        row = by_name[r.unit.short_name]
        assert row["own_points"] == row["base"] if r.unit.group == "department" else row["own_points"] == "0.00"
        below = r.unit.group == "department" and r.base < minimum
        if r.unit.standing != "ranked" or below:
            assert (row["rank"], row["grade"], r.grade) == (LISTED, NO_GRADE, "") and r.listed in row["flags"]
        else:
            assert isinstance(row["rank"], int) and row["grade"] not in ("", NO_GRADE)
    # 市住建局 undertakes one item of 2/3 point that it scores itself: listed, said with the figure and 专班口径.
    zjj = by_name["市住建局"]
    assert (zjj["base"], zjj["own_points"], zjj["rank"]) == ("0.67", "0.67", LISTED)
    assert any("承担指标分值 0.6667 分，低于专班口径参与排名的最低承担分值 1 分" in f for f in zjj["flags"])
    # The registry's 党委 departments and the issuing office are listed whatever their base.
    assert {by_name[n]["rank"] for n in ("市委组织部", "市委宣传部", "市委网信办", "市税务局", "市政府办公室")} == {LISTED}
    # The ranked departments are ranked among themselves: 1, 2, 3 … without the listed ones.
    ranks = [r["rank"] for r in rows if r["group"] == "department" and r["rank"] != LISTED]
    assert ranks == sorted(ranks) and ranks[0] == 1 and len(set(ranks)) >= len(ranks) - 1
    assert [r["rank"] for r in rows if r["group"] == "department"][-1] == LISTED  # listed after the ranked
    # The workbook shows the base beside the score.
    import openpyxl

    path = tmp_path / "results.xlsx"
    write_xlsx(rows, path, title="测试")
    sheet = openpyxl.load_workbook(path)["市直部门、单位"]
    header = [c.value for c in sheet[2]]
    assert "承担指标分值" in header and "其中本单位自评分值" in header
    line = next(row for row in sheet.iter_rows(min_row=3, values_only=True) if row[header.index("单位")] == "市住建局")
    assert str(line[header.index("承担指标分值")]) == "0.67" and line[header.index("排名")] == LISTED


def test_the_registry_says_who_is_ranked_and_a_cycle_keeps_it(initialized_db, tmp_path):
    settings = initialized_db
    with pytest.raises(InvalidInput) as refused:
        import_units(settings, write_text(tmp_path / "bad.yaml", ZJJ.format(standing="sometimes")))
    assert any("考评方式 standing“sometimes”无效" in p for p in refused.value.problems)
    import_units(settings, write_text(tmp_path / "zjj.yaml", ZJJ.format(standing="不参加考评")))
    scored_cycle(settings, tmp_path)
    with db.session_scope(settings) as session:
        cycle = get_cycle(session, "2022H1")
        standing = dict(session.exec(select(CycleUnit.short_name, CycleUnit.standing)
                                     .where(CycleUnit.cycle_id == cycle.id)).all())
        assert "市住建局" not in standing  # not assessed: not in the cycle at all
        assert standing["市委组织部"] == "listed" and standing["东河区"] == "ranked"
        # The registry changed after opening: the open cycle keeps what it had.
        session.exec(select(Unit).where(Unit.short_name == "市委组织部")).one().standing = "ranked"
    _, results, _ = _rows(settings)
    assert next(r for r in results if r.unit.short_name == "市委组织部").listed
    assert all(r.unit.short_name != "市住建局" for r in results)
