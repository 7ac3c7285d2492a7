"""The terminal: tables and lines the CLI and the demo print (rich)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from kaoping.domain.labels import GROUP_LABELS
from kaoping.domain.text import points_str

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_summary(summary) -> None:
    out.print(f"[bold]{summary.year} 年{summary.title or '考评指标'}[/bold]（第 {summary.version} 版）", markup=True)
    table = Table(show_header=True, header_style="bold")
    table.add_column("大项")
    table.add_column("名称")
    table.add_column("分值", justify="right")
    table.add_column("指标数", justify="right")
    total = 0
    for numeral, name, points, count in summary.areas:
        table.add_row(numeral, name, points_str(points), str(count))
        total += points
    table.add_row("", "合计", points_str(total), str(summary.indicators), style="bold")
    out.print(table)
    out.print(
        f"共 {len(summary.areas)} 个大项、{summary.indicators} 项指标；其中 {summary.open_items} 项未标分值，"
        "由牵头考核单位按办法三(四)自行明确（未明确前按所在分组/大项平均分配）。"
    )
    leads = Table(show_header=True, header_style="bold", title="各牵头考核单位牵头的指标数")
    leads.add_column("牵头考核单位")
    leads.add_column("指标数", justify="right")
    for name, count in summary.leads:
        leads.add_row(name, str(count))
    out.print(leads)


def print_result_table(rows: list[dict], title: str, *, note: str = "") -> None:
    """A ranking table that fits a terminal: scores by component, total, rank, grade.
    Area scores are in the JSON/CSV/XLSX outputs and in `kaoping explain`."""
    half_year = "monitoring" in (rows[0] if rows else {})
    columns = (
        [("排名", "rank"), ("单位", "unit_name"), ("监测", "monitoring"), ("调研", "field"), ("民意", "opinion"),
         ("第三方", "third_party"), ("加减分", "adjustments"), ("总分", "total"), ("承担分值", "base"),
         ("等次", "grade")]
        if half_year else
        [("排名", "rank"), ("单位", "unit_name"), ("上半年", "first_half"), ("下半年", "second_half"), ("年度", "total"),
         ("等次", "grade")]
    )
    if half_year and all(r["adjustments"] == "0.00" for r in rows):
        columns = [c for c in columns if c[1] != "adjustments"]
    notes: list[str] = []
    default_points = False
    for group, label in GROUP_LABELS.items():
        members = [r for r in rows if r["group"] == group]
        if not members:
            continue
        table = Table(show_header=True, header_style="bold", title=f"{title} — {label}", box=box.SIMPLE_HEAD,
                      pad_edge=False)
        for header, key in columns:
            table.add_column(header, justify="left" if key in ("unit_name", "grade") else "right", no_wrap=True)
        for r in members:
            table.add_row(*["" if r[key] is None else str(r[key]) for _, key in columns])
            for flag in r["flags"]:
                if flag.startswith("默认分值"):
                    default_points = True
                else:
                    notes.append(f"{r['unit_name']}：{flag}")
        out.print(table)
    if half_year:
        out.print("监测 = 日常监测 60%，调研 = 实地调研 20%，民意 = 民意调查 10%，第三方 = 第三方评估 10%。")
    for line in notes:  # not ``note``: that is the rounding note printed last
        out.print(f"※ {line}")
    if default_points:
        out.print("※ 部分指标的分值尚未由牵头考核单位明确，按所在分组或大项平均分配计算（各单位明细见 kaoping explain）。")
    if note:
        out.print(f"注：{note}")
