"""The unit registry (考评对象名录): import, list, and resolve the many ways a unit is written."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import yaml
from email_validator import EmailNotValidError
from sqlmodel import Session, delete, select

from kaoping.adapters.uploads import Upload
from kaoping.domain.errors import InvalidInput, NotFound
from kaoping.domain.text import closest, decode_text, fold, name_key, normalize_email
from kaoping.models import Contact, ContactRole, Unit, UnitAlias, UnitGroup
from kaoping.domain.vocabulary import UnitStanding
from kaoping.records import audit

#: how a registry file may write a unit's standing (issue 27)
STANDING_WORDS = {
    "ranked": UnitStanding.ranked, "参与排名": UnitStanding.ranked, "排名": UnitStanding.ranked,
    "listed": UnitStanding.listed, "列示不排名": UnitStanding.listed, "列示": UnitStanding.listed,
    "not_assessed": UnitStanding.not_assessed, "不参加考评": UnitStanding.not_assessed,
}

GROUP_WORDS = {
    "district": UnitGroup.district,
    "旗县区": UnitGroup.district,
    "旗县区、稀土高新区": UnitGroup.district,
    "地区": UnitGroup.district,
    "department": UnitGroup.department,
    "部门": UnitGroup.department,
    "市直部门": UnitGroup.department,
    "市直部门、单位": UnitGroup.department,
}



# --------------------------------------------------------------------------- resolving


class UnitDirectory:
    """Every name a unit goes by (code, full name, short name, aliases) → the unit."""

    def __init__(self, units: list[Unit], aliases: list[UnitAlias]):
        self.units = {u.id: u for u in units}
        self._by_key: dict[str, int] = {}
        for u in units:
            for written in (u.code, u.name, u.short_name):
                self._by_key.setdefault(name_key(written), u.id)
        for a in aliases:
            self._by_key.setdefault(name_key(a.alias), a.unit_id)

    @classmethod
    def load(cls, session: Session) -> "UnitDirectory":
        return cls(list(session.exec(select(Unit))), list(session.exec(select(UnitAlias))))

    def find(self, written: str) -> Unit | None:
        unit_id = self._by_key.get(name_key(written))
        return self.units.get(unit_id) if unit_id is not None else None

    def suggestions(self, written: str) -> list[str]:
        names = [u.name for u in self.units.values()] + [u.short_name for u in self.units.values()]
        by_name = {n: u for u in self.units.values() for n in (u.name, u.short_name)}
        seen: list[str] = []
        for match in closest(written, names, n=5):
            label = f"{by_name[match].short_name}（{by_name[match].name}）"
            if label not in seen:
                seen.append(label)
        return seen[:3]

    def unknown_message(self, written: str) -> str:
        hint = self.suggestions(written)
        tip = f"最接近的已知单位：{'、'.join(hint)}" if hint else "名录中没有相近的单位"
        return (
            f"单位“{written}”不在考评对象名录中（{tip}）。请改用名录中的名称，"
            f"或用 `kaoping units import` 为该单位添加别名。 / Unknown unit {written!r}."
        )

    def resolve(self, written: str) -> Unit:
        unit = self.find(written)
        if unit is None:
            raise NotFound(self.unknown_message(written))
        return unit


# --------------------------------------------------------------------------- importing


@dataclass
class ContactDraft:
    role: ContactRole
    name: str
    email: str
    phone: str = ""


@dataclass
class UnitDraft:
    code: str
    name: str
    short_name: str
    group: UnitGroup
    aliases: list[str] = field(default_factory=list)
    contacts: list[ContactDraft] = field(default_factory=list)
    where: str = ""  # "第 3 行" / "第 3 个单位", for messages
    standing: UnitStanding = UnitStanding.ranked

    def as_record(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "short_name": self.short_name,
            "group": self.group.value,
            **({"standing": self.standing.value} if self.standing != UnitStanding.ranked else {}),
            "aliases": sorted(self.aliases),
            "contacts": sorted(
                ({"role": c.role.value, "name": c.name, "email": c.email, "phone": c.phone} for c in self.contacts),
                key=lambda c: (c["role"], c["email"]),
            ),
        }


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _split_aliases(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [fold(str(v)) for v in value if str(v).strip()]
    parts = str(value).replace("；", ";").replace("、", ";").replace("|", ";").replace(",", ";").replace("，", ";")
    return [fold(p) for p in parts.split(";") if p.strip()]


def _rows_from_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    headers = {
        "code": "code", "代码": "code", "单位代码": "code",
        "name": "name", "全称": "name", "单位全称": "name", "名称": "name", "单位名称": "name",
        "short_name": "short_name", "简称": "short_name",
        "group": "group", "类别": "group", "分组": "group",
        "standing": "standing", "排名": "standing", "考评方式": "standing",
        "aliases": "aliases", "别名": "aliases",
        "liaison_name": "liaison_name", "联络员": "liaison_name",
        "liaison_email": "liaison_email", "联络员邮箱": "liaison_email",
        "head_name": "head_name", "负责人": "head_name",
        "head_email": "head_email", "负责人邮箱": "head_email",
    }
    if not reader.fieldnames:
        raise InvalidInput("CSV 文件没有表头行：第一行应为 代码,全称,简称,类别,别名,联络员,联络员邮箱,负责人,负责人邮箱。")
    unknown = [h for h in reader.fieldnames if h and fold(h) not in headers]
    if unknown:
        raise InvalidInput(
            f"CSV 表头中有无法识别的列：{'、'.join(unknown)}。可用的列：代码,全称,简称,类别,考评方式,别名,联络员,联络员邮箱,负责人,负责人邮箱"
            "（或英文 code,name,short_name,group,standing,aliases,liaison_name,liaison_email,head_name,head_email）。"
        )
    rows = []
    for raw in reader:
        row = {headers[fold(k)]: (v or "").strip() for k, v in raw.items() if k}
        contacts = []
        for role in ("liaison", "head"):
            if row.get(f"{role}_email"):
                contacts.append({"role": role, "name": row.get(f"{role}_name", ""), "email": row[f"{role}_email"]})
        row["contacts"] = contacts
        rows.append(row)
    return rows


def parse_registry(upload: Upload) -> list[UnitDraft]:
    """Read a registry file (YAML or CSV) into drafts, listing every problem at once."""
    try:
        text = decode_text(upload.data)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"文件 {upload.name} 不是文本文件（既不是 UTF-8 也不是 GBK 编码）：请另存为 UTF-8 编码的 CSV 或 YAML。") from exc
    if not text.strip():
        raise InvalidInput(f"文件 {upload.name} 没有内容。")
    if upload.suffix == ".csv":
        rows = _rows_from_csv(text)
        where = [f"第 {i} 行" for i in range(2, len(rows) + 2)]
    elif upload.suffix in (".yaml", ".yml"):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"YAML 格式错误：{exc}。请检查缩进和冒号。") from exc
        rows = doc.get("units") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise InvalidInput("YAML 文件应包含 units: 列表，每个单位一项（code, name, short_name, group, aliases, contacts）。")
        where = [f"第 {i} 个单位" for i in range(1, len(rows) + 1)]
    else:
        raise InvalidInput(f"不支持的文件类型 {upload.suffix or '（无扩展名）'}：单位名录请用 .yaml 或 .csv 文件。")

    problems: list[str] = []
    drafts: list[UnitDraft] = []
    for place, row in zip(where, rows, strict=True):
        if not isinstance(row, dict):
            problems.append(f"{place}：格式不对，应为包含 code、name 等字段的一项。")
            continue
        code = fold(str(row.get("code") or ""))
        name = fold(str(row.get("name") or ""))
        short = fold(str(row.get("short_name") or "")) or name
        label = f"{place}（{name or code or '?'}）"
        if not code:
            problems.append(f"{label}：缺少单位代码 code。")
        if not name:
            problems.append(f"{label}：缺少单位全称 name。")
        group = GROUP_WORDS.get(fold(str(row.get("group") or "")))
        if group is None:
            problems.append(f"{label}：类别“{row.get('group', '')}”无效，应为 district（旗县区）或 department（部门）。")
            group = UnitGroup.department
        contacts: list[ContactDraft] = []
        for c in row.get("contacts") or []:
            role_word = fold(str(c.get("role") or ""))
            role = {"liaison": ContactRole.liaison, "联络员": ContactRole.liaison,
                    "head": ContactRole.head, "负责人": ContactRole.head}.get(role_word)
            if role is None:
                problems.append(f"{label}：联系人角色“{role_word}”无效，应为 liaison（联络员）或 head（负责人）。")
                continue
            address = str(c.get("email") or "")
            try:
                email = normalize_email(address)
            except EmailNotValidError as exc:
                problems.append(f"{label}：{role.label}邮箱“{address}”无效（{exc}）。请更正该单位的邮箱地址。")
                continue
            contacts.append(ContactDraft(role, fold(str(c.get("name") or "")), email, fold(str(c.get("phone") or ""))))
        standing_word = fold(str(row.get("standing") or "")) or "ranked"
        standing = STANDING_WORDS.get(standing_word)
        if standing is None:
            problems.append(f"{label}：考评方式 standing“{standing_word}”无效，应为 ranked（参与排名）、listed（列示不排名）"
                            "或 not_assessed（不参加考评）。")
            standing = UnitStanding.ranked
        drafts.append(UnitDraft(code, name, short, group, _split_aliases(row.get("aliases")), contacts, label, standing))

    problems += _duplicates_and_lengths(drafts)
    # Every name must point at one unit only.
    owner: dict[str, str] = {}
    for d in drafts:
        for written in dict.fromkeys([d.code, d.name, d.short_name, *d.aliases]):
            key = name_key(written)
            if key and key in owner and owner[key] != d.code:
                problems.append(f"{d.where}：名称或别名“{written}”已用于单位 {owner[key]}，同一名称不能指向两个单位。")
            owner.setdefault(key, d.code)
    if problems:
        raise InvalidInput(f"单位名录 {upload.name} 有 {len(problems)} 处问题，未导入任何内容：", problems)
    return drafts


#: the longest value each field of the registry may hold (the database's column sizes)
LIMITS = {"单位代码": 32, "全称": 128, "简称": 64, "别名": 128, "联系人姓名": 64, "电话": 32}


def _duplicates_and_lengths(drafts: list[UnitDraft]) -> list[str]:
    """A code on two rows (which of them is the unit?), one contact listed twice, a value longer than
    the registry can hold: each named with its row, so nothing is half-imported."""
    problems: list[str] = []
    first: dict[str, str] = {}
    for d in drafts:
        if d.code in first:
            problems.append(f"{d.where}：单位代码“{d.code}”与{first[d.code]}重复。每个单位在名录中只能有一行：请删去重复的一行，"
                            "或把其中一个改为正确的代码。")
        first.setdefault(d.code, d.where)
        values = [("单位代码", d.code), ("全称", d.name), ("简称", d.short_name), *(("别名", a) for a in d.aliases),
                  *(("联系人姓名", c.name) for c in d.contacts), *(("电话", c.phone) for c in d.contacts)]
        for field_name, value in values:
            if len(value) > LIMITS[field_name]:
                problems.append(f"{d.where}：{field_name}“{value[:20]}…”有 {len(value)} 个字，超过 {LIMITS[field_name]} 个字的上限："
                                "请检查是否把几列内容写进了一格。")
        seen: set[tuple] = set()
        for c in d.contacts:
            if (c.role, c.email) in seen:
                problems.append(f"{d.where}：{c.role.label}邮箱 {c.email} 写了两次：请删去重复的一项。")
            seen.add((c.role, c.email))
    return problems


def _record_of(session: Session, unit: Unit) -> dict:
    aliases = session.exec(select(UnitAlias.alias).where(UnitAlias.unit_id == unit.id)).all()
    contacts = session.exec(select(Contact).where(Contact.unit_id == unit.id)).all()
    return UnitDraft(
        unit.code, unit.name, unit.short_name, UnitGroup(unit.group), list(aliases),
        [ContactDraft(ContactRole(c.role), c.name, c.email, c.phone) for c in contacts], "",
        UnitStanding(unit.standing or "ranked"),
    ).as_record()


def import_registry(session: Session, upload: Upload, *, actor: str) -> ImportSummary:
    """Create or update units by code (units absent from the file are left as they are)."""
    drafts = parse_registry(upload)
    existing = {u.code: u for u in session.exec(select(Unit))}
    taken = {name_key(w): u.code for u in existing.values() for w in (u.name, u.short_name)}
    taken.update(
        {name_key(a.alias): next(u.code for u in existing.values() if u.id == a.unit_id)
         for a in session.exec(select(UnitAlias))}
    )
    incoming = {d.code for d in drafts}
    problems = []
    for d in drafts:
        for written in (d.name, d.short_name, *d.aliases):
            other = taken.get(name_key(written))
            if other and other != d.code and other not in incoming:
                problems.append(f"{d.where}：名称或别名“{written}”已属于名录中的单位 {other}。")
    if problems:
        raise InvalidInput(f"单位名录 {upload.name} 与已有名录冲突，未导入任何内容：", problems)

    summary = ImportSummary()
    for position, d in enumerate(drafts, start=1):
        unit = existing.get(d.code)
        if unit is None:
            unit = Unit(code=d.code, name=d.name, short_name=d.short_name, group=d.group, position=position,
                        standing=d.standing)
            session.add(unit)
            session.flush()
            before = None
            summary.created.append(d.short_name)
        else:
            before = _record_of(session, unit)
            if before == d.as_record() and unit.position == position:
                summary.unchanged.append(d.short_name)
                continue
            unit.name, unit.short_name, unit.group, unit.position = d.name, d.short_name, d.group, position
            unit.standing = d.standing
            session.exec(delete(UnitAlias).where(UnitAlias.unit_id == unit.id))
            session.exec(delete(Contact).where(Contact.unit_id == unit.id))
            session.flush()
            summary.updated.append(d.short_name)
        for alias in dict.fromkeys(a for a in d.aliases if name_key(a) not in {name_key(d.name), name_key(d.short_name)}):
            session.add(UnitAlias(alias=alias, unit_id=unit.id))
        for c in d.contacts:
            session.add(Contact(unit_id=unit.id, role=c.role, name=c.name, email=c.email, phone=c.phone))
        session.flush()
        if before != d.as_record():
            audit.append(
                session, actor=actor, action="unit.create" if before is None else "unit.update",
                entity=f"unit:{d.code}", before=before, after=d.as_record(), reason=f"导入 {upload.name}",
            )
    return summary


def list_units(session: Session, group: UnitGroup | None = None) -> list[Unit]:
    query = select(Unit).order_by(Unit.group.desc(), Unit.position, Unit.code)
    if group is not None:
        query = query.where(Unit.group == group)
    return list(session.exec(query))



def aliases_and_liaisons(session: Session) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Each unit's aliases and its 联络员 addresses (unit id → list), for listing the registry."""
    aliases: dict[int, list[str]] = {}
    liaisons: dict[int, list[str]] = {}
    for a in session.exec(select(UnitAlias)):
        aliases.setdefault(a.unit_id, []).append(a.alias)
    for c in session.exec(select(Contact)):
        if c.role == "liaison":
            liaisons.setdefault(c.unit_id, []).append(c.email)
    return aliases, liaisons
