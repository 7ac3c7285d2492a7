"""Word documents at province scale (issue 4), on SQLite.

600 units on the 2022 catalog (the synthetic province of rules_province): self-assessment
forms for all 600 units, scoring sheets for the 26 lead assessors, the intake of 600
returned self-assessment forms, and all reports (通报, 报告, 600 反馈函, workbook). For the
reports, the same run renders an equivalent 反馈函 with docxtpl (a Jinja2 Word template with
the same paragraphs and a 90-row table) and reports the ratio.

Targets: forms under 50 ms each; report generation no slower than docxtpl.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path


def fill_progress(data: bytes) -> bytes:
    """Type 完成 into every 完成进度 cell — what a unit does before returning its form."""
    from kaoping.models import FormKind

    from kaoping.demo.people import fill_docx_table
    from kaoping.services.forms import FORM_LAYOUTS

    return fill_docx_table(data, FORM_LAYOUTS[FormKind.self_assessment]["main"].header, lambda cells: {5: "完成"})


def docxtpl_template(path: Path) -> None:
    """A 反馈函 template for docxtpl with the same content as kaoping's letter."""
    from kaoping.adapters.word import layout

    document = layout.official_document()
    layout.title(document, "关于{{ period }}数字政府建设考评结果的反馈函")
    layout.addressee(document, "{{ unit_name }}：")
    layout.body(document, "根据《数字政府建设考评办法》，现将你单位{{ period }}数字政府建设考评结果反馈如下。")
    layout.heading(document, "一、总体结果", 1)
    layout.body(document, "你单位考评得分{{ total }}分，在{{ group_label }}中排名第{{ rank }}位，等次为{{ grade }}。"
                          "其中日常监测{{ monitoring }}分，实地调研{{ field }}分，民意调查{{ opinion }}分，第三方评估{{ third_party }}分。")
    layout.heading(document, "二、各指标得分", 1)
    layout.table(document, ["指标", "分值", "得分", "扣分说明"],
                 [["{%tr for i in items %}", "", "", ""], ["{{ i.number }}", "{{ i.points }}", "{{ i.score }}", "{{ i.notes }}"],
                  ["{%tr endfor %}", "", "", ""]], widths_mm=[14, 18, 18, 106])
    layout.heading(document, "三、需要改进的方面", 1)
    layout.body(document, "{% for i in improve %}指标{{ i.number }}：得{{ i.score }}分；{% endfor %}")
    layout.signature_and_date(document, "{{ office }}", "{{ date }}")
    document.save(path)


def run(workdir: Path) -> dict:
    from kaoping.models import Component, FormKind

    from benchmarks.rules_province import setup_province
    from kaoping import db
    from kaoping.adapters.uploads import Upload, read_upload
    from kaoping.demo.people import component_rows, monitoring_rows, write_csv
    from kaoping.domain.policy import load_policy
    from kaoping.services.cycles.cycle import get_cycle, open_cycle
    from kaoping.services.forms import build_forms
    from kaoping.services.reports.documents import build_reports
    from kaoping.services.returns.intake import intake
    from kaoping.services.scoring.entry import import_score_file
    from kaoping.services.scoring.results import compute_cycle, result_rows
    from kaoping.services.scoring.verification import confirm_all_self_scored
    from kaoping.settings import Settings

    s = Settings(database_url=f"sqlite:///{workdir / 'bench.sqlite3'}", var_dir=workdir / "var", environment="development", _env_file=None)
    setup_province(s, workdir)
    with db.session_scope(s) as session:
        open_cycle(session, code="2022H1", policy=load_policy(s.data_dir / "policies" / "default.yaml"),
                   policy_source="default.yaml", actor="bench", default_responsibilities_reason="基准测试")
    figures: dict[str, float] = {}

    t = time.perf_counter()
    with db.session_scope(s) as session:
        forms = build_forms(session, s, get_cycle(session, "2022H1"), FormKind.self_assessment, actor="bench")
    figures["self_assessment_forms"] = len(forms)
    figures["self_assessment_ms_per_form"] = (time.perf_counter() - t) * 1000 / len(forms)

    t = time.perf_counter()
    with db.session_scope(s) as session:
        sheets = build_forms(session, s, get_cycle(session, "2022H1"), FormKind.lead_scoring, actor="bench")
    figures["lead_sheets"] = len(sheets)
    figures["lead_sheet_ms_per_sheet"] = (time.perf_counter() - t) * 1000 / len(sheets)
    figures["lead_sheet_rows"] = sum(len(b.form.rows) for b in sheets)

    returned = [Upload(b.path.name, fill_progress(b.path.read_bytes())) for b in forms]
    t = time.perf_counter()
    for upload in returned:
        with db.session_scope(s) as session:
            intake(session, s, upload, actor="bench")
    figures["intake_ms_per_form"] = (time.perf_counter() - t) * 1000 / len(returned)

    with db.session_scope(s) as session:
        cycle = get_cycle(session, "2022H1")
        write_csv(monitoring_rows(session, cycle), workdir / "monitoring.csv")
        for c in (Component.field, Component.opinion, Component.third_party):
            write_csv(component_rows(session, cycle, c), workdir / f"{c.value}.csv")
    for c in Component:
        with db.session_scope(s) as session:
            import_score_file(session, get_cycle(session, "2022H1"), c, read_upload(workdir / f"{c.value}.csv"), actor="bench")
    with db.session_scope(s) as session:
        confirm_all_self_scored(session, get_cycle(session, "2022H1"), actor="bench")

    t = time.perf_counter()
    with db.session_scope(s) as session:
        reports = build_reports(session, s, get_cycle(session, "2022H1"), workdir / "reports", actor="bench")
    figures["reports_total_s"] = time.perf_counter() - t
    figures["tongbao_kb"] = reports.tongbao.stat().st_size / 1024  # issue 29: < 300 KB at 600 units
    figures["letters"] = len(reports.letters)

    # The same letters rendered by docxtpl from an equivalent template, and by kaoping alone.
    from docxtpl import DocxTemplate

    from kaoping.domain.scoring import fmt
    from kaoping.services.reports.disclosures import disclosures
    from kaoping.services.reports.documents import (
        _letter,
        environment,
        indicator_titles,
        letter_disclosed,
    )

    with db.session_scope(s) as session:
        inputs, results = compute_cycle(session, get_cycle(session, "2022H1"), detailed=True)
        rows = {r["unit_code"]: r for r in result_rows(inputs, results)}
        titles = indicator_titles(session, inputs)
        disclosed = disclosures(session, get_cycle(session, "2022H1"), inputs, results)
    docxtpl_template(workdir / "letter-template.docx")
    sample = results[:100]
    t = time.perf_counter()
    for r in sample:
        template = DocxTemplate(workdir / "letter-template.docx")
        row = rows[r.unit.code]
        template.render({
            "period": "2022年上半年", "unit_name": r.unit.name, "total": row["total"], "group_label": r.unit.group,
            "rank": row["rank"], "grade": row["grade"], "monitoring": row["monitoring"], "field": row["field"],
            "opinion": row["opinion"], "third_party": row["third_party"], "office": s.office_name, "date": "2022年7月15日",
            "items": [{"number": i.number, "points": fmt(i.points), "score": fmt(i.value),
                       "notes": "；".join(v.note for v in i.lead_scores.values() if v.note)} for i in r.items],
            "improve": [{"number": i.number, "score": fmt(i.value)} for i in r.items[:10]],
        })
        template.save(workdir / "tpl.docx")
    figures["docxtpl_ms_per_letter"] = (time.perf_counter() - t) * 1000 / len(sample)
    from collections import Counter

    group_counts = Counter(r.unit.group for r in results)
    template = environment().get_template("fankui.txt.j2")
    (workdir / "again" / "反馈函").mkdir(parents=True)
    t = time.perf_counter()
    for r in sample:
        _letter(s, template, r, rows[r.unit.code], inputs, "2022年上半年", group_counts,
                __import__("datetime").date(2022, 7, 15), workdir / "again",
                letter_disclosed(s, disclosed, r.unit.unit_id, __import__("datetime").date(2022, 8, 12)),
                number="包政办函〔2022〕1号", titles=titles)
    figures["kaoping_ms_per_letter"] = (time.perf_counter() - t) * 1000 / len(sample)
    figures["kaoping_over_docxtpl"] = figures["kaoping_ms_per_letter"] / figures["docxtpl_ms_per_letter"]
    return figures


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = run(Path(tmp))
    print("Documents at province scale (targets: < 50 ms per form; reports no slower than docxtpl)")
    print(
        f"self-assessment forms: {f['self_assessment_forms']} × {f['self_assessment_ms_per_form']:.1f} ms\n"
        f"lead scoring sheets:   {f['lead_sheets']} × {f['lead_sheet_ms_per_sheet']:.0f} ms ({f['lead_sheet_rows']} rows in all)\n"
        f"intake of returned self-assessments: {f['intake_ms_per_form']:.1f} ms per form\n"
        f"all reports (通报, 报告, {f['letters']} 反馈函, workbook): {f['reports_total_s']:.1f} s; "
        f"the 通报 {f['tongbao_kb']:.0f} KB (target < 300 KB)\n"
        f"反馈函: kaoping {f['kaoping_ms_per_letter']:.1f} ms vs docxtpl {f['docxtpl_ms_per_letter']:.1f} ms "
        f"per letter (ratio {f['kaoping_over_docxtpl']:.2f})"
    )
    print("RESULT " + json.dumps(f))


if __name__ == "__main__":
    main()
