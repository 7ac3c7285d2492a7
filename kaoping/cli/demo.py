"""`kaoping demo`: a whole half-year cycle through Prefect on a fresh SQLite database;
`kaoping demo --ui`: the same with the Prefect UI left running and the sign-offs left to a person."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kaoping.cli.common import out, refusals_exit


@refusals_exit
def demo(
    output: Annotated[Path | None, typer.Option(
        "--out", help="演示输出目录（每次重建；默认 demo-output，--ui 时为 var/demo-ui）")] = None,
    ui: Annotated[bool, typer.Option(
        "--ui", help="在 http://127.0.0.1:4200 启动 Prefect 界面，两次签字由您在浏览器中完成；Ctrl-C 结束")] = False,
    port: Annotated[int, typer.Option("--port", help="--ui 时 Prefect 界面的端口")] = 4200,
) -> None:
    """演示：全新的 SQLite 数据库和本地邮件服务上跑一个完整的半年考评（模拟各单位），输出报告和邮件。"""
    # Imported here, not at the top: the demo brings in Prefect's server and client (seconds of
    # imports) that no other command needs.
    if ui:
        from kaoping.demo import ui as demo_ui

        demo_ui.run(output or Path("var/demo-ui"), out, port=port)
        return
    from kaoping.demo import run as demo_run

    demo_run.run(output or Path("demo-output"), out)


@refusals_exit
def serve(
    home: Annotated[Path, typer.Option("--home", help="Prefect 服务器、worker 日志、kaoping 文件和邮件的目录")] = Path("var/serve"),
    port: Annotated[int, typer.Option("--port", help="Prefect 服务器和界面的端口（127.0.0.1）")] = 4200,
    workers: Annotated[int, typer.Option("--workers", help="进程 worker 的数量")] = 2,
    database_url: Annotated[str, typer.Option("--database-url", help="kaoping 的 PostgreSQL 数据库（不存在则创建）")] =
        "postgresql+psycopg://postgres@127.0.0.1:5432/kaoping_serve",
    prefect_database_url: Annotated[str, typer.Option("--prefect-database-url", help="Prefect 服务器的 PostgreSQL 数据库（不存在则创建）")] =
        "postgresql+psycopg://postgres@127.0.0.1:5432/prefect_serve",
    ready_file: Annotated[Path | None, typer.Option("--ready-file", help="就绪后写入地址和凭据（JSON，供自动化测试读取）")] = None,
) -> None:
    """在本机按生产拓扑运行：PostgreSQL 上的 Prefect 服务器（需登录）、两个进程 worker、PostgreSQL 上的 kaoping；Ctrl-C 结束。"""
    from kaoping.demo.serve import serve as run_serve
    from kaoping.settings import check_database_url

    for url in (database_url, prefect_database_url):
        check_database_url(url)
    run_serve(out, home=home, port=port, workers=workers, database_url=database_url,
              prefect_database_url=prefect_database_url, ready_file=ready_file)
