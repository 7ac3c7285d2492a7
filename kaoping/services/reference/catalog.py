"""The indicator catalog (考评指标): read the official attachment, check it, store it, export it.

The structure of the attachment and its parsing are the pure rules in ``kaoping.domain.catalog``.
"""


from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

import yaml
from sqlmodel import Session, func, select

from kaoping.adapters.uploads import Upload
from kaoping.adapters.word.paragraphs import paragraphs_of
from kaoping.domain.catalog import (
    AreaDraft,
    CatalogDraft,
    GroupDraft,
    IndicatorDraft,
    MilestoneInfo,
    draft_from_export,
    fraction_str,
    open_item_defaults,
    parse_attachment,
)
from kaoping.domain.errors import Conflict, InvalidInput, NotFound
from kaoping.domain.text import (  # noqa: F401
    CHINESE_NUMERALS,
    chinese_numeral,
    decode_text,
    fold,
    parse_chinese_numeral,
    points_str,
)
from kaoping.models import (
    Area,
    Catalog,
    Cycle,
    CycleStatus,
    Indicator,
    IndicatorGroup,
    IndicatorLead,
    MilestoneKind,
    Unit,
)
from kaoping.records import audit
from kaoping.services.reference.registry import UnitDirectory


def read_catalog_file(upload: Upload, *, year: int) -> CatalogDraft:
    if upload.suffix == ".json":
        try:
            data = json.loads(decode_text(upload.data))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"JSON 文件 {upload.name} 格式错误：{exc}") from exc
        return draft_from_export(data, year=year, source=upload.name)
    if upload.suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(decode_text(upload.data))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InvalidInput(f"YAML 文件 {upload.name} 格式错误：{exc}") from exc
        return draft_from_export(data or {}, year=year, source=upload.name)
    return parse_attachment(paragraphs_of(upload), year=year, source=upload.name)



def check_draft(draft: CatalogDraft, directory: UnitDirectory, *, source: str = "") -> list[str]:
    """Every reason this catalog cannot be used; empty when it is sound."""
    problems: list[str] = []
    # Numbering: areas 一二三…, groups (一)(二)… within an area, indicators 1, 2, 3 …
    for expected, a in enumerate(draft.areas, start=1):
        if a.code != str(expected):
            problems.append(f"{a.where}：大项编号应为“{chinese_numeral(expected)}”，实为“{a.numeral}”（大项缺失或重复）。")
            break
    per_area = Counter()
    for g in draft.groups:
        per_area[g.area_code] += 1
        if g.code != f"{g.area_code}.{per_area[g.area_code]}":
            problems.append(f"{g.where}：分组编号应为“({chinese_numeral(per_area[g.area_code])})”，实为“({g.numeral})”。")
    counts = Counter(i.number for i in draft.indicators)
    for number, n in sorted(counts.items()):
        if n > 1:
            places = "、".join(i.where for i in draft.indicators if i.number == number)
            problems.append(f"指标编号 {number} 重复出现 {n} 次（{places}）：每个指标编号只能出现一次。")
    numbers = sorted(counts)
    missing = sorted(set(range(1, (numbers[-1] if numbers else 0) + 1)) - set(numbers))
    if missing:
        problems.append(f"缺少指标编号 {'、'.join(map(str, missing))}：编号应从 1 连续编排，请检查这些指标是否漏掉或编号有误。")
    if not draft.indicators:
        problems.append("没有找到任何编号指标。")

    # Points: areas total 100; groups within an area; items within a group.
    total = sum((a.points for a in draft.areas), Decimal(0))
    if total != 100:
        detail = " + ".join(f"{points_str(a.points)}" for a in draft.areas)
        problems.append(f"各大项分值合计应为 100 分，实为 {detail} = {points_str(total)} 分。")
    for a in draft.areas:
        groups = [g for g in draft.groups if g.area_code == a.code]
        if not groups:
            problems.append(f"大项“{a.numeral}、{a.name}”下没有分组。")
            continue
        given = sum((g.points for g in groups if g.points is not None), Decimal(0))
        if all(g.points is not None for g in groups):
            if given != a.points:
                problems.append(
                    f"大项“{a.numeral}、{a.name}”({points_str(a.points)}分) 各分组分值合计为 {points_str(given)} 分，应等于大项分值。"
                )
        elif given >= a.points:
            problems.append(
                f"大项“{a.numeral}、{a.name}”({points_str(a.points)}分) 中已标分值的分组合计 {points_str(given)} 分，"
                "未标分值的分组已无分可分。"
            )
    groups = {g.code: g for g in draft.groups}
    for g in draft.groups:
        items = [i for i in draft.indicators if i.group_code == g.code]
        if not items:
            problems.append(f"分组“({g.numeral}){g.name}”下没有指标。")
            continue
        if g.points is None:
            continue
        given = sum((i.points for i in items if i.points is not None), Decimal(0))
        if all(i.points is not None for i in items):
            if given != g.points:
                numbers_text = "、".join(str(i.number) for i in items)
                problems.append(
                    f"分组“({g.numeral}){g.name}”({points_str(g.points)}分) 的指标 {numbers_text} 分值合计为 "
                    f"{points_str(given)} 分，应等于分组分值。"
                )
        elif given >= g.points:
            problems.append(
                f"分组“({g.numeral}){g.name}”({points_str(g.points)}分) 中已标分值的指标合计 {points_str(given)} 分，"
                "未标分值的指标已无分可分。"
            )
    for ind in draft.indicators:
        if ind.group_code not in groups:
            problems.append(f"{ind.where}：所属分组 {ind.group_code} 不存在。")
        if ind.points is not None and ind.points <= 0:
            problems.append(f"{ind.where}：分值必须大于 0。")
        if not ind.leads:
            problems.append(f"{ind.where}：没有牵头考核单位。")
        for written in ind.leads:
            if directory.find(written) is None:
                problems.append(f"{ind.where}：{directory.unknown_message(written)}")
        if not ind.text.strip():
            problems.append(f"{ind.where}：指标内容为空。")
    return problems



# --------------------------------------------------------------------------- export form


def draft_as_export(draft: CatalogDraft, directory: UnitDirectory) -> dict:
    """The canonical export: leads by full name, points as exact strings or null."""
    defaults = open_item_defaults(draft)
    return {
        "year": draft.year,
        "title": draft.title,
        "areas": [
            {
                "code": a.code,
                "name": a.name,
                "points": points_str(a.points),
                "groups": [
                    {"code": g.code, "name": g.name, "points": points_str(g.points)}
                    for g in draft.groups
                    if g.area_code == a.code
                ],
            }
            for a in draft.areas
        ],
        "indicators": [
            {
                "number": i.number,
                "area": i.area_code,
                "group": i.group_code,
                "text": i.text,
                "points": points_str(i.points),
                "default_points": fraction_str(defaults[i.number][1]) if i.number in defaults else None,
                "points_container": defaults[i.number][0] if i.number in defaults else None,
                "milestone": i.milestone.as_dict(),
                "lead_assessors": [directory.resolve(w).name for w in i.leads],
            }
            for i in draft.indicators
        ],
    }


def content_hash(export: dict) -> str:
    return hashlib.sha256(audit.canonical_json(export).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- store


@dataclass
class CatalogImportResult:
    catalog: Catalog
    created: bool  # False: the same catalog was already current (no-op)
    export: dict


def current_catalog(session: Session, year: int) -> Catalog | None:
    return session.exec(select(Catalog).where(Catalog.year == year).order_by(Catalog.version.desc()).limit(1)).first()


def require_catalog(session: Session, year: int) -> Catalog:
    catalog = current_catalog(session, year)
    if catalog is None:
        raise NotFound(f"{year} 年的考评指标尚未导入：请先运行 `kaoping catalog import 指标附件.docx --year {year}`。")
    return catalog


def import_catalog(session: Session, upload: Upload, *, year: int, actor: str) -> CatalogImportResult:
    """Parse, check and store a catalog in the caller's transaction (all or nothing)."""
    draft = read_catalog_file(upload, year=year)
    directory = UnitDirectory.load(session)
    problems = check_draft(draft, directory, source=upload.name)
    if problems:
        raise InvalidInput(f"考评指标 {upload.name} 未通过检查（{len(problems)} 处问题），未导入任何内容：", problems)
    export = draft_as_export(draft, directory)
    digest = content_hash(export)
    current = current_catalog(session, year)
    if current is not None and current.content_sha256 == digest:
        return CatalogImportResult(current, False, export)
    if current is not None:
        using = session.exec(
            select(Cycle).where(Cycle.year == year, Cycle.status != CycleStatus.closed)
        ).all()
        if using:
            codes = "、".join(c.code for c in using)
            raise Conflict(
                f"{year} 年的考评指标正被进行中的考评周期 {codes} 使用，不能导入修改后的指标。"
                "如确需修改，请先结束该周期；已开启的周期始终按开启时的指标快照计算。"
            )
    catalog = Catalog(
        year=year,
        version=(current.version + 1) if current else 1,
        title=draft.title,
        content_sha256=digest,
        source_name=upload.name,
        source_sha256=upload.sha256,
        imported_by=actor,
    )
    session.add(catalog)
    session.flush()
    # One flush per level (areas, groups, indicators, leads): ids come back for the whole batch.
    areas = {a.code: Area(catalog_id=catalog.id, code=a.code, numeral=a.numeral, name=a.name, points=a.points,
                          position=position) for position, a in enumerate(draft.areas)}
    session.add_all(areas.values())
    session.flush()
    groups = {g.code: IndicatorGroup(catalog_id=catalog.id, area_id=areas[g.area_code].id, code=g.code, numeral=g.numeral,
                                     name=g.name, points=g.points, position=position)
              for position, g in enumerate(draft.groups)}
    session.add_all(groups.values())
    session.flush()
    rows = [
        Indicator(
            catalog_id=catalog.id, area_id=areas[i.area_code].id, group_id=groups[i.group_code].id,
            number=i.number, text=i.text, points=i.points, milestone_raw=i.milestone.text,
            milestone_month=i.milestone.month, milestone_kind=i.milestone.kind,
            milestone_continuing=i.milestone.continuing,
        )
        for i in draft.indicators
    ]
    session.add_all(rows)
    session.flush()
    session.add_all(
        IndicatorLead(indicator_id=row.id, unit_id=directory.resolve(written).id, position=position, written_as=written)
        for row, i in zip(rows, draft.indicators, strict=True)
        for position, written in enumerate(i.leads)
    )
    session.flush()
    audit.append(
        session, actor=actor, action="catalog.import", entity=f"catalog:{year}/v{catalog.version}",
        before={"version": current.version, "sha256": current.content_sha256} if current else None,
        after={"version": catalog.version, "sha256": digest, "areas": len(draft.areas),
               "indicators": len(draft.indicators), "source": upload.name, "source_sha256": upload.sha256},
        reason=f"导入 {upload.name}",
    )
    return CatalogImportResult(catalog, True, export)


def catalog_draft(session: Session, catalog: Catalog) -> CatalogDraft:
    """A stored catalog version back in draft form (leads by full name)."""
    areas = session.exec(select(Area).where(Area.catalog_id == catalog.id).order_by(Area.position)).all()
    groups = session.exec(select(IndicatorGroup).where(IndicatorGroup.catalog_id == catalog.id).order_by(IndicatorGroup.position)).all()
    indicators = session.exec(select(Indicator).where(Indicator.catalog_id == catalog.id).order_by(Indicator.number)).all()
    leads: dict[int, list[str]] = defaultdict(list)
    for indicator_id, name in session.exec(
        select(IndicatorLead.indicator_id, Unit.name).join(Indicator, Indicator.id == IndicatorLead.indicator_id)
        .join(Unit, Unit.id == IndicatorLead.unit_id)
        .where(Indicator.catalog_id == catalog.id).order_by(IndicatorLead.position)
    ):
        leads[indicator_id].append(name)
    area_code = {a.id: a.code for a in areas}
    group_code = {g.id: g.code for g in groups}
    return CatalogDraft(
        year=catalog.year,
        title=catalog.title,
        areas=[AreaDraft(a.code, a.numeral, a.name, a.points) for a in areas],
        groups=[GroupDraft(g.code, g.numeral, g.name, g.points, area_code[g.area_id]) for g in groups],
        indicators=[
            IndicatorDraft(
                number=i.number, text=i.text, points=i.points,
                milestone=MilestoneInfo(i.milestone_raw, i.milestone_month,
                                        MilestoneKind(i.milestone_kind) if i.milestone_kind else None,
                                        i.milestone_continuing),
                leads=leads[i.id],
                area_code=area_code[i.area_id], group_code=group_code[i.group_id],
            )
            for i in indicators
        ],
    )


def export_catalog(session: Session, year: int) -> dict:
    """The stored catalog in the export form (identical to what its import produced)."""
    catalog = require_catalog(session, year)
    draft = catalog_draft(session, catalog)
    return draft_as_export(draft, UnitDirectory(list(session.exec(select(Unit))), []))


def dump_export(export: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(export, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(export, allow_unicode=True, sort_keys=False, width=1000)
    raise InvalidInput(f"不支持的格式 {fmt!r}：请用 json 或 yaml。")


@dataclass
class CatalogSummary:
    year: int
    version: int
    title: str
    areas: list[tuple[str, str, Decimal, int]]  # (numeral, name, points, indicators)
    indicators: int
    open_items: int
    leads: list[tuple[str, int]]  # (short name, indicators led), most first


def summarize(session: Session, year: int) -> CatalogSummary:
    catalog = require_catalog(session, year)
    areas = session.exec(select(Area).where(Area.catalog_id == catalog.id).order_by(Area.position)).all()
    per_area = dict(
        session.exec(
            select(Indicator.area_id, func.count()).where(Indicator.catalog_id == catalog.id).group_by(Indicator.area_id)
        ).all()
    )
    open_items = session.exec(
        select(func.count()).select_from(Indicator).where(Indicator.catalog_id == catalog.id, Indicator.points.is_(None))
    ).one()
    lead_rows = session.exec(
        select(Unit.short_name, Unit.position, func.count())
        .join(IndicatorLead, IndicatorLead.unit_id == Unit.id)
        .join(Indicator, Indicator.id == IndicatorLead.indicator_id)
        .where(Indicator.catalog_id == catalog.id)
        .group_by(Unit.short_name, Unit.position)
    ).all()
    leads = sorted(((name, n) for name, _pos, n in lead_rows), key=lambda x: (-x[1], x[0]))
    return CatalogSummary(
        year=year,
        version=catalog.version,
        title=catalog.title,
        areas=[(a.numeral, a.name, a.points, per_area.get(a.id, 0)) for a in areas],
        indicators=sum(per_area.values()),
        open_items=open_items,
        leads=leads,
    )
