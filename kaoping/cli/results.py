"""`kaoping check|results|annual|explain`: what stands in the way, the results and their trail."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kaoping.adapters.console import print_result_table
from kaoping.cli.common import (
    CycleOpt,
    cycle_session,
    err,
    out,
    refusals_exit,
    schema_session,
)
from kaoping.services.cycles import cycle as cycles
from kaoping.services.cycles.milestones import overdue_milestones
from kaoping.services.cycles.points import default_points_problems
from kaoping.services.scoring import results

FormatOpt = Annotated[str, typer.Option("--format", help="table | json | csv | xlsx")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="输出文件（xlsx 必填）")]


@refusals_exit
def check(cycle: CycleOpt) -> None:
    """计算前检查：缺少的评分、超出范围的得分、未核实的自评项、缺少的考评部分，一次列全。"""
    with cycle_session(cycle) as (_, session, c):
        problems = results.problems_of(session, c)
        missed = overdue_milestones(session, c)
        names = cycles.unit_names(session, c)
        defaults = default_points_problems(session, c)
    if missed:
        out.print(f"时间节点：{len(missed)} 个单位自报完成进度未达到节点要求（供核实参考，不影响计算）：")
        for unit_id, items in missed.items():
            out.print(f"  {names.get(unit_id, unit_id)}：" + "；".join(m.text for m in items))
    for note in defaults:
        out.print(f"核实签字前须处理：{note}")
    if not problems:
        out.print(f"{c.code} 检查通过，可以计算结果。")
        return
    err.print(f"{c.code} 有 {len(problems)} 个问题：")
    for i, p in enumerate(problems, 1):
        err.print(f"  {i}. {p}")
    raise typer.Exit(1)


def _show(rows, format: str, output: Path | None, title: str, note: str) -> None:
    text = results.render(rows, format, output, title=title, note=note)
    if format == "table":
        print_result_table(rows, title, note=note)
    elif text is not None:
        sys.stdout.write(text)
    else:
        err.print(f"已写入 {output}")


@refusals_exit
def results_command(cycle: CycleOpt, format: FormatOpt = "table", output: OutOpt = None) -> None:
    """计算并显示半年考评结果：各大项、各部分、总分、组内排名、等次。"""
    with cycle_session(cycle) as (_, session, c):
        inputs, computed = results.compute_cycle(session, c)
        rows = results.result_rows(inputs, computed)
        title = f"{cycles.cycle_label(c)}数字政府建设考评结果"
        note = results.rounding_note_of(session, c)
    _show(rows, format, output, title, note)


@refusals_exit
def annual_command(
    year: Annotated[int, typer.Argument(help="年度")], format: FormatOpt = "table", output: OutOpt = None,
) -> None:
    """年度考评分值 =（上半年 + 下半年）/ 2，组内排名与等次。"""
    with schema_session() as (_, session):
        computed, places = results.annual(session, year)
        note = results.rounding_note_of(session, cycles.get_cycle(session, f"{year}H2"), annual=True)
    rows = results.annual_rows(computed, places)
    _show(rows, format, output, f"{year}年度数字政府建设考评结果", note)


@refusals_exit
def explain(cycle: CycleOpt, unit: Annotated[str, typer.Option(help="单位")]) -> None:
    """逐层说明一个单位的总分：各部分 → 各大项 → 各指标 → 牵头考核单位评分 → 核实与加减分。"""
    with cycle_session(cycle) as (s, session, c):
        lines = results.explain(session, c, unit, tz=s.tz)
    for line in lines:
        out.print(line)
