"""Reports in 公文 format (GB/T 9704-2012): the 通报 to every unit, the 报告 to 市委、市政府、
市纪委监委, a 反馈函 per unit, and the results workbook for the 实绩考核 system.

The words come from Jinja2 templates in ``templates/reports/`` (the office edits wording
without touching code); this module supplies the figures and lays the text out.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session, func, select

from kaoping.adapters.word import layout
from kaoping.domain.clock import chinese_date, local_date
from kaoping.domain.scoring import fmt, points_text
from kaoping.domain.text import chinese_numeral
from kaoping.models import AuditEntry, Cycle
from kaoping.models.types import utcnow
from kaoping.services import audit
from kaoping.services.cycles import cycle_label
from kaoping.services.disclosures import disclosures
from kaoping.services.results import (
    GROUP_LABELS,
    compute_cycle,
    result_rows,
    write_xlsx,
)
from kaoping.settings import PROJECT_ROOT, Settings

TEMPLATES = PROJECT_ROOT / "templates" / "reports"


def environment() -> Environment:
    # Each non-empty line is a paragraph, so block tags keep their newlines (no trim_blocks)
    # and the empty lines they leave are skipped when laying out.
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, lstrip_blocks=True)


@dataclass
class ReportSet:
    tongbao: Path
    baogao: Path
    letters: list[Path]
    workbook: Path
    number: str


# --------------------------------------------------------------------------- figures


def _facts(inputs, results, settings: Settings, cycle: Cycle) -> dict:
    places = inputs.policy.rounding.places
    rows = result_rows(inputs, results)
    grade_order = [g.name for g in inputs.policy.grades]
    groups = {}
    for key, label in GROUP_LABELS.items():
        members = sorted((r for r in results if r.unit.group == key), key=lambda r: (r.rank, r.unit.position))
        totals = [r.total for r in members]
        by_grade = [(g, [r.unit.short_name for r in members if r.grade == g]) for g in grade_order]
        groups[key] = {
            "label": label, "count": len(members),
            "average": fmt(sum(totals, Fraction(0)) / len(totals), places) if totals else "",
            "top": [r.unit.short_name for r in members[:3]],
            "bottom": [r.unit.short_name for r in members[-3:]][::-1],
            "by_grade": [(g, names) for g, names in by_grade if names],
        }
    all_totals = [r.total for r in results]
    counts = Counter(r.grade for r in results)
    # Weakest areas and items: average score rate over the units that undertake them.
    area_rates: dict[str, list[Fraction]] = defaultdict(list)
    item_rates: dict[int, list[Fraction]] = defaultdict(list)
    for r in results:
        for code, a in r.areas.items():
            area_rates[code].append(a.score / Fraction(a.weight))
        for item in r.items:
            if item.points:
                item_rates[item.number].append(item.value / item.points)
    weak_areas = sorted(area_rates, key=lambda c: sum(area_rates[c]) / len(area_rates[c]))[:2]
    area_of_item = {i.number: i.area_code for i in inputs.items.values()}
    weak_items = sorted(item_rates, key=lambda n: (sum(item_rates[n]) / len(item_rates[n]), n))[:5]
    lagging = [r.unit.short_name for r in results if r.grade == inputs.policy.lowest_grade and not r.veto]
    if not lagging:
        lagging = [m["bottom"][0] for m in groups.values() if m["count"]]
    return {
        "period": cycle_label(cycle), "office": settings.office_name, "units_total": len(results),
        "indicators": len(inputs.items), "average": fmt(sum(all_totals, Fraction(0)) / len(all_totals), places),
        "grade_counts": [(g, counts[g]) for g in grade_order if counts[g]], "groups": groups,
        "weak_areas": [{"name": inputs.areas[c].name,
                        "rate": fmt(100 * sum(area_rates[c]) / len(area_rates[c]), 1)} for c in weak_areas],
        "weak_items": [{"number": n, "area": f"{chinese_numeral(int(area_of_item[n]))}、{inputs.areas[area_of_item[n]].name}",
                        "rate": fmt(100 * sum(item_rates[n]) / len(item_rates[n]), 1), "units": len(item_rates[n])}
                       for n in weak_items],
        "lagging": lagging, "vetoes": [r.unit.short_name for r in results if r.veto],
        "lowest_grade": inputs.policy.lowest_grade, "rows": rows,
    }


# --------------------------------------------------------------------------- layout of template text


def _render_text(document, text: str, blocks: dict) -> dict:
    """Lay template lines out; returns the @-directives (title, to, attachment, copy)."""
    meta: dict[str, str] = {}
    lines = [line.strip() for line in text.splitlines()]
    for line in lines:
        if line.startswith("@title "):
            layout.title(document, line.removeprefix("@title "))
            meta["title"] = line.removeprefix("@title ")
        elif line.startswith("@to "):
            layout.addressee(document, line.removeprefix("@to "))
        elif line.startswith("@attachment ") or line.startswith("@copy "):
            key, _, value = line.partition(" ")
            meta[key[1:]] = value
        elif line.startswith("### "):
            layout.heading(document, line[4:], 3)
        elif line.startswith("## "):
            layout.heading(document, line[3:], 2)
        elif line.startswith("# "):
            layout.heading(document, line[2:], 1)
        elif line.startswith("[[") and line.endswith("]]"):
            blocks[line[2:-2]](document)
        elif line:
            layout.body(document, line)
    return meta


def _chart(results, places: int) -> bytes:
    """Bar chart of totals per group (matplotlib; Chinese labels in Noto Sans CJK SC)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=str(cjk_font()))
    groups = [(label, sorted((r for r in results if r.unit.group == key), key=lambda r: (r.rank, r.unit.position)))
              for key, label in GROUP_LABELS.items()]
    groups = [(label, members) for label, members in groups if members]
    heights = [max(2.2, 0.22 * len(members) + 1) for _, members in groups]
    fig, axes = plt.subplots(len(groups), 1, figsize=(6.2, sum(heights)), gridspec_kw={"height_ratios": heights})
    if len(groups) == 1:
        axes = [axes]
    for ax, (label, members) in zip(axes, groups, strict=True):
        names = [r.unit.short_name for r in members][::-1]
        values = [float(round(r.total, places)) for r in members][::-1]
        bars = ax.barh(names, values, color="#C0392B" if label.startswith("旗县区") else "#2E5C8A", height=0.6)
        ax.set_xlim(0, 105)
        ax.set_title(f"{label}考评得分", fontproperties=font, fontsize=11)
        for tick in ax.get_yticklabels():
            tick.set_fontproperties(font)
            tick.set_fontsize(8 if len(members) > 15 else 9)
        for bar, value in zip(bars, values, strict=True):
            ax.text(value + 0.5, bar.get_y() + bar.get_height() / 2, f"{value:.2f}", va="center", fontsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    plt.close(fig)
    return buffer.getvalue()


def cjk_font() -> Path:
    """A font with the Chinese glyphs the chart needs (shipped with the mplfonts package)."""
    import mplfonts

    return Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"


def _ranking_table(document, rows: list[dict], group: str) -> None:
    members = [r for r in rows if r["group"] == group]
    header = ["排名", "单位", "日常监测", "实地调研", "民意调查", "第三方评估", "加减分", "总分", "等次"]
    body = [[str(r["rank"]), r["unit_name"], r["monitoring"] or "", r["field"] or "", r["opinion"] or "",
             r["third_party"] or "", r["adjustments"], r["total"], r["grade"]] for r in members]
    layout.table(document, header, body, widths_mm=layout.fitted_widths(header, body, wrap=(1,)))  # a long name may wrap


def _attachment(document, title: str, rows: list[dict]) -> None:
    document.add_page_break()
    layout.heading(document, "附件", 1)
    layout.title(document, title)
    for group, label in GROUP_LABELS.items():
        if any(r["group"] == group for r in rows):
            layout.heading(document, label, 2)
            _ranking_table(document, rows, group)


# --------------------------------------------------------------------------- documents


def _official(settings: Settings, number: str, facts: dict, template: str, blocks: dict, signed: date, *,
              with_issuer_mark: bool = True):
    document = layout.official_document()
    if with_issuer_mark:
        layout.issuer_mark(document, f"{settings.issuer_name}文件")
        layout.document_number(document, number)
    text = environment().get_template(template).render(**facts)
    meta = _render_text(document, text, blocks)
    if meta.get("attachment"):
        layout.attachment_note(document, [meta["attachment"]])
    layout.signature_and_date(document, settings.office_name, chinese_date(signed))
    return document, meta


def build_reports(session: Session, settings: Settings, cycle: Cycle, out_dir: Path, *, number: int | None = None,
                  signed: date | None = None, actor: str) -> ReportSet:
    inputs, results = compute_cycle(session, cycle, detailed=True)
    places = inputs.policy.rounding.places
    facts = _facts(inputs, results, settings, cycle)
    disclosed = disclosures(session, cycle, inputs, results)
    facts.update(rules_citation=disclosed.rules_citation, rounding_note=disclosed.rounding_note,
                 default_points=disclosed.default_points, responsibilities=disclosed.responsibilities,
                 verification=disclosed.verification, milestone_summary=disclosed.milestone_summary)
    signed = signed or local_date(utcnow(), settings.tz)
    if number is None:
        issued = session.exec(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "reports.build",
                                                                                  AuditEntry.entity.like(f"%{cycle.year}%"))).one()
        number = issued + 1
    doc_number = f"{settings.doc_number_prefix}〔{cycle.year}〕{number}号"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "反馈函").mkdir(exist_ok=True)
    period = facts["period"]
    rows = facts["rows"]

    chart = _chart(results, places)

    def add_chart(document):
        from docx.shared import Mm

        document.add_picture(io.BytesIO(chart), width=Mm(150))
        document.paragraphs[-1].alignment = 1  # centred

    tongbao, meta = _official(settings, doc_number, facts, "tongbao.txt.j2", {"chart": add_chart}, signed)
    _attachment(tongbao, meta["attachment"], rows)
    layout.colophon(tongbao, meta["copy"].split("，"), settings.issuer_name, chinese_date(signed))
    tongbao_path = out_dir / f"{period}数字政府建设考评结果通报.docx"
    tongbao.save(tongbao_path)

    report_facts = {**facts, **_verification_facts(session, cycle, inputs)}
    baogao, meta = _official(settings, f"{settings.doc_number_prefix}〔{cycle.year}〕{number + 1}号", report_facts,
                             "baogao.txt.j2", {}, signed)
    _attachment(baogao, meta["attachment"], rows)
    layout.colophon(baogao, meta["copy"].split("，"), settings.issuer_name, chinese_date(signed))
    baogao_path = out_dir / f"{period}数字政府建设考评情况报告.docx"
    baogao.save(baogao_path)

    letters = []
    group_counts = Counter(r.unit.group for r in results)
    by_unit = {row["unit_code"]: row for row in rows}
    template = environment().get_template("fankui.txt.j2")
    for r in sorted(results, key=lambda r: r.unit.position):
        letters.append(_letter(settings, template, r, by_unit[r.unit.code], inputs, period, group_counts, signed, out_dir,
                               {"rules_citation": disclosed.rules_citation, "rounding_note": disclosed.rounding_note,
                                "milestones": [m.text for m in disclosed.milestones.get(r.unit.unit_id, [])]}))

    workbook = out_dir / f"{period}数字政府建设考评结果（实绩考核）.xlsx"
    write_xlsx(rows, workbook, title=f"{period}数字政府建设考评结果")
    audit.append(session, actor=actor, action="reports.build", entity=f"cycle:{cycle.code}/{cycle.year}",
                 cycle_code=cycle.code, after={"number": doc_number, "letters": len(letters), "out": str(out_dir)},
                 reason="生成考评通报、报告、反馈函和结果表")
    return ReportSet(tongbao_path, baogao_path, letters, workbook, doc_number)


def _verification_facts(session: Session, cycle: Cycle, inputs) -> dict:
    names = inputs.unit_names
    numbers = {i.indicator_id: i.number for i in inputs.items.values()}
    adjustments = [
        f"{names.get(u, u)}指标{numbers[i]}：专班核实调整为{v.value}分，原因：{v.reason}（{v.by}）。"
        for (u, i), v in sorted(inputs.verifications.items(), key=lambda kv: (names.get(kv[0][0], ""), numbers[kv[0][1]]))
        if v.kind == "adjust"
    ]
    lines, vetoes = [], []
    for unit_id, items in inputs.adjustments.items():
        for line in items:
            if line.kind == "veto":
                vetoes.append(f"{names.get(unit_id, unit_id)}：一票否决，原因：{line.reason}。")
            else:
                label = "加分" if line.kind == "bonus" else "扣分"
                evidence = f"（佐证：{line.evidence}）" if line.evidence else ""
                lines.append(f"{names.get(unit_id, unit_id)}：{label}{line.points}分，原因：{line.reason}{evidence}。")
    return {"adjustments": adjustments, "lines": lines, "vetoes_detail": vetoes}


def _letter(settings, template, result, row, inputs, period, group_counts, signed, out_dir, disclosed: dict) -> Path:
    places = inputs.policy.rounding.places
    improve = []
    for item in sorted(result.items, key=lambda i: (i.value / i.points if i.points else 1, i.number)):
        if item.points and item.value / item.points < Fraction(9, 10):
            notes = "；".join(v.note for v in item.lead_scores.values() if v.note)
            improve.append({"number": item.number, "score": fmt(item.value, places), "points": points_text(item.points),
                            "notes": notes})
    facts = {
        "period": period, "unit": {"name": result.unit.name}, "total": row["total"], "rank": row["rank"], "grade": row["grade"],
        "group_label": GROUP_LABELS[result.unit.group], "group_count": group_counts[result.unit.group],
        "monitoring": row["monitoring"], "field": row["field"], "opinion": row["opinion"], "third_party": row["third_party"],
        "adjustments": row["adjustments"], "flags": row["flags"], "improve": improve[:10], **disclosed,
    }
    document = layout.official_document()

    def areas(doc):
        # Area score = W(a) × Σs / Σp over the items the unit undertakes: the reader sees the
        # points the unit could score in the area (Σp) next to what it scored (Σs), then the weighting.
        header = ["方面", "大项分值", "承担指标分值", "指标得分", "大项得分"]
        body = [[f"{chinese_numeral(int(code))}、{inputs.areas[code].name}", fmt(Decimal(a.weight), places),
                 fmt(a.sum_points, places), fmt(a.sum_scores, places), fmt(a.score, places)]
                for code, a in result.areas.items()]
        layout.table(doc, header, body, widths_mm=layout.fitted_widths(header, body, wrap=(0,)))

    def items(doc):
        body = []
        for item in result.items:
            notes = "；".join(f"{inputs.unit_names.get(lead, lead)}：{v.note}" for lead, v in item.lead_scores.items() if v.note)
            if item.verification is not None and item.verification.kind == "adjust":
                notes = (notes + "；" if notes else "") + f"专班核实调整：{item.verification.reason}"
            body.append([str(item.number), points_text(item.points), fmt(item.value, places), notes])
        header = ["指标", "分值", "得分", "扣分说明"]
        layout.table(doc, header, body, widths_mm=layout.fitted_widths(header, body, wrap=(3,)))

    _render_text(document, template.render(**facts), {"areas": areas, "items": items})
    layout.signature_and_date(document, settings.office_name, chinese_date(signed))
    path = out_dir / "反馈函" / f"{result.unit.code}-{result.unit.short_name}-反馈函.docx"
    document.save(path)
    return path
