"""`kaoping units import|list`: the registry of assessed units (考评对象名录)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kaoping.cli.common import actor_of, out, ready, refusals_exit, schema_session
from kaoping.domain.errors import KaopingError
from kaoping.domain.vocabulary import UnitStanding
from kaoping.models import UnitGroup
from kaoping.records.received import import_file
from kaoping.services.reference import registry

units_app = typer.Typer(help="考评对象名录 / unit registry", no_args_is_help=True)


@units_app.command("import")
@refusals_exit
def units_import(file: Annotated[Path, typer.Argument(help="名录文件：.yaml 或 .csv")]) -> None:
    """导入或更新考评对象名录（按单位代码新增或更新；文件中没有的单位保持不变）。"""
    s = ready()
    actor = actor_of(s)
    _, summary = import_file(s, file, "units", lambda session, upload: registry.import_registry(session, upload, actor=actor))
    if not summary.changed:
        out.print(f"名录未变化（{len(summary.unchanged)} 个单位与现有记录相同）。")
        return
    out.print(
        f"已导入：新增 {len(summary.created)} 个，更新 {len(summary.updated)} 个，未变 {len(summary.unchanged)} 个。"
    )
    for label, names in (("新增", summary.created), ("更新", summary.updated)):
        if names:
            out.print(f"  {label}：{'、'.join(names)}")


@units_app.command("list")
@refusals_exit
def units_list(
    group: Annotated[str | None, typer.Option(help="district（旗县区）或 department（部门）")] = None,
) -> None:
    """列出考评对象。"""
    s = ready()
    chosen = None
    if group:
        chosen = registry.GROUP_WORDS.get(group)
        if chosen is None:
            raise KaopingError(f"分组“{group}”无效：请用 district（旗县区）或 department（部门）。")
    with schema_session(s) as (_, session):
        units = registry.list_units(session, chosen)
        aliases, liaisons = registry.aliases_and_liaisons(session)
    table = Table(show_header=True, header_style="bold", title=f"考评对象名录（{len(units)} 个）")
    for col in ("代码", "简称", "全称", "分组", "考评方式", "别名", "联络员邮箱"):
        table.add_column(col)
    for u in units:
        table.add_row(
            u.code, u.short_name, u.name, UnitGroup(u.group).label, UnitStanding(u.standing or "ranked").label,
            "、".join(aliases.get(u.id, [])), "、".join(liaisons.get(u.id, [])),
        )
    out.print(table)
