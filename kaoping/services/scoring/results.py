"""Results of a cycle: gather the stored inputs, compute (kaoping.domain.scoring), and present —
as a table, JSON, CSV, XLSX, or the full explanation of one unit's total."""

from __future__ import annotations

import csv
import gc
import io
import json
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import tzinfo
from pathlib import Path

from sqlmodel import Session, select

from kaoping.adapters.files import write_atomically, write_bytes_atomically
from kaoping.domain.clock import local_time
from kaoping.domain.errors import InvalidInput, NotFound
from kaoping.domain.labels import GROUP_LABELS
from kaoping.domain.numbers import rounding_note
from kaoping.domain.annual import AnnualResult, compute_annual
from kaoping.domain.scoring import (
    AdjustmentLine,
    AreaSpec,
    ComponentValue,
    ItemSpec,
    LeadScoreValue,
    ScoringError,
    ScoringInputs,
    UnitResult,
    UnitSpec,
    VerificationValue,
    check,
    compute,
    fmt,
    fmt_exact,
    ranges,
    round_half_up,
)
from kaoping.models import (
    Adjustment,
    Area,
    Component,
    ComponentScore,
    Cycle,
    CycleResponsibility,
    CycleUnit,
    Indicator,
    IndicatorLead,
    ItemVerification,
    LeadScore,
    Unit,
)
from kaoping.services.cycles.cycle import cycle_label, get_cycle, policy_of
from kaoping.services.cycles.points import allocation_problems, points_in_force


def gather_inputs(session: Session, cycle: Cycle, *, detailed: bool = False) -> ScoringInputs:
    """Everything the arithmetic needs, read in a handful of queries (bulk, for 600 units).

    ``detailed`` also reads where each lead score came from and when (for explanations)."""
    policy = policy_of(session, cycle)
    areas = {
        a.code: AreaSpec(a.code, a.numeral, a.name, a.points)
        for a in session.exec(select(Area).where(Area.catalog_id == cycle.catalog_id))
    }
    area_of = {a.id: a.code for a in session.exec(select(Area).where(Area.catalog_id == cycle.catalog_id))}
    indicators = {i.id: i for i in session.exec(select(Indicator).where(Indicator.catalog_id == cycle.catalog_id))}
    leads: dict[int, list[int]] = defaultdict(list)
    for indicator_id, unit_id in session.exec(
        select(IndicatorLead.indicator_id, IndicatorLead.unit_id)
        .join(Indicator).where(Indicator.catalog_id == cycle.catalog_id).order_by(IndicatorLead.position)
    ):
        leads[indicator_id].append(unit_id)
    points = points_in_force(session, cycle)
    # An open item alone in its container (a group or area with fixed points) takes all of them: its points
    # are exact, nothing was split, so it is never flagged as resting on an equal share.
    sharing = Counter(p.container for p in points.values() if p.basis == "default")
    items = {
        i.id: ItemSpec(i.id, i.number, area_of[i.area_id], points[i.id].points,
                       "given" if points[i.id].basis == "default" and sharing[points[i.id].container] == 1
                       else points[i.id].basis, tuple(leads[i.id]))
        for i in indicators.values()
    }
    undertaken: dict[int, list[int]] = defaultdict(list)
    # The two big reads go through Core (no ORM row processing): ~50,000 rows each.
    connection = session.connection()
    for unit_id, indicator_id in connection.execute(
        select(CycleResponsibility.unit_id, CycleResponsibility.indicator_id).where(CycleResponsibility.cycle_id == cycle.id)
    ):
        undertaken[unit_id].append(indicator_id)
    cycle_units = session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id).order_by(CycleUnit.position)).all()
    units = [
        UnitSpec(u.unit_id, u.code, u.name, u.short_name, u.group, tuple(undertaken.get(u.unit_id, ())), u.position,
                 u.standing)
        for u in cycle_units
    ]
    lead_scores: dict[tuple[int, int], dict[int, LeadScoreValue]] = defaultdict(dict)
    if detailed:
        query = select(LeadScore.unit_id, LeadScore.indicator_id, LeadScore.lead_unit_id, LeadScore.score,
                       LeadScore.note, LeadScore.source, LeadScore.entered_at, LeadScore.entered_by)
    else:
        query = select(LeadScore.unit_id, LeadScore.indicator_id, LeadScore.lead_unit_id, LeadScore.score, LeadScore.note)
    for s in connection.execute(query.where(LeadScore.cycle_id == cycle.id, LeadScore.current)):
        lead_scores[(s[0], s[1])][s[2]] = LeadScoreValue(*s[3:])
    verifications = {
        (v.unit_id, v.indicator_id): VerificationValue(v.kind, v.value, v.basis, v.by, v.at, v.reason)
        for v in session.exec(select(ItemVerification).where(ItemVerification.cycle_id == cycle.id, ItemVerification.current))
    }
    components: dict[tuple[int, Component], list[ComponentValue]] = defaultdict(list)
    for unit_id, component, source, score, note, file_name in session.exec(
        select(ComponentScore.unit_id, ComponentScore.component, ComponentScore.source, ComponentScore.score,
               ComponentScore.note, ComponentScore.file_name)
        .where(ComponentScore.cycle_id == cycle.id, ComponentScore.current).order_by(ComponentScore.source)
    ):
        components[(unit_id, Component(component))].append(ComponentValue(source, score, note, file_name))
    adjustments: dict[int, list[AdjustmentLine]] = defaultdict(list)
    for a in session.exec(select(Adjustment).where(Adjustment.cycle_id == cycle.id, Adjustment.withdrawn_at.is_(None))
                          .order_by(Adjustment.id)):
        adjustments[a.unit_id].append(AdjustmentLine(a.kind, a.points, a.reason, a.by, a.at, a.evidence))
    names = dict(session.exec(select(Unit.id, Unit.short_name)).all())
    names.update({u.unit_id: u.short_name for u in cycle_units})
    return ScoringInputs(policy, areas, items, units, dict(lead_scores), verifications, dict(components),
                         dict(adjustments), names)


def problems_of(session: Session, cycle: Cycle, *, ignore: frozenset[str] = frozenset()) -> list[str]:
    """Every reason the results cannot be computed yet, except problems of the kinds in ``ignore``."""
    inputs = gather_inputs(session, cycle)
    problems = allocation_problems(session, cycle, inputs.unit_names)
    return problems + [p.message for p in check(inputs) if p.kind not in ignore]


@contextmanager
def no_gc_pauses():
    """Bulk work allocates ~10^5 small objects that all stay alive: the cyclic collector
    would rescan them again and again (a third of the time at province scale)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compute_cycle(session: Session, cycle: Cycle, *, detailed: bool = False) -> tuple[ScoringInputs, list[UnitResult]]:
    """Results of a cycle. An allocation of points not yet in force (a co-lead still to give
    theirs) leaves its items on the default split, flagged, as rule 三(四) says."""
    with no_gc_pauses():
        inputs = gather_inputs(session, cycle, detailed=detailed)
    try:
        with no_gc_pauses():
            return inputs, compute(inputs)
    except ScoringError as exc:
        raise InvalidInput(
            f"{cycle.code} 还不能计算结果，有 {len(exc.problems)} 个问题（`kaoping check --cycle {cycle.code}` 可随时查看）：",
            [p.message for p in exc.problems],
        ) from None


def provisional_results(session: Session, cycle: Cycle) -> tuple[ScoringInputs, list[UnitResult], dict[int, list[int]]]:
    """The ranking as it would be if the lead assessors' self-scored items were confirmed as
    reported (暂定), and which items those are per unit — for the verifier to see what they
    sign. Any other problem still refuses, as ``compute_cycle`` does."""
    from kaoping.domain.scoring import provisional_inputs

    with no_gc_pauses():
        inputs, pending = provisional_inputs(gather_inputs(session, cycle))
    try:
        with no_gc_pauses():
            results = compute(inputs)
    except ScoringError as exc:
        raise InvalidInput(f"{cycle.code} 还不能计算暂定结果，有 {len(exc.problems)} 个问题：",
                           [p.message for p in exc.problems]) from None
    for r in results:
        if r.unit.unit_id in pending:
            r.flags.insert(0, f"待核实：指标 {ranges(sorted(pending[r.unit.unit_id]))} 为本单位牵头自评，按报送分数暂计")
    return inputs, results, pending


# --------------------------------------------------------------------------- presentation


#: what the rank and grade columns say for a unit listed, not ranked (issue 27)
LISTED = "列示"
NO_GRADE = "—"


def result_rows(inputs: ScoringInputs, results: list[UnitResult]) -> list[dict]:
    """The published JSON: numbers as strings with exactly 2 decimals."""
    places = inputs.policy.rounding.places
    order = {"district": 0, "department": 1}
    rows = []
    for r in sorted(results, key=lambda r: (order.get(r.unit.group, 9), not r.ranked, r.rank, r.unit.position)):
        comp = r.components
        rows.append({
            "unit_code": r.unit.code,
            "unit_name": r.unit.short_name,
            "group": r.unit.group,
            "areas": {code: fmt(a.score, places) for code, a in r.areas.items()},
            "monitoring": fmt(comp[Component.monitoring].value, places) or None,
            "field": fmt(comp[Component.field].value, places) or None,
            "opinion": fmt(comp[Component.opinion].value, places) or None,
            "third_party": fmt(comp[Component.third_party].value, places) or None,
            "adjustments": fmt(r.adjustments, places),
            "total": fmt(r.total, places),
            # 承担指标分值 and how much of it the unit scored itself (its own lead): printed beside the score.
            "base": fmt(r.base, places),
            "own_points": fmt(r.own_points, places),
            "rank": r.rank if r.ranked else LISTED,
            "grade": r.grade if r.ranked else NO_GRADE,
            "flags": r.flags,
        })
    return rows


def annual_rows(results: list[AnnualResult], places: int) -> list[dict]:
    order = {"district": 0, "department": 1}
    return [
        {
            "unit_code": r.unit.code, "unit_name": r.unit.short_name, "group": r.unit.group,
            "first_half": fmt(r.first, places) or None, "second_half": fmt(r.second, places) or None,
            "total": fmt(r.total, places), "rank": r.rank, "grade": r.grade, "flags": r.flags,
        }
        for r in sorted(results, key=lambda r: (order.get(r.unit.group, 9), r.rank, r.unit.position))
    ]


COLUMN_LABELS = {
    "unit_code": "代码", "unit_name": "单位", "group": "分组", "monitoring": "日常监测", "field": "实地调研",
    "opinion": "民意调查", "third_party": "第三方评估", "adjustments": "加减分", "total": "总分", "rank": "排名",
    "base": "承担指标分值", "own_points": "其中本单位自评分值",
    "grade": "等次", "flags": "说明", "first_half": "上半年", "second_half": "下半年",
}


def flat_rows(rows: list[dict], area_codes: list[str] | None = None) -> tuple[list[str], list[list]]:
    """Rows for CSV/XLSX/table: areas spread into columns 一…七."""
    from kaoping.domain.text import chinese_numeral

    area_codes = area_codes or sorted({c for r in rows for c in r.get("areas", {})}, key=int)
    keys = [k for k in rows[0] if k not in ("areas",)] if rows else []
    header = []
    for k in keys:
        if k == "monitoring" and area_codes:
            header += [f"{chinese_numeral(int(c))}" for c in area_codes]
        header.append(COLUMN_LABELS.get(k, k))
    body = []
    for r in rows:
        line = []
        for k in keys:
            if k == "monitoring" and area_codes:
                line += [r["areas"].get(c, "") for c in area_codes]
            value = r[k]
            if k == "group":
                value = GROUP_LABELS.get(value, value)
            elif k == "flags":
                value = "；".join(value)
            line.append("" if value is None else value)
        body.append(line)
    return header, body


def render(rows: list[dict], fmt_name: str, output: Path | None, *, title: str, note: str = "") -> str | None:
    """Write rows in the requested format; returns text for the screen when no file is given.
    ``note`` (how the figures were rounded) goes under each sheet of a workbook; CSV and JSON
    stay plain data."""
    if fmt_name == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    elif fmt_name == "csv":
        header, body = flat_rows(rows)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(body)
        text = "\ufeff" + buffer.getvalue()  # BOM: Excel opens UTF-8 CSV correctly
    elif fmt_name == "xlsx":
        if output is None:
            raise InvalidInput("xlsx 格式需要用 --out 指定输出文件，例如 --out 结果.xlsx。")
        write_xlsx(rows, output, title=title, note=note)
        return None
    elif fmt_name == "table":
        return None
    else:
        raise InvalidInput(f"不支持的格式 {fmt_name!r}：请用 table、json、csv 或 xlsx。")
    if output is not None:
        write_bytes_atomically(output, text.encode("utf-8"))
        return None
    return text


def write_xlsx(rows: list[dict], path: Path, *, title: str, note: str = "") -> None:
    """One sheet per ranking group, numbers as exact decimals formatted 0.00; ``note`` in a
    row of its own below the table."""
    from decimal import Decimal

    import openpyxl
    from openpyxl.styles import Alignment, Font

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for group, label in GROUP_LABELS.items():
        members = [r for r in rows if r["group"] == group]
        if not members:
            continue
        sheet = workbook.create_sheet(label[:31])
        header, body = flat_rows(members)
        sheet.append([f"{title}（{label}）"])
        sheet.append(header)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center")
        for line in body:
            out = []
            for value in line:
                if isinstance(value, str) and value.replace(".", "", 1).replace("-", "", 1).isdigit() and "." in value:
                    out.append(Decimal(value))
                else:
                    out.append(value)
            sheet.append(out)
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                if isinstance(cell.value, (Decimal, float)):
                    cell.number_format = "0.00"
        if note:
            sheet.append([])
            sheet.append([f"注：{note}"])
        sheet.column_dimensions["B"].width = 22
    write_atomically(path, workbook.save)  # whole or not at all (a full disk)


# --------------------------------------------------------------------------- explain


def explain(session: Session, cycle: Cycle, unit_written: str, *, tz: tzinfo) -> list[str]:
    """The full trail of one unit's total, down to each item, lead score and adjustment."""
    from kaoping.domain.text import chinese_numeral
    from kaoping.services.reference.registry import UnitDirectory

    inputs, results = compute_cycle(session, cycle, detailed=True)
    directory = UnitDirectory.load(session)
    unit = directory.find(unit_written)
    if unit is None:
        raise NotFound(directory.unknown_message(unit_written))
    result = next((r for r in results if r.unit.unit_id == unit.id), None)
    if result is None:
        raise NotFound(f"{unit.short_name} 不是 {cycle.code} 的考评对象。")
    policy = inputs.policy
    places = policy.rounding.places
    names = inputs.unit_names
    lines = [
        f"{cycle_label(cycle)}考评 · {result.unit.short_name}（{result.unit.name}，代码 {result.unit.code}）",
        (f"总分 {fmt(result.total, places)} 分，{GROUP_LABELS.get(result.unit.group, result.unit.group)}第 {result.rank} 名，等次：{result.grade}"
         if result.ranked else f"总分 {fmt(result.total, places)} 分，{result.listed}"),
        f"承担指标分值 {fmt(result.base, places)} 分，其中本单位自评 {fmt(result.own_points, places)} 分",
        f"计分规则：{policy.name or ''} 版本 {policy.version}；公布的分数四舍五入保留 {places} 位小数，"
        + ("逐级计算：日常监测由公布的各大项得分算出，总分由公布的各部分得分加权、再加减分算出，每一级都可用公布的数字复算。"
           if policy.rounding.basis == "published" else
           "各级均按精确值计算、公布时才四舍五入，因此公布的各部分之和与公布的总分可能相差 0.01（尾差）。"),
        "",
        "一、总分",
    ]
    published = policy.rounding.basis == "published"
    parts = []
    for c, w in result.weights_used.items():
        value = result.components[c].value
        shown = fmt(value, places) if published else fmt_exact(value, 4)
        parts.append(f"{fmt_exact(w * 100, 4)}% × {c.label} {shown}")
    lines.append(f"  半年分值 = {' + '.join(parts)} = {fmt_exact(result.half_year, 4)}")
    if result.bonus or result.deduction or result.adjustment_lines:
        lines.append(f"  加分 {result.bonus}，扣分 {result.deduction}（上限：加分 {policy.adjustments.bonus_cap}，扣分 {policy.adjustments.deduction_cap}）")
        for line in result.adjustment_lines:
            amount = f" {line.points} 分" if line.points is not None else ""
            evidence = f"；佐证：{line.evidence}" if line.evidence else ""
            when = local_time(line.at, tz) if line.at else ""
            lines.append(f"    · {dict(bonus='加分', deduction='扣分', veto='一票否决')[line.kind]}{amount}：{line.reason}{evidence}（{line.by}，{when}）")
    lines.append(f"  总分 = {fmt_exact(result.total, 4)} → 公布 {fmt(result.total, places)}")
    for flag in result.flags:
        lines.append(f"  ※ {flag}")
    lines += ["", "二、各部分"]
    for c in (Component.field, Component.opinion, Component.third_party):
        comp = result.components[c]
        if comp.value is None:
            lines.append(f"  {c.label}：无")
            continue
        sources = "；".join(f"{s.source} {s.score}" + (f"（{s.note}）" if s.note else "") + (f"，来自 {s.file_name}" if s.file_name else "")
                           for s in comp.sources)
        lines.append(f"  {c.label} {fmt_exact(comp.value, 4)}：{sources}")
    monitoring = result.components[Component.monitoring]
    total_weight = sum(a.weight for a in result.areas.values())
    if published:
        area_sum = sum(round_half_up(a.score, places) for a in result.areas.values())
        lines.append(
            f"  日常监测 = 100 × Σ公布的大项得分 / Σ大项分值 = 100 × {area_sum} / {total_weight}"
            f" = {fmt_exact(monitoring.value, 4)} → 公布 {fmt(monitoring.value, places)}"
            f"（按精确值为 {fmt_exact(monitoring.exact, 4)}）"
        )
    else:
        lines.append(
            f"  日常监测 = 100 × Σ大项得分 / Σ大项分值 = 100 × {fmt_exact(sum(a.score for a in result.areas.values()), 4)} / {total_weight}"
            f" = {fmt_exact(monitoring.value, 4)} → 公布 {fmt(monitoring.value, places)}"
        )
    lines += ["", "三、各大项（只计本单位承担的指标）"]
    items_by_area = defaultdict(list)
    for item in result.items:
        items_by_area[item.area_code].append(item)
    for code, area in result.areas.items():
        spec = inputs.areas[code]
        lines.append(
            f"  {chinese_numeral(int(code))}、{spec.name}：{area.weight} × {fmt_exact(area.sum_scores, 4)} / {fmt_exact(area.sum_points, 4)}"
            f" = {fmt_exact(area.score, 4)}（公布 {fmt(area.score, places)}）"
        )
        for item in items_by_area[code]:
            basis = {"given": "", "allocated": "，牵头单位明确", "default": "，默认平均分配"}[item.points_basis]
            scores = "；".join(
                f"{names.get(lead, lead)} {v.score}" + (f"（{v.note}）" if v.note else "") + (f" ← {v.source}" if v.source else "")
                for lead, v in item.lead_scores.items()
            )
            mean = "（取平均）" if len(item.lead_scores) > 1 else ""
            shown = fmt_exact(item.value, 4) if item.exact == item.value else f"{fmt_exact(item.exact, 4)} → {fmt(item.value, places)}"
            text = f"    {item.number:>3} 号（{fmt_exact(item.points, 4)} 分{basis}）得 {shown}{mean}：{scores or '—'}"
            v = item.verification
            if v is not None:
                verb = "核实调整为 " + str(v.value) if v.kind == "adjust" else "核实无误"
                text += f"；专班{verb}（{v.by}，{local_time(v.at, tz) if v.at else ''}{'，' + v.reason if v.reason else ''}）"
            if item.self_scored:
                text += "［自评项］"
            lines.append(text)
    return lines


def annual(session: Session, year: int) -> tuple[list[AnnualResult], int]:
    """The year's results and the places published."""
    first = get_cycle(session, f"{year}H1")
    second = get_cycle(session, f"{year}H2")
    _, r1 = compute_cycle(session, first)
    inputs2, r2 = compute_cycle(session, second)
    policy = inputs2.policy
    return compute_annual(r1, r2, policy), policy.rounding.places


def rounding_note_of(session: Session, cycle: Cycle, *, annual: bool = False) -> str:
    """The note under a results table: how its figures were rounded (the cycle's policy)."""
    return rounding_note(gather_inputs(session, cycle).policy.rounding.basis, annual=annual)
