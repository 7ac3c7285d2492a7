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

from kaoping.cycles import points_in_force
from models import Component, Cycle, CycleResponsibility, CycleUnit, Indicator, IndicatorLead, Unit


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
