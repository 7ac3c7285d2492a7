"""`kaoping responsibilities import|show|suggest`: which unit undertakes which indicator (承担关系)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kaoping.cli.common import actor_of, out, ready, refusals_exit, schema_session
from kaoping.records.received import import_file
from kaoping.services.reference import registry, responsibilities

resp_app = typer.Typer(help="承担关系 / who undertakes which indicator", no_args_is_help=True)


@resp_app.command("import")
@refusals_exit
def responsibilities_import(
    file: Annotated[Path, typer.Argument(help="CSV 文件，两列：单位,指标")],
    year: Annotated[int, typer.Option(help="年度")],
) -> None:
    """导入某年度的承担关系（哪个单位承担哪项指标），替换默认规则。"""
    s = ready()
    actor = actor_of(s)
    _, result = import_file(
        s, file, "responsibilities",
        lambda session, upload: responsibilities.import_responsibilities(session, upload, year=year, actor=actor),
    )
    if not result.created:
        out.print(f"{year} 年承担关系与已导入的第 {result.version} 版相同，未作改动。")
        return
    out.print(f"已导入 {year} 年承担关系（第 {result.version} 版）：{result.units} 个单位，共 {result.pairs} 项。")


@resp_app.command("show")
@refusals_exit
def responsibilities_show(year: Annotated[int, typer.Option(help="年度")]) -> None:
    """显示某年度各单位承担的指标数，以及来源（导入文件或默认规则）。"""
    with schema_session() as (_, session):
        view = responsibilities.responsibilities_for(session, year)
        units = registry.list_units(session)
    per_unit = Counter(u for u, _ in view.pairs)
    source = "默认规则（旗县区承担全部指标，部门承担其牵头的指标）" if view.is_default else f"导入：{view.source}"
    table = Table(show_header=True, header_style="bold", title=f"{year} 年承担关系 — {source}")
    table.add_column("单位")
    table.add_column("承担指标数", justify="right")
    for u in units:
        table.add_row(u.short_name, str(per_unit.get(u.id, 0)))
    out.print(table)
    out.print(f"共 {len(view.pairs)} 项（单位 × 指标）。")


@resp_app.command("suggest")
@refusals_exit
def responsibilities_suggest(
    year: Annotated[int, typer.Option(help="年度")],
    out_file: Annotated[Path | None, typer.Option("--out", help="写入 CSV 文件（单位,指标,依据），核对后可直接导入")] = None,
) -> None:
    """按指标文字建议承担关系：点名具体旗县区的只列这些旗县区，市直部门列其牵头及文字点名的指标。"""
    with schema_session() as (_, session):
        rows = responsibilities.suggest_responsibilities(session, year)
    text = responsibilities.suggestions_csv(rows)
    named = sorted({n for _, n, why in rows if why.startswith("指标文字点名")})
    if out_file is None:
        out.print(text, end="")
    else:
        out_file.write_text(text, encoding="utf-8-sig")
        out.print(f"已写入 {out_file}：{len(rows)} 项建议（单位 × 指标）。")
    out.print(f"其中 {len(named)} 项指标的文字点名了具体单位（指标 {'、'.join(map(str, named)) or '无'}），请重点核对；"
              f"核对修改后用 `kaoping responsibilities import 文件 --year {year}` 导入。")
