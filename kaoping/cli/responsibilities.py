"""`kaoping responsibilities import|show`: which unit undertakes which indicator (承担关系)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kaoping.cli.common import actor_of, out, ready, refusals_exit, schema_session
from kaoping.services import registry, responsibilities
from kaoping.services.received import import_file

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
