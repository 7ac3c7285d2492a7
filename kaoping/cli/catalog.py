"""`kaoping catalog import|export|show`: the indicator catalog (考评指标) of a year."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kaoping import db
from kaoping.adapters.console import print_summary
from kaoping.cli.common import actor_of, err, out, ready, refusals_exit, schema_session
from kaoping.records.received import import_file
from kaoping.services.reference import catalog as catalog_service

catalog_app = typer.Typer(help="考评指标 / indicator catalog", no_args_is_help=True)


@catalog_app.command("import")
@refusals_exit
def catalog_import(
    file: Annotated[Path, typer.Argument(help="考评指标附件：.docx、.txt，或 kaoping 导出的 .json/.yaml")],
    year: Annotated[int, typer.Option(help="指标所属年度，例如 2022")],
) -> None:
    """导入某年度的考评指标（检查分值、编号、牵头考核单位后整体导入）。"""
    s = ready()
    actor = actor_of(s)
    _, result = import_file(
        s, file, "catalog", lambda session, upload: catalog_service.import_catalog(session, upload, year=year, actor=actor)
    )
    if not result.created:
        out.print(f"{year} 年考评指标与已导入的第 {result.catalog.version} 版完全相同，未作改动。")
        return
    out.print(f"已导入 {year} 年考评指标（第 {result.catalog.version} 版）：")
    with db.session_scope(s) as session:
        print_summary(catalog_service.summarize(session, year))


@catalog_app.command("export")
@refusals_exit
def catalog_export(
    year: Annotated[int, typer.Option(help="年度")],
    format: Annotated[str, typer.Option("--format", help="json 或 yaml")] = "json",
    output: Annotated[Path | None, typer.Option("--out", help="写入文件（默认输出到屏幕）")] = None,
) -> None:
    """导出某年度的考评指标（JSON 或 YAML）。"""
    with schema_session() as (_, session):
        text = catalog_service.dump_export(catalog_service.export_catalog(session, year), format)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"已写入 {output}")
    else:
        sys.stdout.write(text)


@catalog_app.command("show")
@refusals_exit
def catalog_show(year: Annotated[int, typer.Option(help="年度")]) -> None:
    """显示某年度考评指标概要：大项分值、指标数、各牵头考核单位的指标数。"""
    with schema_session() as (_, session):
        print_summary(catalog_service.summarize(session, year))
