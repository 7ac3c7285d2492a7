"""`kaoping demo`: a whole half-year cycle through Prefect on a fresh SQLite database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kaoping.cli.common import out, refusals_exit


@refusals_exit
def demo(
    output: Annotated[Path, typer.Option("--out", help="演示输出目录（每次重建）")] = Path("demo-output"),
) -> None:
    """演示：全新的 SQLite 数据库和本地邮件服务上跑一个完整的半年考评（模拟各单位），输出报告和邮件。"""
    # Imported here, not at the top: the demo brings in Prefect's server and client (seconds of
    # imports) that no other command needs.
    from kaoping.demo import run as demo_run

    demo_run.run(output, out)
