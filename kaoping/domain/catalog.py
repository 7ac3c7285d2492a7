"""The indicator catalog (考评指标) as text: recover its structure from the official attachment.

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

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import (  # noqa: F401
    CHINESE_NUMERALS,
    chinese_numeral,
    decode_text,
    fold,
    parse_chinese_numeral,
    points_str,
)
from kaoping.domain.vocabulary import MilestoneKind

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


