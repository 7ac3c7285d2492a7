"""`kaoping init` and `kaoping db upgrade|status`."""

from __future__ import annotations

from typing import Annotated

import typer

from kaoping import db
from kaoping.cli.common import out, refusals_exit, settings
from kaoping.services.reference.setup import database_label, initialize

db_app = typer.Typer(help="数据库 / database schema", no_args_is_help=True)


@refusals_exit
def init(
    empty: Annotated[bool, typer.Option("--empty", help="只建数据库结构，不装入包头名录和 2022 指标")] = False,
) -> None:
    """初始化：建立数据库结构，装入包头市考评对象名录与 2022 年考评指标（可重复运行）。"""
    for line in initialize(settings(), empty=empty):
        out.print(line)


@db_app.command("upgrade")
@refusals_exit
def db_upgrade() -> None:
    """把数据库结构升级到最新版本（Alembic 迁移）。"""
    s = settings()
    db.upgrade(s)
    out.print(f"数据库结构已升级到 {db.schema_status(s)[1]}（{database_label(s)}）。")


@db_app.command("status")
@refusals_exit
def db_status() -> None:
    """显示数据库结构版本。"""
    s = settings()
    current, head = db.schema_status(s)
    out.print(f"数据库 {database_label(s)}：当前 {current or '未初始化'}，最新 {head}。")
    if current != head:
        raise typer.Exit(1)
