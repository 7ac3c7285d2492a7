"""Plausible returns for the demo, the end-to-end tests and the benchmarks.

Deterministic (seeded) score files of the kinds offices really send: the monitoring sheet
of every lead assessor, and 0–100 results for field visits, public opinion and the
third-party evaluation. Plain functions; nothing here is used in a real cycle.
"""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from sqlmodel import Session, select

from kaoping.models import (
    Component,
    Cycle,
    CycleResponsibility,
    CycleUnit,
    Indicator,
    IndicatorLead,
    Unit,
)
from kaoping.services.cycles.points import points_in_force


def _quantize_down(value: Fraction, places: int = 2) -> Decimal:
    """A score a person would type: at most ``places`` decimals, never above ``value``."""
    scaled = value * 10**places
    return Decimal(scaled.numerator // scaled.denominator).scaleb(-places)


def monitoring_rows(session: Session, cycle: Cycle, *, seed: int = 2022) -> list[dict]:
    """One row per (unit, indicator, lead assessor): a share of the item's points."""
    rng = random.Random(seed)
    points = points_in_force(session, cycle)
    numbers = dict(session.exec(select(Indicator.id, Indicator.number).where(Indicator.catalog_id == cycle.catalog_id)).all())
    leads: dict[int, list[int]] = {}
    for indicator_id, unit_id in session.exec(
        select(IndicatorLead.indicator_id, IndicatorLead.unit_id).join(Indicator)
        .where(Indicator.catalog_id == cycle.catalog_id).order_by(IndicatorLead.position)
    ):
        leads.setdefault(indicator_id, []).append(unit_id)
    names = {u.id: u.short_name for u in session.exec(select(Unit))}
    units = {u.unit_id: u for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))}
    # Each unit has a "strength" so that rankings are not noise.
    strength = {u: Fraction(rng.randint(70, 98), 100) for u in sorted(units)}
    rows = []
    for unit_id, indicator_id in sorted(session.exec(
        select(CycleResponsibility.unit_id, CycleResponsibility.indicator_id).where(CycleResponsibility.cycle_id == cycle.id)
    ).all()):
        p = points[indicator_id].points
        for lead in leads[indicator_id]:
            share = min(Fraction(1), strength[unit_id] + Fraction(rng.randint(-10, 8), 100))
            score = _quantize_down(p * share)
            note = "" if score == _quantize_down(p) else rng.choice(["进度滞后", "佐证材料不全", "部分任务未完成", "成效不明显"])
            rows.append({"单位": units[unit_id].short_name, "指标": numbers[indicator_id],
                         "牵头考核单位": names[lead], "得分": str(score), "说明": note})
    return rows


def component_rows(session: Session, cycle: Cycle, component: Component, *, seed: int = 2022) -> list[dict]:
    rng = random.Random(f"{seed}-{component.value}")
    units = session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id).order_by(CycleUnit.position)).all()
    return [
        {"单位": u.short_name, "得分": str(Decimal(rng.randint(7000, 9800)).scaleb(-2)), "说明": ""}
        for u in units
    ]


def write_csv(rows: list[dict], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


# --------------------------------------------------------------------------- filled Word forms

W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _cell_texts(tc) -> str:
    return "".join(t.text or "" for t in tc.iter(f"{W_NS}t"))


def fill_docx_table(data: bytes, header: tuple[str, ...], fill) -> bytes:
    """Return a copy of a .docx whose table with ``header`` has cells filled by
    ``fill(row_cells_texts) -> {column: text}``, as a person typing into the cells would
    (the text replaces the cell's first run). Works on the XML directly: fast enough to
    simulate hundreds of returns."""
    import io
    import zipfile

    from lxml import etree

    source = zipfile.ZipFile(io.BytesIO(data))
    root = etree.fromstring(source.read("word/document.xml"))
    for table in root.iter(f"{W_NS}tbl"):
        rows = table.findall(f"{W_NS}tr")
        if tuple(_cell_texts(tc) for tc in rows[0].findall(f"{W_NS}tc")) != header:
            continue
        for tr in rows[1:]:
            cells = tr.findall(f"{W_NS}tc")
            for column, text in fill([_cell_texts(tc) for tc in cells]).items():
                texts = list(cells[column].iter(f"{W_NS}t"))
                if texts:
                    texts[0].text = text
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            payload = (etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
                       if item.filename == "word/document.xml" else source.read(item.filename))
            target.writestr(item, payload)
    return out.getvalue()


# --------------------------------------------------------------------------- simulated people

PROGRESS = ["完成", "取得明显成效", "取得阶段性成效", "推进中"]
SITUATIONS = ["已按计划完成，相关系统已上线运行。", "主体建设完成，正在试运行并持续优化。", "已完成方案编制，正在推进采购和部署。"]
DEDUCTIONS = ["进度滞后", "佐证材料不全", "部分任务未完成", "成效不明显"]
ALLOCATION = {"54": "5", "55": "5", "56": "4", "57": "3", "58": "3"}  # area 三, 20 points (市工信局)


class People:
    """The units, lead assessors, visiting teams and outside evaluators of a simulated cycle:
    each fills in the Word form kaoping sent them the way a person would (seeded)."""

    def __init__(self, seed: int = 2022):
        self.rng = random.Random(seed)
        self.strength: dict[str, Fraction] = {}

    def fill(self, kind, data: bytes, *, sloppy: bool = False) -> bytes:
        """A filled copy of an issued form; ``sloppy`` leaves out what a careless unit leaves out."""
        from kaoping.models import FormKind
        from kaoping.services.forms import FORM_LAYOUTS

        rng = self.rng
        if kind is FormKind.self_assessment:
            def answer(cells):
                if sloppy and cells[0] == "1":
                    return {4: rng.choice(SITUATIONS)}  # 完成情况 filled, 进展 left empty
                return {4: rng.choice(SITUATIONS), 5: rng.choice(PROGRESS), 6: "工作方案.pdf\n推进情况报告.docx"}
            return fill_docx_table(data, FORM_LAYOUTS[kind]["main"].header, answer)
        if kind is FormKind.lead_scoring:
            def allocate(cells):
                # 市工信局 sets area 三's open items (20 points) under rule 三(四); other leads leave theirs.
                return {4: ALLOCATION[cells[0]]} if cells[0] in ALLOCATION else {}

            def score(cells):
                # Points as printed (0.6667 written on a 2/3-point item is full marks), or as just allocated.
                points = Fraction(ALLOCATION.get(cells[0]) or cells[1].split("（")[0])
                unit = cells[2].removesuffix("（自评项）")
                share = self.strength.setdefault(unit, Fraction(rng.randint(72, 97), 100)) + Fraction(rng.randint(-6, 6), 100)
                value = min(points, points * share)
                text = format(_quantize_down(value), "f")
                return {5: text} if value == points else {5: text, 6: rng.choice(DEDUCTIONS)}
            data = fill_docx_table(data, FORM_LAYOUTS[kind]["allocation"].header, allocate)
            return fill_docx_table(data, FORM_LAYOUTS[kind]["main"].header, score)
        if kind is FormKind.field_visit:
            values = {"调研日期": "按日程", "调研组成员": "见日历邀请", "发现的问题": "部分事项网办深度不够",
                      "实地调研得分": str(rng.randint(72, 96)), "评分说明": "对照报送材料逐项核实"}
            data = fill_docx_table(data, ("项目", "内容"), lambda c: {1: values[c[0]]} if c[0] in values else {})
            # The team checks on site what the unit reported, item by item (the first two items here).
            checked = iter(range(2))
            return fill_docx_table(data, FORM_LAYOUTS[kind]["items"].header,
                                   lambda c: {5: "属实" if c[4] else "未报送自评，现场核实推进中"}
                                   if next(checked, None) is not None else {})
        return fill_docx_table(data, ("序号", "单位", "得分", "说明"),
                               lambda c: {2: f"{rng.randint(7000, 9800) / 100:.2f}"})


def issued_forms(session: Session, cycle: Cycle, kind, settings=None) -> list[tuple[object, str, str]]:
    """(form, subject name, the address it comes back from) for every current form of a kind: the
    unit's liaison for the forms units return, else (with ``settings``) the first address the form
    was issued to (the visiting team, the evaluator) — the inbox holds a file with no sender."""
    from kaoping.models import Contact, ContactRole, IssuedForm
    from kaoping.services.forms import kind_spec

    forms = session.exec(select(IssuedForm).where(IssuedForm.cycle_id == cycle.id, IssuedForm.kind == kind,
                                                  IssuedForm.current).order_by(IssuedForm.form_no)).all()
    names = {u.unit_id: u.short_name for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))}
    liaison = dict(session.exec(select(Contact.unit_id, Contact.email).where(Contact.role == ContactRole.liaison)).all())

    def sender(form) -> str:
        if kind.value in ("self_assessment", "lead_scoring"):
            return liaison.get(form.subject_unit_id, "")
        if settings is None:
            return ""
        return next(iter(kind_spec(kind).recipients(session, settings, cycle, form)), "")

    return [(f, names.get(f.subject_unit_id, "全部考评对象"), sender(f)) for f in forms]


def signoff_code(messages, address: str) -> str:
    """What a signer does: open the newest sign-off email sent to them and read the one-time
    code (``messages``: email.message.EmailMessage objects, newest first)."""
    import re

    for message in messages:
        if address in str(message.get("To", "")) and "验证码" in str(message.get("Subject", "")):
            match = re.search(r"验证码：(\d{6})", message.get_body(("plain",)).get_content())
            if match:
                return match.group(1)
    raise LookupError(f"no sign-off code was emailed to {address}")


def mailbox(folder: Path):
    """The .eml files of a local mail sink as messages, newest first (read as needed)."""
    import email
    from email import policy

    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        yield email.message_from_bytes(path.read_bytes(), policy=policy.default)


def drop_in_inbox(inbox: Path, name: str, data: bytes, sender: str = "") -> Path:
    """What the office does with an email attachment: save it in the inbox folder (and who sent it)."""
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / name
    path.write_bytes(data)
    if sender:
        (inbox / f"{name}.sender").write_text(sender, encoding="utf-8")
    return path
