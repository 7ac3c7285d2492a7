"""The annual 通报 and 报告 (年度分值 = 上下半年平均): ranks and, when the policy names the issued 细则, grades,
with the two halves side by side."""

from __future__ import annotations

from collections import Counter
from datetime import date
from fractions import Fraction
from functools import partial
from pathlib import Path

from sqlmodel import Session

from kaoping.adapters.word import layout, writer
from kaoping.adapters.word.colophon import colophon
from kaoping.domain.clock import chinese_date, local_date
from kaoping.domain.scoring import fmt, round_half_up
from kaoping.models.types import utcnow
from kaoping.records import audit
from kaoping.services.cycles.cycle import get_cycle
from kaoping.services.reports import doc_numbers
from kaoping.services.reports.documents import (
    ReportSet,
    _attachment,
    _official,
    _publishable,
    copy_list,
)
from kaoping.services.reports.placeholders import filled, refuse_placeholders
from kaoping.services.scoring.results import GROUP_LABELS, compute_cycle, rounding_note_of, write_xlsx
from kaoping.settings import Settings



def _annual_table(document, rows: list[dict], group: str, *, grades: bool = True) -> None:
    header = ["排名", "单位", "上半年", "下半年", "年度得分", "等次"]
    body = [[str(r["rank"]), r["unit_name"], r["first_half"] or "—", r["second_half"] or "—", r["total"], r["grade"]]
            for r in rows if r["group"] == group]
    if not grades:
        header, body = header[:-1], [line[:-1] for line in body]
    layout.table(document, header, body, widths_mm=layout.fitted_widths(header, body, wrap=(1,)))


def build_annual_reports(session: Session, settings: Settings, year: int, out_dir: Path, *, publish: bool = False,
                         number: int | None = None, report_number: int | None = None, signed: date | None = None,
                         actor: str, final_dir: Path | None = None) -> ReportSet:
    """The annual 通报 and 报告 (年度分值 = 上下半年平均, ranks and grades, the two halves side by side)
    and the 实绩考核 workbook. Numbers as in :func:`build_reports` (documents ``tongbao:<year>``…)."""
    from kaoping.services.scoring.results import annual, annual_rows

    results, places = annual(session, year)
    rows = annual_rows(results, places)
    first = get_cycle(session, f"{year}H1")
    inputs, _ = compute_cycle(session, first)
    grade_order = [g.name for g in inputs.policy.grades]
    signed = signed or local_date(utcnow(), settings.tz)
    counts = Counter(r.grade for r in results)
    groups = {}
    for key, label in GROUP_LABELS.items():
        members = sorted((r for r in results if r.unit.group == key), key=lambda r: (r.rank, r.unit.position))
        groups[key] = {
            "label": label, "count": len(members),
            "average": fmt(sum((Fraction(r.published_total) for r in members), Fraction(0)) / len(members), places)
            if members else "",
            "top": [r.unit.short_name for r in members[:3]],
            "by_grade": [(g, names) for g in grade_order
                         if (names := [r.unit.short_name for r in members if r.grade == g])],
        }
    halves = [r for r in results if r.first is not None and r.second is not None]
    improved = sorted((r for r in halves if r.second > r.first), key=lambda r: r.first - r.second)[:5]
    facts = {
        "year": year, "units_total": len(results), "office": settings.office_name,
        "average": fmt(sum((Fraction(r.published_total) for r in results), Fraction(0)) / len(results), places) if results else "",
        "first_average": fmt(sum((Fraction(round_half_up(r.first, places)) for r in halves), Fraction(0)) / len(halves), places)
        if halves else "",
        "second_average": fmt(sum((Fraction(round_half_up(r.second, places)) for r in halves), Fraction(0)) / len(halves), places)
        if halves else "",
        "grade_counts": [(g, counts[g]) for g in grade_order if counts[g]], "groups": groups,
        "improved": [f"{r.unit.short_name}（+{fmt(r.second - r.first, places)}分）" for r in improved],
        "flagged": [f"{r.unit.short_name}：{'；'.join(r.flags)}" for r in results if r.flags],
        "vetoes": [r.unit.short_name for r in results if r.veto], "lowest_grade": inputs.policy.lowest_grade,
        "tongbao_to": "，".join(settings.tongbao_to), "report_to": "、".join(settings.report_to),
        "grades": bool(inputs.policy.rules.adopted_by.strip()),
        "grades_note": "" if inputs.policy.rules.adopted_by.strip() else
        f"《{inputs.policy.rules.name.strip('《》')}》尚未以文件印发，本次只公布得分和排名，不确定等次。",
    }
    if publish:
        _publishable(first)
        _publishable(get_cycle(session, f"{year}H2"))
        refuse_placeholders(settings, f"印发{year}年度通报和报告")
        tongbao_no = doc_numbers.take(session, prefix=settings.doc_number_prefix, year=signed.year,
                                      document=f"tongbao:{year}", title=f"关于{year}年度数字政府建设考评结果的通报",
                                      cycle_code=f"{year}", serial=number, actor=actor).text
        baogao_no = doc_numbers.take(session, prefix=settings.doc_number_prefix, year=signed.year,
                                     document=f"baogao:{year}", title=f"关于{year}年度数字政府建设考评情况的报告",
                                     cycle_code=f"{year}", serial=report_number, actor=actor).text
    else:
        tongbao_no = baogao_no = ""
    out_dir.mkdir(parents=True, exist_ok=True)
    tongbao, meta = _official(settings, tongbao_no, facts, "annual_tongbao.txt.j2", {}, signed)
    annual_table = partial(_annual_table, grades=facts["grades"])
    _attachment(tongbao, meta["attachment"], rows, table=annual_table)
    colophon(tongbao, copy_list(settings, settings.tongbao_copy, settings.tongbao_to), settings.issuer_name,
             chinese_date(signed))
    tongbao_path = out_dir / f"{year}年度数字政府建设考评结果通报.docx"
    writer.save(tongbao, tongbao_path)
    baogao, meta = _official(settings, baogao_no, facts, "annual_baogao.txt.j2", {}, signed, signer=filled(settings, "report_signer"))
    _attachment(baogao, meta["attachment"], rows, table=annual_table)
    colophon(baogao, copy_list(settings, settings.report_copy, settings.report_to), settings.issuer_name,
             chinese_date(signed))
    baogao_path = out_dir / f"{year}年度数字政府建设考评情况报告.docx"
    writer.save(baogao, baogao_path)
    workbook = out_dir / f"{year}年度数字政府建设考评结果（实绩考核）.xlsx"
    write_xlsx(rows, workbook, title=f"{year}年度数字政府建设考评结果",
               note=rounding_note_of(session, get_cycle(session, f"{year}H2"), annual=True))
    audit.append(session, actor=actor, action="reports.annual.publish" if publish else "reports.annual.build",
                 entity=f"year:{year}", after={"number": tongbao_no, "report_number": baogao_no,
                                               "out": str(final_dir or out_dir)},
                 reason=f"{'印发' if publish else '生成'}{year}年度考评通报、报告和实绩考核结果表")
    return ReportSet(tongbao_path, baogao_path, [], workbook, tongbao_no, baogao_no, {}, publish)
