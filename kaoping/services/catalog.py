"""The indicator catalog (考评指标): read the official attachment, check it, store it, export it.

The attachment comes as a Word file or as its text, laid out as in the 2022 measures::

    一、政务服务“一网通办”(25分)                      ← area (大项), points required
    (一)一体化政务服务平台建设(3分)                    ← group, points optional
    1 .除涉密……(5月底取得明显成效并持续推进,牵头考核单位:市审批服务局)
    19 .按照自治区要求……(0.5分)(5月底取得阶段性成效并持续推进,牵头考核单位:市审批服务局)

An indicator may run over several paragraphs; it ends with the parenthesis that names its
lead assessors. Anything that is neither a heading nor part of an indicator, once the
first area heading has been seen, is refused by line number — nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import yaml
from sqlmodel import Session, func, select

from kaoping.adapters.uploads import Upload, check_office_zip
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
from kaoping.services import audit
from kaoping.services.registry import UnitDirectory

NUM = r"\d+(?:\.\d+)?"
AREA_RE = re.compile(rf"^([{CHINESE_NUMERALS}]+)、(.+?)\(\s*({NUM})\s*分\s*\)$")
GROUP_RE = re.compile(rf"^\(([{CHINESE_NUMERALS}]+)\)(.+?)(?:\(\s*({NUM})\s*分\s*\))?$")
ITEM_START_RE = re.compile(r"^(\d{1,3})\s*[.、]\s*(?!\d)(.*)$")
ITEM_END_RE = re.compile(
    rf"^(?P<text>.*?)(?:\(\s*(?P<points>{NUM})\s*分\s*\))?"
    r"\((?P<milestone>[^()]*?)[,;]\s*牵头(?:考核)?单位\s*:\s*(?P<leads>[^()]+?)\)\s*[。.;]?$",
    re.S,
)
MILESTONE_MONTH_RE = re.compile(r"(\d{1,2})\s*月")
LEAD_SPLIT_RE = re.compile(r"[、,;]")


# --------------------------------------------------------------------------- drafts


@dataclass
class MilestoneInfo:
    text: str
    month: int | None = None
    kind: MilestoneKind | None = None
    continuing: bool = False

    @classmethod
    def parse(cls, text: str) -> "MilestoneInfo":
        text = text.strip()
        month_match = MILESTONE_MONTH_RE.search(text)
        month = int(month_match.group(1)) if month_match else None
        if month is not None and not 1 <= month <= 12:
            month = None
        head = text.split("并")[0]
        if "完成" in head:
            kind = MilestoneKind.complete
        elif "明显成效" in head:
            kind = MilestoneKind.obvious_effect
        elif "阶段性成效" in head:
            kind = MilestoneKind.phased_effect
        elif "按进度" in head:
            kind = MilestoneKind.on_schedule
        elif "持续" in head:
            kind = MilestoneKind.continuous
        else:
            kind = None
        continuing = "持续" in text and kind not in (MilestoneKind.continuous, None)
        return cls(text=text, month=month, kind=kind, continuing=continuing)

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "month": self.month,
            "kind": self.kind.value if self.kind else None,
            "continuing": self.continuing,
        }


@dataclass
class AreaDraft:
    code: str
    numeral: str
    name: str
    points: Decimal
    where: str = ""


@dataclass
class GroupDraft:
    code: str
    numeral: str
    name: str
    points: Decimal | None
    area_code: str
    where: str = ""


@dataclass
class IndicatorDraft:
    number: int
    text: str
    points: Decimal | None
    milestone: MilestoneInfo
    leads: list[str]  # as written in the source
    area_code: str
    group_code: str
    where: str = ""


@dataclass
class CatalogDraft:
    year: int
    title: str = ""
    areas: list[AreaDraft] = field(default_factory=list)
    groups: list[GroupDraft] = field(default_factory=list)
    indicators: list[IndicatorDraft] = field(default_factory=list)


def _dec(text: str) -> Decimal:
    return Decimal(text).normalize() if "." in text else Decimal(text)


def fraction_str(value: Fraction) -> str:
    """An exact share as decimal text when it has one (1.5, 0.625), else to 4 places (0.6667)."""
    d = value.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    as_decimal = Decimal(value.numerator) / Decimal(value.denominator)
    if d == 1:  # terminating decimal: exact
        return points_str(as_decimal)
    return format(as_decimal.quantize(Decimal("0.0001")), "f")


# --------------------------------------------------------------------------- parsing


def paragraphs_of(upload: Upload) -> list[str]:
    """The paragraphs of the attachment, from a .docx or a text file."""
    if upload.suffix in (".docx", ".docm", ".doc") or upload.data[:4] == b"PK\x03\x04":
        check_office_zip(upload, kind="docx")
        import docx  # python-docx

        try:
            document = docx.Document(io.BytesIO(upload.data))
        except Exception as exc:  # python-docx raises several kinds for broken parts
            raise InvalidInput(f"无法读取 Word 文件 {upload.name}（{exc.__class__.__name__}）：请用 Word/WPS 打开后重新保存再导入。") from exc
        return [p.text for p in document.paragraphs]
    if upload.data[:8] == bytes.fromhex("d0cf11e0a1b11ae1"):
        check_office_zip(upload, kind="docx")  # raises the legacy-format message
    try:
        text = decode_text(upload.data)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"文件 {upload.name} 既不是 Word (.docx) 文件也不是文本文件：请提供考评指标附件的 .docx 或其文字（.txt）。"
        ) from exc
    return [line for line in text.splitlines() if not line.lstrip().startswith("#")]


def parse_attachment(paragraphs: list[str], *, year: int, source: str = "") -> CatalogDraft:
    """Recover areas, groups and indicators from the attachment's paragraphs."""
    draft = CatalogDraft(year=year)
    problems: list[str] = []
    area: AreaDraft | None = None
    group: GroupDraft | None = None
    pending: tuple[int, str, int] | None = None  # (number, text so far, line)
    previous_line = ""

    def finish_pending() -> None:
        nonlocal pending
        if pending is None:
            return
        number, body, line = pending
        pending = None
        match = ITEM_END_RE.match(body)
        if not match:
            problems.append(
                f"第 {line} 行（指标 {number}）：未找到结尾的“(时间节点,牵头考核单位:…)”括号，"
                "请检查该指标的括号是否完整。"
            )
            return
        leads = [fold(x) for x in LEAD_SPLIT_RE.split(match["leads"]) if x.strip()]
        if area is None or group is None:
            problems.append(f"第 {line} 行（指标 {number}）：出现在任何大项和分组标题之前。")
            return
        draft.indicators.append(
            IndicatorDraft(
                number=number,
                text=match["text"].strip(),
                points=_dec(match["points"]) if match["points"] else None,
                milestone=MilestoneInfo.parse(match["milestone"]),
                leads=leads,
                area_code=area.code,
                group_code=group.code,
                where=f"第 {line} 行（指标 {number}）",
            )
        )

    started = False
    for line_no, raw in enumerate(paragraphs, start=1):
        line = fold(raw)
        if not line:
            continue
        area_match = AREA_RE.match(line)
        if not started:
            if not area_match:
                previous_line = line
                continue
            started = True
            draft.title = previous_line if "指标" in previous_line else ""
        if area_match:
            finish_pending()
            numeral = area_match.group(1)
            code = str(parse_chinese_numeral(numeral))
            area = AreaDraft(code, numeral, area_match.group(2).strip(), _dec(area_match.group(3)), f"第 {line_no} 行")
            draft.areas.append(area)
            group = None
            continue
        group_match = GROUP_RE.match(line)
        if group_match:
            finish_pending()
            if area is None:
                problems.append(f"第 {line_no} 行：分组标题出现在大项标题之前。")
                continue
            numeral = group_match.group(1)
            code = f"{area.code}.{parse_chinese_numeral(numeral)}"
            points = _dec(group_match.group(3)) if group_match.group(3) else None
            group = GroupDraft(code, numeral, group_match.group(2).strip(), points, area.code, f"第 {line_no} 行")
            draft.groups.append(group)
            continue
        item_match = ITEM_START_RE.match(line)
        if item_match:
            finish_pending()
            pending = (int(item_match.group(1)), item_match.group(2), line_no)
            continue
        if pending is not None and not ITEM_END_RE.match(pending[1]):
            # A paragraph break inside an indicator's text (common in Word files).
            pending = (pending[0], pending[1] + line, pending[2])
            continue
        problems.append(f"第 {line_no} 行：无法识别“{line[:30]}…”——既不是大项、分组标题，也不是编号指标。")
    finish_pending()
    if not draft.areas:
        raise InvalidInput(
            f"{source or '文件'}中没有找到考评指标：应有形如“一、政务服务“一网通办”(25分)”的大项标题。"
            "请确认导入的是考评办法的附件《考评指标》。"
        )
    if problems:
        raise InvalidInput(f"考评指标 {source} 有 {len(problems)} 处无法识别，未导入任何内容：", problems)
    return draft


def draft_from_export(data: dict, *, year: int, source: str = "") -> CatalogDraft:
    """Read kaoping's own JSON/YAML export back (what ``catalog export`` writes)."""
    try:
        if int(data.get("year", year)) != year:
            raise InvalidInput(f"文件 {source} 是 {data['year']} 年的指标，而导入指定的是 {year} 年：请检查 --year。")
        draft = CatalogDraft(year=year, title=data.get("title", ""))
        for a in data["areas"]:
            numeral = chinese_numeral(int(a["code"]))
            draft.areas.append(AreaDraft(str(a["code"]), numeral, a["name"], Decimal(str(a["points"])), f"大项 {a['code']}"))
            for g in a.get("groups", []):
                p = g.get("points")
                draft.groups.append(
                    GroupDraft(str(g["code"]), chinese_numeral(int(str(g["code"]).split(".")[1])), g["name"],
                               Decimal(str(p)) if p is not None else None, str(a["code"]), f"分组 {g['code']}")
                )
        for i in data["indicators"]:
            p = i.get("points")
            m = i.get("milestone") or {}
            draft.indicators.append(
                IndicatorDraft(
                    number=int(i["number"]), text=i["text"], points=Decimal(str(p)) if p is not None else None,
                    milestone=MilestoneInfo.parse(m.get("text", "") if isinstance(m, dict) else str(m)),
                    leads=list(i["lead_assessors"]), area_code=str(i["area"]), group_code=str(i["group"]),
                    where=f"指标 {i['number']}",
                )
            )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise InvalidInput(f"文件 {source} 不是 kaoping 导出的考评指标格式（{exc!r}）：请导入 .docx/.txt 附件或 `kaoping catalog export` 的输出。") from exc
    return draft


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


# --------------------------------------------------------------------------- checking


def open_item_defaults(draft: CatalogDraft) -> dict[int, tuple[str, Fraction]]:
    """Rule 三(四) before the lead assessor decides: indicator → (container, default points).

    The container is the nearest level with points (the group, else the area); its points
    not already given to items are split equally over its open items. The share is an
    exact fraction (2 points over 3 items is 2/3, not 0.6667), so the shares of a
    container always add up to its points; it is rounded only where it is shown.
    """
    groups = {g.code: g for g in draft.groups}
    result: dict[int, tuple[str, Decimal]] = {}
    by_container: dict[str, list[IndicatorDraft]] = defaultdict(list)
    for ind in draft.indicators:
        g = groups.get(ind.group_code)
        container = ind.group_code if g is not None and g.points is not None else ind.area_code
        by_container[container].append(ind)
    for container, items in by_container.items():
        open_items = [i for i in items if i.points is None]
        if not open_items:
            continue
        if "." in container:
            total = groups[container].points
        else:
            area = next(a for a in draft.areas if a.code == container)
            pointed_groups = sum((g.points for g in draft.groups if g.area_code == container and g.points is not None), Decimal(0))
            total = area.points - pointed_groups
        remaining = total - sum((i.points for i in items if i.points is not None), Decimal(0))
        share = Fraction(remaining) / len(open_items)
        for i in open_items:
            result[i.number] = (container, share)
    return result


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
