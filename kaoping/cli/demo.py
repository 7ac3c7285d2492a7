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
