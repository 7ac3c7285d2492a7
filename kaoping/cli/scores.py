"""`kaoping scores import`: score files for one component of a cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kaoping.cli.common import CycleOpt, actor_of, out, ready, refusals_exit
from kaoping.domain.errors import KaopingError
from kaoping.models import Component
from kaoping.records.received import import_file
from kaoping.services.cycles import cycle as cycles
from kaoping.services.scoring import entry as score_entry

scores_app = typer.Typer(help="录入分数 / score entry", no_args_is_help=True)


@scores_app.command("import")
@refusals_exit
def scores_import(
    file: Annotated[Path, typer.Argument(help="CSV 或 XLSX 文件")],
    cycle: CycleOpt,
    component: Annotated[str, typer.Option(help="monitoring（日常监测）| field（实地调研）| opinion（民意调查）| third_party（第三方评估）")],
    source: Annotated[str | None, typer.Option(help="来源名称（同一来源再次导入将替换其之前的分数）")] = None,
) -> None:
    """导入分数。日常监测表头：单位,指标,牵头考核单位,得分,说明；其他：单位,得分,说明。"""
    s = ready()
    try:
        chosen = Component(component)
    except ValueError:
        raise KaopingError(f"未知的考评方式 {component!r}：应为 monitoring、field、opinion 或 third_party。") from None
    actor = actor_of(s)

    def service(session, upload):
        c = cycles.get_cycle(session, cycle)
        return score_entry.import_score_file(session, c, chosen, upload, actor=actor, source=source)

    upload, outcome = import_file(s, file, f"scores.{chosen.value}", service, details={"cycle": cycle})
    summary = outcome.summary
    if not summary.changed:
        out.print(f"{upload.name}：{outcome.rows} 行分数与已录入的完全相同，未作改动。")
    else:
        out.print(
            f"已录入{chosen.label}分数（{upload.name}）：新增 {summary.created} 项，替换 {summary.replaced} 项，"
            f"未变 {summary.unchanged} 项。被替换的旧分数保留在历史记录中。"
        )
    if outcome.missing:
        out.print(f"注意：以下 {len(outcome.missing)} 个考评对象不在此文件中：{'、'.join(outcome.missing)}")
