"""Who undertakes which indicator (承担), per year.

Imported from a CSV (单位, 指标); until one is imported for a year the default rule of
The default rule (docs/domain.md, "Responsibilities") applies: every district undertakes every indicator, and a department
undertakes the indicators it leads.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass

from sqlmodel import Session, select

from kaoping.adapters.uploads import Upload
from kaoping.domain.errors import InvalidInput
from kaoping.domain.responsibilities import ItemText, UnitNames, suggest
from kaoping.domain.text import decode_text, fold
from kaoping.models import (
    Indicator,
    IndicatorLead,
    Responsibility,
    ResponsibilitySet,
    Unit,
    UnitAlias,
    UnitGroup,
)
from kaoping.records import audit
from kaoping.services.reference.catalog import require_catalog
from kaoping.services.reference.registry import UnitDirectory

UNIT_HEADERS = {"unit", "单位", "单位名称", "考评对象"}
INDICATOR_HEADERS = {"indicator", "指标", "指标编号", "编号"}


@dataclass(frozen=True)
class ResponsibilityView:
    """The pairs in force for a year and where they come from."""

    year: int
    pairs: frozenset[tuple[int, int]]  # (unit_id, indicator number)
    source: str  # "default" or "imported v2 (file.csv)"

    @property
    def is_default(self) -> bool:
        return self.source == "default"


def current_set(session: Session, year: int) -> ResponsibilitySet | None:
    return session.exec(
        select(ResponsibilitySet).where(ResponsibilitySet.year == year).order_by(ResponsibilitySet.version.desc()).limit(1)
    ).first()


def default_pairs(session: Session, year: int) -> frozenset[tuple[int, int]]:
    catalog = require_catalog(session, year)
    numbers = session.exec(select(Indicator.number).where(Indicator.catalog_id == catalog.id)).all()
    districts = session.exec(select(Unit.id).where(Unit.group == UnitGroup.district, Unit.active)).all()
    pairs = {(u, n) for u in districts for n in numbers}
    led = session.exec(
        select(IndicatorLead.unit_id, Indicator.number)
        .join(Indicator, Indicator.id == IndicatorLead.indicator_id)
        .join(Unit, Unit.id == IndicatorLead.unit_id)
        .where(Indicator.catalog_id == catalog.id, Unit.group == UnitGroup.department)
    ).all()
    pairs.update((u, n) for u, n in led)
    return frozenset(pairs)


def responsibilities_for(session: Session, year: int) -> ResponsibilityView:
    chosen = current_set(session, year)
    if chosen is None:
        return ResponsibilityView(year, default_pairs(session, year), "default")
    rows = session.exec(
        select(Responsibility.unit_id, Responsibility.indicator_number).where(Responsibility.set_id == chosen.id)
    ).all()
    return ResponsibilityView(year, frozenset((u, n) for u, n in rows), f"imported v{chosen.version} ({chosen.source_name})")


def parse_responsibilities(upload: Upload, directory: UnitDirectory, numbers: set[int]) -> set[tuple[int, int]]:
    if upload.suffix != ".csv":
        raise InvalidInput(f"承担关系请用 CSV 文件（两列：单位,指标），收到的是 {upload.suffix or '无扩展名的文件'}。")
    try:
        text = decode_text(upload.data)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"文件 {upload.name} 不是文本文件：请另存为 CSV（UTF-8）。") from exc
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if any(c.strip() for c in r)]
    if not rows:
        raise InvalidInput(f"文件 {upload.name} 没有内容：第一行应为表头“单位,指标”，之后每行一个单位承担的一个指标。")
    header = [fold(c).lower() for c in rows[0]]
    try:
        unit_col = next(i for i, h in enumerate(header) if h in UNIT_HEADERS)
        ind_col = next(i for i, h in enumerate(header) if h in INDICATOR_HEADERS)
    except StopIteration:
        raise InvalidInput(
            f"文件 {upload.name} 的表头应包含“单位”和“指标”两列（或 unit, indicator），实为：{'、'.join(rows[0])}。"
        ) from None
    problems: list[str] = []
    pairs: set[tuple[int, int]] = set()
    for line_no, row in enumerate(rows[1:], start=2):
        written = fold(row[unit_col]) if unit_col < len(row) else ""
        number_text = fold(row[ind_col]) if ind_col < len(row) else ""
        unit = directory.find(written) if written else None
        if unit is None:
            problems.append(f"第 {line_no} 行“单位”列：" + (directory.unknown_message(written) if written else "为空。"))
        try:
            number = int(number_text)
        except ValueError:
            problems.append(f"第 {line_no} 行“指标”列：“{number_text}”不是指标编号（应为 1–{max(numbers)} 的整数）。")
            continue
        if number not in numbers:
            problems.append(f"第 {line_no} 行“指标”列：本年度考评指标中没有编号 {number}（应为 1–{max(numbers)}）。")
            continue
        if unit is not None:
            pairs.add((unit.id, number))
    if problems:
        raise InvalidInput(f"承担关系文件 {upload.name} 有 {len(problems)} 处问题，未导入任何内容：", problems)
    return pairs


def canonical_hash(pairs: set[tuple[int, int]], units: dict[int, str]) -> str:
    lines = sorted(f"{units[u]}\t{n}" for u, n in pairs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


@dataclass
class ResponsibilityImport:
    created: bool
    pairs: int
    units: int
    version: int


def import_responsibilities(session: Session, upload: Upload, *, year: int, actor: str) -> ResponsibilityImport:
    catalog = require_catalog(session, year)
    numbers = set(session.exec(select(Indicator.number).where(Indicator.catalog_id == catalog.id)).all())
    directory = UnitDirectory.load(session)
    pairs = parse_responsibilities(upload, directory, numbers)
    codes = {u.id: u.code for u in directory.units.values()}
    digest = canonical_hash(pairs, codes)
    current = current_set(session, year)
    unit_count = len({u for u, _ in pairs})
    if current is not None and current.content_sha256 == digest:
        return ResponsibilityImport(False, len(pairs), unit_count, current.version)
    chosen = ResponsibilitySet(
        year=year,
        version=(current.version + 1) if current else 1,
        content_sha256=digest,
        source_name=upload.name,
        source_sha256=upload.sha256,
        imported_by=actor,
    )
    session.add(chosen)
    session.flush()
    session.add_all(Responsibility(set_id=chosen.id, unit_id=u, indicator_number=n) for u, n in sorted(pairs))
    session.flush()
    audit.append(
        session, actor=actor, action="responsibilities.import", entity=f"responsibilities:{year}/v{chosen.version}",
        before={"version": current.version, "sha256": current.content_sha256} if current else {"source": "default"},
        after={"version": chosen.version, "sha256": digest, "pairs": len(pairs), "units": unit_count,
               "source": upload.name},
        reason=f"导入 {upload.name}",
    )
    return ResponsibilityImport(True, len(pairs), unit_count, chosen.version)


# --------------------------------------------------------------------------- suggestions


def suggest_responsibilities(session: Session, year: int) -> list[tuple[str, int, str]]:
    """(unit, indicator, why) rows proposing who undertakes what, from the indicators' texts,
    for the team to review and import (`kaoping responsibilities suggest --year Y --out 承担.csv`,
    edit, then `kaoping responsibilities import 承担.csv --year Y`)."""
    catalog = require_catalog(session, year)
    indicators = session.exec(select(Indicator).where(Indicator.catalog_id == catalog.id).order_by(Indicator.number)).all()
    leads: dict[int, list[int]] = {}
    for lead in session.exec(select(IndicatorLead).where(IndicatorLead.indicator_id.in_([i.id for i in indicators]))
                             .order_by(IndicatorLead.position)):
        leads.setdefault(lead.indicator_id, []).append(lead.unit_id)
    directory = UnitDirectory.load(session)
    aliases: dict[int, list[str]] = {}
    for alias in session.exec(select(UnitAlias)):
        aliases.setdefault(alias.unit_id, []).append(alias.alias)
    units = [
        UnitNames(u.id, u.short_name, UnitGroup(u.group).value, (u.name, u.short_name, *aliases.get(u.id, [])))
        for u in sorted(directory.units.values(), key=lambda u: (u.group != UnitGroup.district, u.code)) if u.active
    ]
    items = [ItemText(i.number, i.text, tuple(leads.get(i.id, []))) for i in indicators]
    names = {u.unit_id: u.short_name for u in units}
    return [(names[s.unit_id], s.number, s.why) for s in suggest(items, units)]


def suggestions_csv(rows: list[tuple[str, int, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["单位", "指标", "依据"])
    writer.writerows(rows)
    return out.getvalue()
