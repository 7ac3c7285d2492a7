"""Score entry: the one service every channel uses (files now, Word sheets and the intake
flow later) to record lead-assessor item scores, component scores and point allocations.

Each call checks everything first and lists every problem by row; only a fully valid
batch is written, in the caller's transaction. A value replaced by a later one from the
same source stays in the history (``current = False``); identical values are not written
again, so re-importing a file changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from functools import cached_property

from sqlalchemy import insert, update
from sqlmodel import Session, select

from kaoping.adapters.spreadsheets import Row, parse_score, read_table
from kaoping.domain.errors import InvalidInput
from kaoping.domain.scoring import (
    FULL_MARKS_WORD,
    fmt_exact,
    full_marks_hint,
    points_text,
    printed_points,
    ranges,
    within_points,
)
from kaoping.domain.text import fold
from kaoping.models import (
    Area,
    Component,
    ComponentScore,
    Cycle,
    CycleResponsibility,
    CycleUnit,
    Indicator,
    IndicatorGroup,
    IndicatorLead,
    LeadScore,
    PointsAllocation,
    Unit,
)
from kaoping.models.types import utcnow
from kaoping.records import audit
from kaoping.services.cycles.cycle import require_open
from kaoping.services.cycles.points import (
    ItemPoints,
    allocation_states,
    points_in_force,
)
from kaoping.services.reference.registry import UnitDirectory

MAX_PLACES = 4


@dataclass(frozen=True)
class LeadScoreEntry:
    unit_id: int
    indicator_id: int
    lead_unit_id: int
    score: Decimal
    note: str = ""
    where: str = ""  # "第 3 行" — for messages


@dataclass(frozen=True)
class ComponentScoreEntry:
    unit_id: int
    score: Decimal
    note: str = ""
    where: str = ""


@dataclass
class EntrySummary:
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    changes: list[dict] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.replaced)


class CycleContext:
    """What validation needs about a cycle, loaded once per batch."""

    def __init__(self, session: Session, cycle: Cycle):
        self.cycle = cycle
        self._session = session
        self._names: dict[int, str] = {}

    # Everything is loaded when first used: one returned visit record (a single unit's score) needs none of
    # it but that unit's name, and at province scale loading all of it took ~40 ms for each file taken in.
    @cached_property
    def units(self) -> dict[int, CycleUnit]:
        return {u.unit_id: u for u in self._session.exec(select(CycleUnit).where(CycleUnit.cycle_id == self.cycle.id)
                                                         .order_by(CycleUnit.position))}

    @cached_property
    def directory(self) -> UnitDirectory:
        return UnitDirectory.load(self._session)

    @cached_property
    def indicator_by_id(self) -> dict[int, Indicator]:
        return {i.id: i for i in self._session.exec(select(Indicator).where(Indicator.catalog_id == self.cycle.catalog_id))}

    @cached_property
    def indicator_by_number(self) -> dict[int, Indicator]:
        return {i.number: i for i in self.indicator_by_id.values()}

    @cached_property
    def leads(self) -> dict[int, list[int]]:
        leads: dict[int, list[int]] = defaultdict(list)
        for lead in self._session.exec(select(IndicatorLead).join(Indicator)
                                       .where(Indicator.catalog_id == self.cycle.catalog_id).order_by(IndicatorLead.position)):
            leads[lead.indicator_id].append(lead.unit_id)
        return leads

    def _pairs(self, *where) -> set[tuple[int, int]]:
        # Plain tuples, not SQLAlchemy rows: sorting 49,210 rows compares them in Python (~0.4 s for the forms' view).
        return set(map(tuple, self._session.exec(
            select(CycleResponsibility.unit_id, CycleResponsibility.indicator_id)
            .where(CycleResponsibility.cycle_id == self.cycle.id, *where)).all()))

    @cached_property
    def pairs(self) -> set[tuple[int, int]]:
        """Every (unit, indicator) the cycle's units undertake (49,210 at province scale)."""
        return self._pairs()

    def pairs_of(self, indicator_ids: set[int]) -> set[tuple[int, int]]:
        """The (unit, indicator) pairs of these indicators: all of them if loaded already, else just these (a
        lead's sheet covers a few indicators; the cycle's 49,210 pairs took ~0.25 s to load for each sheet)."""
        if "pairs" in self.__dict__:
            return self.pairs
        return set().union(*(self._pairs(CycleResponsibility.indicator_id.in_(chunk))
                             for chunk in _chunks(sorted(indicator_ids), 500)))

    @cached_property
    def points(self) -> dict[int, ItemPoints]:
        return points_in_force(self._session, self.cycle)

    def name(self, unit_id: int) -> str:
        if unit_id not in self._names:
            if "units" in self.__dict__ or len(self._names) >= 20:
                unit = self.units.get(unit_id)
            else:  # a few names: a row each, not the cycle's every unit (a visit record needs one)
                unit = self._session.exec(select(CycleUnit).where(CycleUnit.cycle_id == self.cycle.id,
                                                                  CycleUnit.unit_id == unit_id)).first()
            unit = unit or self.directory.units.get(unit_id)
            self._names[unit_id] = unit.short_name if unit else str(unit_id)
        return self._names[unit_id]

    def cycle_unit(self, written: str, where: str, column: str, problems: list[str]) -> int | None:
        if not written:
            problems.append(f"{where}“{column}”列：为空。")
            return None
        unit = self.directory.find(written)
        if unit is None:
            problems.append(f"{where}“{column}”列：{self.directory.unknown_message(written)}")
            return None
        if unit.id not in self.units:
            problems.append(f"{where}“{column}”列：{unit.short_name} 不是 {self.cycle.code} 的考评对象。")
            return None
        return unit.id


def parse_item_score(text: str, points) -> Decimal:
    """A lead assessor's item score as written: a number, or “满分” (the item's points as printed)."""
    if points is not None and fold(str(text)).replace(" ", "") == FULL_MARKS_WORD:
        return printed_points(points)
    return parse_score(text)


def _places_ok(value: Decimal) -> bool:
    return -value.as_tuple().exponent <= MAX_PLACES if value.as_tuple().exponent < 0 else True


# --------------------------------------------------------------------------- lead scores


def record_lead_scores(
    session: Session, cycle: Cycle, entries: list[LeadScoreEntry], *, source: str, actor: str,
    received_file_id: int | None = None, context: CycleContext | None = None,
) -> EntrySummary:
    """Record monitoring item scores s(u, i) by lead assessors (日常监测)."""
    require_open(cycle)
    ctx = context or CycleContext(session, cycle)
    problems, seen = validate_lead_entries(ctx, entries)
    if problems:
        raise InvalidInput(f"{source}：有 {len(problems)} 处问题，未录入任何分数：", problems)

    # The current scores of the batch's leads only (a lead's sheet: its own), as plain rows: at province scale
    # the cycle holds ~50,000 and loading them all as objects took ~0.1 s for each sheet taken in.
    leads = sorted({key[2] for key in seen})
    current = {
        (s.unit_id, s.indicator_id, s.lead_unit_id): s
        for chunk in _chunks(leads, 500)
        for s in session.execute(
            select(LeadScore.id, LeadScore.unit_id, LeadScore.indicator_id, LeadScore.lead_unit_id, LeadScore.score,
                   LeadScore.note)
            .where(LeadScore.cycle_id == cycle.id, LeadScore.current, LeadScore.lead_unit_id.in_(chunk)))
    }
    summary = EntrySummary()
    now = utcnow()
    new_rows, superseded = [], []
    for key, e in seen.items():
        old = current.get(key)
        if old is not None and old.score == e.score and old.note == e.note:
            summary.unchanged += 1
            continue
        if old is not None:
            superseded.append(old.id)
            summary.replaced += 1
            summary.changes.append({
                "unit": ctx.name(e.unit_id), "indicator": ctx.indicator_by_id[e.indicator_id].number,
                "lead": ctx.name(e.lead_unit_id), "before": old.score, "after": e.score,
            })
        else:
            summary.created += 1
        new_rows.append({
            "cycle_id": cycle.id, "unit_id": e.unit_id, "indicator_id": e.indicator_id, "lead_unit_id": e.lead_unit_id,
            "score": e.score, "note": e.note, "source": source[:255], "received_file_id": received_file_id,
            "entered_at": now, "entered_by": actor, "current": True,
        })
    for chunk in _chunks(superseded, 500):
        session.execute(update(LeadScore).where(LeadScore.id.in_(chunk)).values(current=False, superseded_at=now))
    if new_rows:
        session.execute(insert(LeadScore), new_rows)
    if summary.changed:
        audit.append(
            session, actor=actor, action="scores.monitoring", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
            after={"source": source, "created": summary.created, "replaced": summary.replaced,
                   "unchanged": summary.unchanged, "received_file_id": received_file_id},
            before={"replaced": summary.changes} if summary.changes else None,
            reason=f"录入日常监测评分：{source}",
        )
    return summary


def validate_lead_entries(ctx: CycleContext, entries: list[LeadScoreEntry]) -> tuple[list[str], dict]:
    """Every problem of a batch of lead scores, and the batch keyed by (unit, indicator, lead)."""
    problems: list[str] = []
    seen: dict[tuple[int, int, int], LeadScoreEntry] = {}
    pairs = ctx.pairs_of({e.indicator_id for e in entries})
    for e in entries:
        number = ctx.indicator_by_id[e.indicator_id].number
        label = f"{e.where}（{ctx.name(e.unit_id)}，指标 {number}）"
        if (e.unit_id, e.indicator_id) not in pairs:
            problems.append(f"{label}：{ctx.name(e.unit_id)} 在本周期不承担指标 {number}，不应评分。")
        if e.lead_unit_id not in ctx.leads[e.indicator_id]:
            leads = "、".join(ctx.name(u) for u in ctx.leads[e.indicator_id])
            problems.append(f"{label}：{ctx.name(e.lead_unit_id)} 不是指标 {number} 的牵头考核单位（应为 {leads}）。")
        points = ctx.points[e.indicator_id]
        if not within_points(e.score, points.points):
            basis = {"given": "指标分值", "allocated": "牵头考核单位明确的分值", "default": "未明确分值前的平均分配分值"}[points.basis]
            hint = full_marks_hint(points.points)
            problems.append(f"{label}：得分 {e.score} 超出范围，应在 0 到 {points_text(points.points)} 分之间（{basis}）"
                            + (f"；{hint}" if hint else "") + "。")
        if not _places_ok(e.score):
            problems.append(f"{label}：得分 {e.score} 小数位过多，最多保留 {MAX_PLACES} 位小数。")
        key = (e.unit_id, e.indicator_id, e.lead_unit_id)
        if key in seen and (seen[key].score != e.score or seen[key].note != e.note):
            problems.append(f"{label}：与{seen[key].where}重复，但分数或说明不同；请只保留一行。")
        seen[key] = e
    return problems, seen


def validate_component_entries(component: Component, ctx: CycleContext, entries: list[ComponentScoreEntry]) -> tuple[list[str], dict]:
    problems: list[str] = []
    seen: dict[int, ComponentScoreEntry] = {}
    for e in entries:
        label = f"{e.where}（{ctx.name(e.unit_id)}）"
        if not 0 <= e.score <= 100:
            problems.append(f"{label}：得分 {e.score} 超出范围，{component.label}得分应在 0 到 100 之间。")
        if not _places_ok(e.score):
            problems.append(f"{label}：得分 {e.score} 小数位过多，最多保留 {MAX_PLACES} 位小数。")
        if e.unit_id in seen and (seen[e.unit_id].score != e.score or seen[e.unit_id].note != e.note):
            problems.append(f"{label}：与{seen[e.unit_id].where}是同一单位，但分数或说明不同；请只保留一行。")
        seen[e.unit_id] = e
    return problems, seen


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def lead_entries_from_rows(ctx: CycleContext, rows: list[Row], problems: list[str]) -> list[LeadScoreEntry]:
    """Monitoring rows: 单位, 指标, 牵头考核单位, 得分, 说明."""
    entries = []
    for row in rows:
        where = f"第 {row.line} 行"
        unit_id = ctx.cycle_unit(row.values.get("unit", ""), where, "单位", problems)
        number_text = row.values.get("indicator", "")
        indicator = None
        try:
            indicator = ctx.indicator_by_number.get(int(number_text))
        except ValueError:
            pass
        if indicator is None:
            problems.append(f"{where}“指标”列：“{number_text}”不是本周期考评指标的编号（1–{len(ctx.indicator_by_number)}）。")
        lead_text = row.values.get("lead", "")
        lead_id = None
        if lead_text:
            lead = ctx.directory.find(lead_text)
            if lead is None:
                problems.append(f"{where}“牵头考核单位”列：{ctx.directory.unknown_message(lead_text)}")
            else:
                lead_id = lead.id
        elif indicator is not None and len(ctx.leads[indicator.id]) == 1:
            lead_id = ctx.leads[indicator.id][0]  # one lead assessor: the column may stay empty
        elif indicator is not None:
            names = "、".join(ctx.name(u) for u in ctx.leads[indicator.id])
            problems.append(f"{where}“牵头考核单位”列：为空，而指标 {indicator.number} 有多个牵头考核单位（{names}），请注明。")
        try:
            score = parse_item_score(row.values.get("score", ""), ctx.points[indicator.id].points if indicator else None)
        except ValueError:
            problems.append(f"{where}“得分”列：“{row.values.get('score', '')}”不是数字（满分也可填“{FULL_MARKS_WORD}”）。")
            continue
        if unit_id is not None and indicator is not None and lead_id is not None:
            entries.append(LeadScoreEntry(unit_id, indicator.id, lead_id, score, row.values.get("note", ""), where))
    return entries


# --------------------------------------------------------------------------- component scores


def record_component_scores(
    session: Session, cycle: Cycle, component: Component, entries: list[ComponentScoreEntry], *,
    source: str, actor: str, file_name: str = "", received_file_id: int | None = None,
    context: CycleContext | None = None,
) -> EntrySummary:
    """Record 0–100 field, opinion or third-party scores of units from one source."""
    if component is Component.monitoring:
        raise ValueError("monitoring scores are lead scores")
    require_open(cycle)
    ctx = context or CycleContext(session, cycle)
    problems, seen = validate_component_entries(component, ctx, entries)
    if problems:
        raise InvalidInput(f"{source}：有 {len(problems)} 处问题，未录入任何分数：", problems)
    # The current scores of the batch's units only: a visit record is one unit's, and loading the cycle's
    # every score of its kind took ~10 ms for each of a province's 600 records.
    current = {
        s.unit_id: s
        for chunk in _chunks(sorted(seen), 500)
        for s in session.exec(select(ComponentScore).where(
            ComponentScore.cycle_id == cycle.id, ComponentScore.component == component,
            ComponentScore.source == source, ComponentScore.current, ComponentScore.unit_id.in_(chunk),
        ))
    }
    summary = EntrySummary()
    now = utcnow()
    for unit_id, e in seen.items():
        old = current.get(unit_id)
        if old is not None and old.score == e.score and old.note == e.note:
            summary.unchanged += 1
            continue
        if old is not None:
            old.current, old.superseded_at = False, now
            session.add(old)
            session.flush()
            summary.replaced += 1
            summary.changes.append({"unit": ctx.name(unit_id), "before": old.score, "after": e.score})
        else:
            summary.created += 1
        session.add(ComponentScore(
            cycle_id=cycle.id, unit_id=unit_id, component=component, source=source, score=e.score, note=e.note,
            file_name=file_name, received_file_id=received_file_id, entered_at=now, entered_by=actor,
        ))
    session.flush()
    if summary.changed:
        audit.append(
            session, actor=actor, action=f"scores.{component.value}", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
            before={"replaced": summary.changes} if summary.changes else None,
            after={"source": source, "file": file_name, "created": summary.created, "replaced": summary.replaced,
                   "unchanged": summary.unchanged},
            reason=f"录入{component.label}得分：{source}",
        )
    return summary


def component_entries_from_rows(ctx: CycleContext, rows: list[Row], problems: list[str]) -> list[ComponentScoreEntry]:
    """Field / opinion / third-party rows: 单位, 得分, 说明."""
    entries = []
    for row in rows:
        where = f"第 {row.line} 行"
        unit_id = ctx.cycle_unit(row.values.get("unit", ""), where, "单位", problems)
        try:
            score = parse_score(row.values.get("score", ""), percent_ok=True)
        except ValueError:
            problems.append(f"{where}“得分”列：“{row.values.get('score', '')}”不是数字。")
            continue
        if unit_id is not None:
            entries.append(ComponentScoreEntry(unit_id, score, row.values.get("note", ""), where))
    return entries


def missing_units(ctx: CycleContext, entries: list[ComponentScoreEntry]) -> list[str]:
    present = {e.unit_id for e in entries}
    return [u.short_name for u in sorted(ctx.units.values(), key=lambda u: u.position) if u.unit_id not in present]


# --------------------------------------------------------------------------- files


@dataclass
class ImportOutcome:
    summary: EntrySummary
    rows: int
    missing: list[str] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.summary.changed


def import_score_file(
    session: Session, cycle: Cycle, component: Component, upload, *, actor: str, source: str | None = None,
    received_file_id: int | None = None,
) -> ImportOutcome:
    """``kaoping scores import``: a CSV/XLSX of scores for one component."""
    require_open(cycle)
    columns, rows = read_table(upload)
    needed = ["unit", "indicator", "score"] if component is Component.monitoring else ["unit", "score"]
    labels = {"unit": "单位", "indicator": "指标", "score": "得分"}
    absent = [labels[c] for c in needed if c not in columns]
    if absent:
        expected = "单位, 指标, 牵头考核单位, 得分, 说明" if component is Component.monitoring else "单位, 得分, 说明"
        raise InvalidInput(f"文件 {upload.name} 缺少“{'、'.join(absent)}”列：{component.label}的表头应为 {expected}（或英文 unit, indicator, lead, score, note）。")
    if not rows:
        raise InvalidInput(f"文件 {upload.name} 只有表头，没有分数行。")
    ctx = CycleContext(session, cycle)
    problems: list[str] = []
    if component is Component.monitoring:
        entries = lead_entries_from_rows(ctx, rows, problems)
        problems += validate_lead_entries(ctx, entries)[0]
        if problems:
            raise InvalidInput(f"文件 {upload.name} 有 {len(problems)} 处问题，未录入任何分数：", problems)
        summary = record_lead_scores(session, cycle, entries, source=source or upload.name, actor=actor,
                                     received_file_id=received_file_id, context=ctx)
        return ImportOutcome(summary, len(rows))
    entries = component_entries_from_rows(ctx, rows, problems)
    problems += validate_component_entries(component, ctx, entries)[0]
    if problems:
        raise InvalidInput(f"文件 {upload.name} 有 {len(problems)} 处问题，未录入任何分数：", problems)
    summary = record_component_scores(session, cycle, component, entries, source=source or component.label,
                                      actor=actor, file_name=upload.name, received_file_id=received_file_id, context=ctx)
    return ImportOutcome(summary, len(rows), missing_units(ctx, entries))


# --------------------------------------------------------------------------- allocations


def allocate_points(
    session: Session, cycle: Cycle, *, lead_written: str | None, points: dict[int, Decimal], actor: str,
    source: str = "", by_team: bool = False, reason: str = "",
) -> list[tuple[int, Decimal]]:
    """Rule 三(四): a lead assessor sets the points of the open items of a group or area it
    leads — every co-lead gives the same; where the items have different leads the specialist
    team sets them (``by_team``). They must cover every open item of the container and add up
    to its points. Once an item has scores its points are frozen: a change needs a reason."""
    require_open(cycle)
    ctx = CycleContext(session, cycle)
    lead = None
    if not by_team:
        lead = ctx.directory.find(lead_written or "")
        if lead is None:
            raise InvalidInput(ctx.directory.unknown_message(lead_written or ""))
    if not points:
        raise InvalidInput("没有给出任何指标的分值：请写成 指标编号=分值，例如 54=5 55=5。")
    problems = []
    items = {}
    for number, value in points.items():
        indicator = ctx.indicator_by_number.get(number)
        if indicator is None:
            problems.append(f"指标 {number} 不在本周期的考评指标中。")
            continue
        if indicator.points is not None:
            problems.append(f"指标 {number} 已有规定分值 {indicator.points} 分，不需要也不能再明确。")
            continue
        if value <= 0 or not _places_ok(value):
            problems.append(f"指标 {number} 的分值 {value} 无效：应为大于 0、最多 {MAX_PLACES} 位小数的数。")
        items[number] = indicator
    if problems:
        raise InvalidInput("分值明确未通过检查，未作任何改动：", problems)
    containers = {ctx.points[i.id].container for i in items.values()}
    if len(containers) != 1:
        raise InvalidInput(f"这些指标属于不同的分组或大项（{'、'.join(sorted(containers))}）：请按分组（或大项）分别明确分值。")
    container = containers.pop()
    state = allocation_states(session, cycle)[container]
    label = _container_label(session, cycle, container)
    if sorted(points) != state.numbers:
        raise InvalidInput(
            f"{label}中未标分值的指标为 {'、'.join(map(str, state.numbers))}，"
            f"须一次全部明确（本次给出 {'、'.join(map(str, sorted(points)))}）。"
        )
    if by_team and not state.by_team:
        leads = "、".join(ctx.name(d) for d in state.deciders)
        raise InvalidInput(f"{label}的指标由 {leads} 牵头，分值应由牵头考核单位明确（办法三(四)），专班不能代为明确。")
    if not by_team and state.by_team:
        leads = "；".join(f"{ctx.indicator_by_id[i].number} 号由 {'、'.join(ctx.name(u) for u in ctx.leads[i])} 牵头"
                         for i in state.item_ids)
        raise InvalidInput(f"{label}的指标分别由不同单位牵头（{leads}），分值由专班明确：请使用 --by-team。")
    if lead is not None and lead.id not in state.deciders:
        not_led = [ctx.indicator_by_id[i].number for i in state.item_ids if lead.id not in ctx.leads[i]]
        raise InvalidInput(f"{lead.short_name} 不是指标 {'、'.join(map(str, not_led))} 的牵头考核单位，不能明确这些指标的分值。")
    given = sum((Fraction(v) for v in points.values()), Fraction(0))
    if given != state.share_total:
        detail = " + ".join(f"{n}号 {points[n]}" for n in sorted(points))
        raise InvalidInput(
            f"{label}未标分值的指标合计应为 {points_text(state.share_total)} 分，"
            f"本次明确的分值 {detail} = {fmt_exact(given)} 分，不相等：请调整后重新提交。"
        )
    decider = None if by_team else lead.id
    if state.given.get(decider) == {items[n].id: v for n, v in points.items()}:
        return sorted(points.items())  # the same allocation again (a sheet sent twice): nothing changes
    scored = session.exec(select(LeadScore).where(LeadScore.cycle_id == cycle.id, LeadScore.current,
                                                  LeadScore.indicator_id.in_(state.item_ids))).all()
    if scored and not reason.strip():
        numbers = ranges(sorted({ctx.indicator_by_id[s.indicator_id].number for s in scored}))
        raise InvalidInput(
            f"{label}的指标 {numbers} 已有评分，分值已冻结（办法三(四)：分值应在评分前明确）。"
            "如确需更改，须写明原因（--reason），更改和原因将记入审计日志并在报告中列明。"
        )
    over = [
        f"{ctx.name(s.unit_id)} 指标 {ctx.indicator_by_id[s.indicator_id].number} 已得 {s.score} 分，超过新分值 {points[ctx.indicator_by_id[s.indicator_id].number]} 分"
        for s in scored if s.score > points[ctx.indicator_by_id[s.indicator_id].number]
    ]
    if over:
        raise InvalidInput("新分值低于已录入的得分，请先更正这些得分：", over)
    before = {ctx.indicator_by_id[i].number: (fmt_exact(ctx.points[i].points), ctx.points[i].basis) for i in state.item_ids}
    now = utcnow()
    session.execute(update(PointsAllocation).where(
        PointsAllocation.cycle_id == cycle.id, PointsAllocation.current, PointsAllocation.indicator_id.in_(state.item_ids),
        PointsAllocation.lead_unit_id.is_(None) if decider is None else PointsAllocation.lead_unit_id == decider,
    ).values(current=False))
    for number, value in sorted(points.items()):
        session.add(PointsAllocation(cycle_id=cycle.id, indicator_id=items[number].id, container=container, points=value,
                                     lead_unit_id=decider, source=source, set_at=now, set_by=actor))
    session.flush()
    who = "专班" if by_team else lead.short_name
    audit.append(
        session, actor=actor, action="points.allocate", entity=f"cycle:{cycle.code}/container:{container}",
        cycle_code=cycle.code, before=before, after={str(n): v for n, v in sorted(points.items())},
        reason=f"{who} 按办法三(四)明确分值" + (f"（{source}）" if source else "")
        + (f"；评分后更改，原因：{reason.strip()}" if scored else ""),
    )
    return sorted(points.items())


def _container_label(session: Session, cycle: Cycle, container: str) -> str:
    if "." in container:
        group = session.exec(select(IndicatorGroup).where(IndicatorGroup.catalog_id == cycle.catalog_id,
                                                          IndicatorGroup.code == container)).one()
        return f"分组“({group.numeral}){group.name}”({fmt_exact(group.points)}分)"
    area = session.exec(select(Area).where(Area.catalog_id == cycle.catalog_id, Area.code == container)).one()
    return f"大项“{area.numeral}、{area.name}”({fmt_exact(area.points)}分)"


def parse_allocation_args(args: list[str]) -> dict[int, Decimal]:
    result = {}
    for arg in args:
        number, sep, value = fold(arg).partition("=")
        try:
            if not sep:
                raise ValueError
            result[int(number)] = parse_score(value)
        except ValueError:
            raise InvalidInput(f"“{arg}”格式不对：请写成 指标编号=分值，例如 54=5。") from None
    return result


def cycle_unit_names(session: Session, cycle: Cycle) -> dict[int, str]:
    names = {u.id: u.short_name for u in session.exec(select(Unit))}
    names.update({u.unit_id: u.short_name for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))})
    return names
