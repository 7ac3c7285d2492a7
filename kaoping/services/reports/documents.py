"""Reports in 公文 format (GB/T 9704-2012): the 通报 to every unit, the 报告 to 市委、市政府、
市纪委监委, a 反馈函 per unit, and the results workbook for the 实绩考核 system.

The words come from Jinja2 templates in ``templates/reports/`` (the office edits wording
without touching code); this module supplies the figures and lays the text out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from fractions import Fraction
from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session, select

from kaoping.adapters.fanout import Fanout, serial
from kaoping.adapters.word import layout, writer
from kaoping.adapters.word.colophon import colophon
from kaoping.domain.clock import chinese_date, local_date
from kaoping.domain.errors import Conflict, KaopingError
from kaoping.domain.scoring import fmt, points_text, round_half_up, score_text
from kaoping.domain.text import chinese_numeral, quoted, short_title
from kaoping.models import Cycle, CycleStatus, Indicator
from kaoping.models.types import utcnow
from kaoping.records import audit
from kaoping.services.cycles.cycle import cycle_label, get_cycle
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.services.reports import doc_numbers
from kaoping.services.reports.charts import bar_charts
from kaoping.services.reports.disclosures import disclosures
from kaoping.services.reports.findings import field_findings, verification_facts
from kaoping.services.reports.placeholders import DRAFT_SETTINGS, filled, refuse_placeholders
from kaoping.services.scoring.results import (
    GROUP_LABELS,
    compute_cycle,
    result_rows,
    write_xlsx,
)
from kaoping.settings import Settings
from kaoping.templates import REPORTS as TEMPLATES


def environment() -> Environment:
    # Each non-empty line is a paragraph, so block tags keep their newlines (no trim_blocks)
    # and the empty lines they leave are skipped when laying out.
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, lstrip_blocks=True)
    env.filters["quoted"] = quoted  # 指标9{{ title | quoted }}: “…‘…’…”
    return env


@lru_cache(maxsize=None)
def _template(name: str):
    """A compiled template, once per process (the 反馈函 are rendered in whatever process the fanout chose)."""
    return environment().get_template(name)


@dataclass
class ReportSet:
    tongbao: Path
    baogao: Path | None  # None: built for a signer's review (``review_only``)
    letters: list[Path]
    workbook: Path
    number: str  # the 通报's 发文字号 ("" for a preview)
    report_number: str = ""
    letter_numbers: dict[str, str] | None = None  # unit code → 发文字号 of its 反馈函
    published: bool = False


def copy_list(settings: Settings, copy: list[str], to: list[str]) -> list[str]:
    """抄送 without the issuer (under any of its names) and without anyone already in 主送."""
    own = {settings.issuer_name, *settings.issuer_aliases}
    seen: list[str] = []
    for name in copy:
        if name and name not in own and name not in to and name not in seen:
            seen.append(name)
    return seen






def indicator_titles(session: Session, inputs) -> dict[int, str]:
    ids = [i.indicator_id for i in inputs.items.values()]
    texts = dict(session.exec(select(Indicator.id, Indicator.text).where(Indicator.id.in_(ids))).all())
    return {i.number: short_title(texts.get(i.indicator_id, "")) for i in inputs.items.values()}


def previous_results(session: Session, cycle: Cycle):
    """The published results of the half-year before (or, failing that, the same half last year):
    (label, results) or None. Only a cycle that was approved or closed counts."""
    candidates = [f"{cycle.year}H1"] if cycle.half == 2 else [f"{cycle.year - 1}H2"]
    candidates.append(f"{cycle.year - 1}H{cycle.half}")
    for code in candidates:
        try:
            earlier = get_cycle(session, code)
        except KaopingError:
            continue
        if earlier.status not in (CycleStatus.approved, CycleStatus.closed):
            continue
        _, results = compute_cycle(session, earlier)
        return cycle_label(earlier), results
    return None


def _change(now, before, places: int) -> tuple[str, str]:
    """Score change ("+1.25" / "-0.40") and rank change ("↑3" / "↓2" / "—") against the previous period."""
    if before is None:
        return "", ""
    delta = now.published_total - before.published_total  # the two printed totals, so the reader can check it
    score = ("+" if delta > 0 else "") + fmt(delta, places) if delta else fmt(Fraction(0), places)
    if not (now.ranked and before.ranked):
        return score, "—"
    moved = before.rank - now.rank
    rank = f"↑{moved}" if moved > 0 else f"↓{-moved}" if moved < 0 else "—"
    return score, rank


# --------------------------------------------------------------------------- figures


def _facts(inputs, results, settings: Settings, cycle: Cycle, titles: dict[int, str]) -> dict:
    places = inputs.policy.rounding.places
    rows = result_rows(inputs, results)
    grade_order = [g.name for g in inputs.policy.grades]
    groups = {}
    for key, label in GROUP_LABELS.items():
        members = sorted((r for r in results if r.unit.group == key), key=lambda r: (not r.ranked, r.rank, r.unit.position))
        ranked = [r for r in members if r.ranked]
        totals = [Fraction(r.published_total) for r in members]  # averages of the printed totals
        by_grade = [(g, [r.unit.short_name for r in members if r.grade == g]) for g in grade_order]
        groups[key] = {
            "label": label, "count": len(members), "ranked": len(ranked),
            "average": fmt(sum(totals, Fraction(0)) / len(totals), places) if totals else "",
            "top": [r.unit.short_name for r in ranked[:3]],
            "bottom": [r.unit.short_name for r in ranked[-3:]][::-1],
            "by_grade": [(g, names) for g, names in by_grade if names],
        }
    all_totals = [Fraction(r.published_total) for r in results]
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
    # Each weak item with its lead assessors: the problems are drawn from the scores, not from a list of names.
    leads_of = {i.number: "、".join(inputs.unit_names.get(u, str(u)) for u in i.leads) for i in inputs.items.values()}
    return {
        "period": cycle_label(cycle), "office": settings.office_name, "units_total": len(results),
        "indicators": len(inputs.items), "average": fmt(sum(all_totals, Fraction(0)) / len(all_totals), places),
        "grade_counts": [(g, counts[g]) for g in grade_order if counts[g]], "groups": groups,
        "weak_areas": [{"name": inputs.areas[c].name,
                        "rate": fmt(100 * sum(area_rates[c]) / len(area_rates[c]), 1)} for c in weak_areas],
        "weak_items": [{"number": n, "area": f"{chinese_numeral(int(area_of_item[n]))}、{inputs.areas[area_of_item[n]].name}",
                        "rate": fmt(100 * sum(item_rates[n]) / len(item_rates[n]), 1), "units": len(item_rates[n]),
                        "title": titles.get(n, ""), "leads": leads_of.get(n, "")}
                       for n in weak_items],
        "lagging": lagging, "vetoes": [r.unit.short_name for r in results if r.veto],
        "lowest_grade": inputs.policy.lowest_grade, "rows": rows, "listing": listing_sentence(inputs, results),
    }


def listing_sentence(inputs, results) -> str:
    """Who is listed with their scores, not ranked or graded, and why (issue 27): the registry's standing
    for the cycle, or a base below the policy's minimum (专班口径, stated as such)."""
    ranking = inputs.policy.ranking
    by_registry = [r.unit.short_name for r in results if not r.ranked and r.unit.standing != "ranked"]
    by_base = [f"{r.unit.short_name}（{fmt(r.base, 2)}分）" for r in results if not r.ranked and r.unit.standing == "ranked"]
    parts = []
    if by_registry:
        parts.append(f"{'、'.join(by_registry)}按考评对象名录列示得分，不参与排名和等次评定")
    if by_base:
        parts.append(f"{'、'.join(by_base)}承担指标分值低于{ranking.basis}参与排名的最低承担分值"
                     f"{points_text(ranking.min_base)}分，列示得分，不参与排名和等次评定")
    groups = "、".join(GROUP_LABELS.get(g, g) for g in ranking.groups)
    rule = (f"各单位按承担指标分值（所承担指标的分值合计）参与排名；{groups}承担指标分值低于"
            f"{points_text(ranking.min_base)}分的列示不排名（{ranking.basis}，非考评办法规定）。")
    return rule + ("；".join(parts) + "。" if parts else "")


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


def _ranking_table(document, rows: list[dict], group: str, *, grades: bool = True) -> None:
    members = [r for r in rows if r["group"] == group]
    header = ["排名", "单位", "日常监测", "实地调研", "民意调查", "第三方评估", "加减分", "总分", "承担指标\n分值", "等次"]
    compare = any("score_change" in r for r in rows)
    if compare:  # the change goes under the rank and the total (two more columns would squeeze the names)
        header[0], header[7] = "排名\n升降", "总分\n较上期"

    def base(r: dict) -> str:  # the base, and under it the part the unit scored itself (issue 27)
        return r["base"] + (f"\n自评{r['own_points']}" if r.get("own_points") not in (None, "0.00") else "")

    body = [[f"{r['rank']}\n{r.get('rank_change') or '新'}" if compare else str(r["rank"]), r["unit_name"],
             r["monitoring"] or "", r["field"] or "", r["opinion"] or "", r["third_party"] or "", r["adjustments"],
             f"{r['total']}\n{r.get('score_change') or '—'}" if compare else r["total"], base(r), r["grade"]] for r in members]
    if not grades:  # the 实施细则 is not issued: scores and ranks only
        header, body = header[:-1], [line[:-1] for line in body]
    layout.table(document, header, body, widths_mm=layout.fitted_widths(header, body, wrap=(1,)))  # a long name may wrap


def _attachment(document, title: str, rows: list[dict], table=_ranking_table) -> None:
    document.add_page_break()
    layout.heading(document, "附件", 1)
    layout.title(document, title)
    for group, label in GROUP_LABELS.items():
        if any(r["group"] == group for r in rows):
            layout.heading(document, label, 2)
            table(document, rows, group)


# --------------------------------------------------------------------------- documents


def _adjustments_basis(policy, grades: bool) -> str:
    """The stated basis of the 加减分 column."""
    caps = policy.adjustments
    basis = f"依据{policy.rules.citation}" if grades else "按专班口径"
    return (f"“加减分”为专班记录的加分、扣分事项合计（{basis}，每半年加分不超过{fmt(caps.bonus_cap, 0)}分、"
            f"扣分不超过{fmt(caps.deduction_cap, 0)}分）。")


def _contact(settings: Settings) -> str:
    """The 附注 of every document: who to call (a setting not filled in: 【待填：联系人】 in development)."""
    return (f"联系人：{filled(settings, 'contact_office')}{filled(settings, 'contact_name')}，"
            f"联系电话：{filled(settings, 'contact_phone')}")


def _official(settings: Settings, number: str, facts: dict, template: str, blocks: dict, signed: date, *,
              signer: str | None = None):
    """A 下行文 (通报) or, with ``signer``, a 上行文 (报告); ``number`` "" is a preview (征求意见稿)."""
    document = layout.official_document()
    if not number:
        layout.draft_mark(document)
    layout.issuer_mark(document, settings.issuer_mark)
    if signer is not None:
        layout.number_and_signer(document, number, signer)
    else:
        layout.document_number(document, number or "　")
    text = environment().get_template(template).render(**facts)
    meta = _render_text(document, text, blocks)
    # The signature page carries body text (GB/T 9704 §7.3.5): the last paragraph goes with the signature.
    document.paragraphs[-1].paragraph_format.keep_with_next = True
    if meta.get("attachment"):
        layout.attachment_note(document, [meta["attachment"]])
        for paragraph in document.paragraphs[-2:]:
            paragraph.paragraph_format.keep_with_next = True
    layout.signature_and_date(document, settings.issuer_name, chinese_date(signed))
    layout.note(document, _contact(settings))
    return document, meta


def stamp(document, anchor: str) -> None:
    """The audit head (``seq:seal``) in a published document's properties (文件属性 → 备注 / comments, and
    the keywords), where it stays with every copy sent out; written as the document is built."""
    if anchor:
        document.core_properties.comments = f"kaoping-audit-anchor {anchor}"
        document.core_properties.keywords = f"kaoping-audit-anchor:{anchor}"


def _publishable(cycle: Cycle) -> None:
    """Numbers are given only to documents whose results the 分管领导 has approved (审定)."""
    if cycle.status not in (CycleStatus.approved, CycleStatus.closed):
        raise Conflict(f"{cycle.code} 当前为“{CycleStatus(cycle.status).label}”：须分管领导审定后才能印发并编发文字号；"
                       "审定前请生成征求意见稿（不加 --publish）。")


def build_reports(session: Session, settings: Settings, cycle: Cycle, out_dir: Path, *, publish: bool = False,
                  number: int | None = None, report_number: int | None = None, signed: date | None = None,
                  actor: str, final_dir: Path | None = None, computed=None, anchor: str = "",
                  review_only: bool = False, fanout: Fanout = serial) -> ReportSet:
    """The 通报, 报告, 反馈函 and workbook of ``cycle``. Without ``publish``: previews marked 征求意见稿,
    with no number. With ``publish``: each document takes its number from the register (``number`` /
    ``report_number``: the serials the office gives, refused if already used). ``computed``: the cycle's
    ``compute_cycle(..., detailed=True)`` if the caller has it (one computation per publish); ``anchor``:
    the audit head written into each Word document's properties as it is saved. ``review_only``: the 通报 and the
    workbook only (what a signer reviews), no 报告 and no 反馈函. The 反馈函 are rendered by ``fanout`` (issue 29:
    in this process, or on the flow's task runner), their numbers taken here first."""
    refuse_placeholders(settings, "印发通报、报告和反馈函" if publish else "生成通报、报告和反馈函（征求意见稿）", DRAFT_SETTINGS)
    inputs, results = computed or compute_cycle(session, cycle, detailed=True)
    places = inputs.policy.rounding.places
    titles = indicator_titles(session, inputs)
    facts = _facts(inputs, results, settings, cycle, titles)
    disclosed = disclosures(session, cycle, inputs, results)
    facts.update(rules_citation=disclosed.rules_citation, rounding_note=disclosed.rounding_note,
                 default_points=disclosed.default_points, responsibilities=disclosed.responsibilities,
                 verification=disclosed.verification, milestone_summary=disclosed.milestone_summary,
                 grades=disclosed.grades, grades_note=disclosed.grades_note,
                 adjustments_basis=_adjustments_basis(inputs.policy, disclosed.grades),
                 visits=disclosed.visits,
                 tongbao_to="，".join(settings.tongbao_to), report_to="、".join(settings.report_to))
    signed = signed or local_date(utcnow(), settings.tz)
    period = facts["period"]
    rows = facts["rows"]
    facts["comparison"] = _comparison(previous_results(session, cycle), results, rows, places)
    tongbao_no, baogao_no = (_document_numbers(session, settings, cycle, period, signed, number, report_number, actor)
                             if publish else ("", ""))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "反馈函").mkdir(exist_ok=True)

    charts = bar_charts(rows)

    def add_chart(document):
        for chart in charts:
            layout.picture(document, chart)

    tongbao, meta = _official(settings, tongbao_no, facts, "tongbao.txt.j2", {"chart": add_chart}, signed)
    ranking = partial(_ranking_table, grades=disclosed.grades)
    tongbao_path = _finish(tongbao, meta, rows, ranking, copy_list(settings, settings.tongbao_copy, settings.tongbao_to),
                           out_dir / f"{period}数字政府建设考评结果通报.docx", settings=settings, signed=signed, anchor=anchor)

    letters, letter_numbers, baogao_path = [], {}, None
    if not review_only:  # the 报告 and the 反馈函 (a signer's review needs the 通报 and the workbook only)
        from kaoping.services.objections.summary import (
            summary_lines,  # the objection stage (issue 17)
        )

        report_facts = {**facts, **verification_facts(session, cycle, inputs),
                        "field_findings": field_findings(session, cycle, inputs), "objections": summary_lines(session, cycle, rows)}
        baogao, meta = _official(settings, baogao_no, report_facts, "baogao.txt.j2", {}, signed,
                                 signer=filled(settings, "report_signer"))
        baogao_path = _finish(baogao, meta, rows, ranking, copy_list(settings, settings.report_copy, settings.report_to),
                              out_dir / f"{period}数字政府建设考评情况报告.docx", settings=settings, signed=signed,
                              anchor=anchor)

        letters, letter_numbers = _letters(session, settings, cycle, (inputs, results), rows, disclosed, out_dir,
                                           period=period, signed=signed, publish=publish, actor=actor, titles=titles,
                                           anchor=anchor, fanout=fanout)

    workbook = _workbook(out_dir, period, rows, disclosed, facts["listing"])
    audit.append(session, actor=actor, action="reports.publish" if publish else "reports.build",
                 entity=f"cycle:{cycle.code}/{cycle.year}", cycle_code=cycle.code,
                 after={"number": tongbao_no, "report_number": baogao_no, "letters": len(letters),
                        "out": str(final_dir or out_dir)},
                 reason="印发考评通报、报告、反馈函和结果表" if publish else
                 "生成考评通报（征求意见稿）和结果表，供签字人审阅" if review_only else
                 "生成考评通报、报告、反馈函（征求意见稿）和结果表")
    return ReportSet(tongbao_path, baogao_path, letters, workbook, tongbao_no, baogao_no, letter_numbers, publish)


def _document_numbers(session: Session, settings: Settings, cycle: Cycle, period: str, signed: date,
                      number: int | None, report_number: int | None, actor: str) -> tuple[str, str]:
    """The 文号 of the 通报 and the 报告 from the register (``number``/``report_number``: the serials the
    office gives, refused if already used), once the cycle may be published."""
    _publishable(cycle)
    tongbao_no = doc_numbers.take(session, prefix=settings.doc_number_prefix, year=signed.year,
                                  document=f"tongbao:{cycle.code}", title=f"关于{period}数字政府建设考评结果的通报",
                                  cycle_code=cycle.code, serial=number, actor=actor).text
    baogao_no = doc_numbers.take(session, prefix=settings.doc_number_prefix, year=signed.year,
                                 document=f"baogao:{cycle.code}", title=f"关于{period}数字政府建设考评情况的报告",
                                 cycle_code=cycle.code, serial=report_number, actor=actor).text
    return tongbao_no, baogao_no


def _workbook(out_dir: Path, period: str, rows: list[dict], disclosed, listing: str) -> Path:
    """The results workbook for the 实绩考核 system: no 等次 column while the 实施细则 is not issued (the note
    under each sheet says so)."""
    workbook = out_dir / f"{period}数字政府建设考评结果（实绩考核）.xlsx"
    workbook_rows = rows if disclosed.grades else [{k: v for k, v in r.items() if k != "grade"} for r in rows]
    write_xlsx(workbook_rows, workbook, title=f"{period}数字政府建设考评结果",
               note=disclosed.rounding_note + disclosed.grades_note + listing)
    return workbook


def _finish(document, meta: dict, rows: list[dict], table, copied_to: list[str], path: Path, *, settings: Settings,
            signed: date, anchor: str) -> Path:
    """The end of a 通报 or 报告: the results table as its attachment, the 版记, the audit anchor; saved at ``path``."""
    _attachment(document, meta["attachment"], rows, table=table)
    colophon(document, copied_to, settings.issuer_name, chinese_date(signed))
    stamp(document, anchor)
    writer.save(document, path)
    return path


def _comparison(previous, results, rows: list[dict], places: int) -> dict | None:
    """较上期: each row's change of score and rank (set on the rows), and who rose and fell most."""
    if previous is None:
        return None
    label, earlier = previous
    before = {r.unit.code: r for r in earlier}
    now = {r.unit.code: r for r in results}
    for row in rows:
        row["score_change"], row["rank_change"] = _change(now[row["unit_code"]], before.get(row["unit_code"]), places)
    moves = [(r, before[r.unit.code]) for r in results if r.unit.code in before and r.ranked and before[r.unit.code].ranked]
    risers = sorted((m for m in moves if m[1].rank > m[0].rank), key=lambda m: (m[0].rank - m[1].rank, m[0].unit.position))
    fallers = sorted((m for m in moves if m[1].rank < m[0].rank), key=lambda m: (m[1].rank - m[0].rank, m[0].unit.position))
    avg_before = sum((Fraction(r.published_total) for r in earlier), Fraction(0)) / len(earlier) if earlier else Fraction(0)
    return {
        "label": label, "average_before": fmt(avg_before, places), "compared": len(moves),
        "risers": [f"{r.unit.short_name}（↑{b.rank - r.rank}）" for r, b in risers[:5]],
        "fallers": [f"{r.unit.short_name}（↓{r.rank - b.rank}）" for r, b in fallers[:5]],
    }


def _letters(session: Session, settings: Settings, cycle: Cycle, computed, rows: list[dict], disclosed, out_dir: Path, *,
             period: str, signed: date, publish: bool, actor: str, titles: dict[int, str], anchor: str,
             fanout: Fanout) -> tuple[list[Path], dict[str, str]]:
    """One 反馈函 per unit under ``out_dir/反馈函``, in the units' order; with ``publish`` every letter's number
    taken first, in one go. Rendered by ``fanout`` (in this process or on the flow's task runner)."""
    inputs, results = computed
    group_counts = Counter(r.unit.group for r in results if r.ranked)  # "共 N 个单位" of a rank: the ranked ones
    by_unit = {row["unit_code"]: row for row in rows}
    due = WorkCalendar.load(session).add_workdays(signed, settings.rectification_workdays)
    ordered = sorted(results, key=lambda r: r.unit.position)
    letter_numbers: dict[str, str] = {}
    if publish:
        taken = doc_numbers.take_many(session, prefix=settings.letter_number_prefix, year=signed.year, cycle_code=cycle.code,
                                      documents=[(f"fankui:{cycle.code}:{r.unit.code}",
                                                  f"关于{period}数字政府建设考评结果的反馈函（{r.unit.short_name}）")
                                                 for r in ordered], actor=actor)
        letter_numbers = {r.unit.code: taken[f"fankui:{cycle.code}:{r.unit.code}"].text for r in ordered}
    jobs = [letter_job(settings, r, by_unit[r.unit.code], inputs, period, group_counts, signed,
                       letter_disclosed(settings, disclosed, r.unit.unit_id, due),
                       number=letter_numbers.get(r.unit.code, ""), titles=titles, anchor=anchor, template="fankui.txt.j2")
            for r in ordered]
    letters = []
    for job, data in zip(jobs, fanout(render_letter, jobs), strict=True):
        path = out_dir / "反馈函" / job.file_name
        path.write_bytes(data)
        letters.append(path)
    return letters, letter_numbers


def letter_disclosed(settings: Settings, disclosed, unit_id: int, due: date) -> dict:
    """What one unit's 反馈函 says of the rules, grades, its missed milestones, the 整改 deadline and whom to contact."""
    return {"rules_citation": disclosed.rules_citation, "rounding_note": disclosed.rounding_note,
            "grades": disclosed.grades, "grades_note": disclosed.grades_note,
            "milestones": [m.text for m in disclosed.milestones.get(unit_id, [])],
            "due": chinese_date(due), "contact": _contact(settings), "report_to": settings.contact_office,
            "contact_email": filled(settings, "office_email")}


def _points_figure(points: Fraction, places: int) -> str:
    """A sum of points as the area table prints it: 2 places ("25.00"), or to 4 places where it has more
    (an equal share: 0.6667, 0.625) — the formula under the table then gives the printed 大项得分."""
    return fmt(points, places) if Fraction(round_half_up(points, places)) == points else points_text(points)


@dataclass(frozen=True)
class LetterJob:
    """Everything one 反馈函 is made of, as plain picklable values (issue 29): rendered by ``render_letter``
    wherever the fanout puts it; its number was taken, and its file is written, by the caller."""

    issuer_name: str
    template: str
    result: object  # the unit's ``UnitResult``
    row: dict
    places: int
    area_names: dict[str, str]
    unit_names: dict
    period: str
    group_count: int
    signed: date
    disclosed: dict
    number: str
    titles: dict[int, str]
    anchor: str = ""

    @property
    def file_name(self) -> str:
        return f"{self.result.unit.code}-{self.result.unit.short_name}-反馈函.docx"


#: a 反馈函 lists as needing improvement the items scored below 90 % of their points
_IMPROVE_BELOW = Fraction(9, 10)


def render_letter(job: LetterJob) -> bytes:
    """The Word file of one 反馈函: a pure function of its job (no database, no settings, no clock)."""
    result, row, places, titles, disclosed = job.result, job.row, job.places, job.titles, job.disclosed
    improve = []
    rates = [(item.value / item.points if item.points else 1, item.number, item) for item in result.items]  # once each
    for rate, _, item in sorted(rates, key=lambda r: r[:2]):
        if item.points and rate < _IMPROVE_BELOW:
            notes = "；".join(v.note for v in item.lead_scores.values() if v.note)
            improve.append({"number": item.number, "title": titles.get(item.number, ""),
                            "score": score_text(item.value, item.points, places),
                            "points": points_text(item.points), "notes": notes})
    facts = {
        "period": job.period, "unit": {"name": result.unit.name}, "total": row["total"], "rank": row["rank"],
        "grade": row["grade"], "listed": result.listed, "base": row["base"], "own_points": row["own_points"],
        "group_label": GROUP_LABELS[result.unit.group], "group_count": job.group_count,
        "monitoring": row["monitoring"], "field": row["field"], "opinion": row["opinion"], "third_party": row["third_party"],
        "adjustments": row["adjustments"], "flags": row["flags"], "improve": improve[:10], **disclosed,
    }
    document = layout.official_document()
    if not job.number:
        layout.draft_mark(document, "草稿")
    layout.letter_head(document, job.issuer_name, job.number)

    def areas(doc):
        # Area score = W(a) × Σs / Σp over the items the unit undertakes: the reader sees the
        # points the unit could score in the area (Σp) next to what it scored (Σs), then the weighting.
        header = ["方面", "大项分值", "承担指标分值", "指标得分", "大项得分"]
        body = [[f"{chinese_numeral(int(code))}、{job.area_names[code]}", fmt(Decimal(a.weight), places),
                 _points_figure(a.sum_points, places), fmt(a.sum_scores, places), fmt(a.score, places)]
                for code, a in result.areas.items()]
        layout.table(doc, header, body, widths_mm=layout.fitted_widths(header, body, wrap=(0,)))

    def items(doc):
        body = []
        for item in result.items:
            notes = "；".join(f"{job.unit_names.get(lead, lead)}：{v.note}" for lead, v in item.lead_scores.items() if v.note)
            if item.verification is not None and item.verification.kind == "adjust":
                notes = (notes + "；" if notes else "") + f"经专班核实调整为{fmt(item.verification.value, places)}分"
            body.append([str(item.number), titles.get(item.number, ""), points_text(item.points),
                         score_text(item.value, item.points, places),
                         notes])
        header = ["指标", "内容", "分值", "得分", "扣分说明"]
        layout.table(doc, header, body, widths_mm=layout.fitted_widths(header, body, wrap=(1, 4)))

    _render_text(document, _template(job.template).render(**facts), {"areas": areas, "items": items})
    document.paragraphs[-1].paragraph_format.keep_with_next = True
    layout.signature_and_date(document, job.issuer_name, chinese_date(job.signed))
    layout.note(document, disclosed["contact"])
    stamp(document, job.anchor)
    return writer.docx_bytes(document)


def letter_job(settings, result, row, inputs, period, group_counts, signed, disclosed: dict, *, number: str,
               titles: dict[int, str], anchor: str = "", template: str = "fankui.txt.j2") -> LetterJob:
    return LetterJob(settings.issuer_name, template, result, row, inputs.policy.rounding.places,
                     {code: a.name for code, a in inputs.areas.items()}, inputs.unit_names, period,
                     group_counts[result.unit.group], signed, disclosed, number, titles, anchor)


def _letter(settings, template, result, row, inputs, period, group_counts, signed, out_dir, disclosed: dict, *,
            number: str, titles: dict[int, str], anchor: str = "") -> Path:
    """One 反馈函 rendered here and saved under ``out_dir/反馈函`` (the documents benchmark's measure)."""
    job = letter_job(settings, result, row, inputs, period, group_counts, signed, disclosed, number=number, titles=titles,
                     anchor=anchor, template=template.name)
    path = out_dir / "反馈函" / job.file_name
    path.write_bytes(render_letter(job))
    return path
