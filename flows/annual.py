"""The annual flow (年度考评): after the second half is signed off, the annual score of every unit
(mean of the two halves), ranked within groups, as the annual 通报 and 报告, a workbook and a Prefect artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from pydantic import Field

from kaoping import db
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reports.annual import build_annual_reports
from kaoping.services.scoring.results import annual as annual_results
from kaoping.services.scoring.results import annual_rows, rounding_note_of, write_xlsx
from kaoping.settings import get_settings

ACTOR = "flow:annual"


@task(name="计算年度结果", task_run_name="计算年度结果")
def compute_annual_rows(year: int) -> list[dict]:
    settings = get_settings()
    with db.session_scope(settings) as session:
        results, places = annual_results(session, year)
    return annual_rows(results, places)


@task(name="写出年度结果表", task_run_name="写出年度结果表")
def write_annual_workbook(year: int, rows: list[dict], out_dir: str) -> str:
    path = Path(out_dir) / f"{year}年度数字政府建设考评结果.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    with db.session_scope(get_settings()) as session:
        note = rounding_note_of(session, get_cycle(session, f"{year}H2"), annual=True)
    write_xlsx(rows, path, title=f"{year}年度数字政府建设考评结果", note=note)
    return str(path)


@task(name="写出年度通报和报告", task_run_name="写出年度通报和报告")
def write_annual_documents(year: int, out_dir: str, publish: bool) -> list[str]:
    settings = get_settings()
    with db.session_scope(settings) as session:
        built = build_annual_reports(session, settings, year, Path(out_dir), publish=publish, actor=ACTOR)
    return [str(built.tongbao), str(built.baogao), built.number, built.report_number]


@flow(name="年度考评", flow_run_name="{year}年度考评", description="年度考评：年度分值 =（上半年 + 下半年）/ 2，组内排名与等次，写出结果表。")
def annual(
    year: int = Field(..., description="年度，例如 2022（上、下半年考评都须已完成计算）"),
    publish: bool = Field(False, description="印发：年度通报和报告从发文登记取发文字号（否则为征求意见稿）"),
) -> str:
    """The annual results, written under ``KAOPING_VAR_DIR/reports`` (a folder of the settings: a run's
    parameters never name a path on the worker)."""
    settings = get_settings()
    rows = compute_annual_rows(year)
    folder = str(settings.var_dir / "reports")
    path = write_annual_workbook(year, rows, folder)
    tongbao, baogao, number, report_number = write_annual_documents(year, folder, publish)
    create_table_artifact(
        key=f"kaoping-annual-{year}",
        table=[{"排名": r["rank"], "单位": r["unit_name"], "分组": "旗县区" if r["group"] == "district" else "市直部门",
                "上半年": r["first_half"], "下半年": r["second_half"], "年度": r["total"], "等次": r["grade"],
                "说明": "；".join(r["flags"])} for r in rows],
        description=f"{year}年度考评结果（组内排名与等次）",
    )
    numbers = f"（通报 {number}，报告 {report_number}）" if number else "（征求意见稿，未编号）"
    # File names only: where the server keeps them is the administrator's business (README, “文件”).
    create_markdown_artifact(key=f"kaoping-annual-{year}-file", description=f"{year}年度考评文件",
                             markdown=f"# {year}年度考评文件 {numbers}\n\n- 年度结果表：{Path(path).name}\n"
                                      f"- 年度通报：{Path(tongbao).name}\n- 年度报告：{Path(baogao).name}\n\n"
                                      "文件由系统管理员从服务器的报告文件夹取出（与半年考评的报告在同一处）。")
    return path
