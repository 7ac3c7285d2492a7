"""Verification by the specialist team (专班核实, rule 三(二)).

The team confirms or adjusts item scores (an adjustment needs a reason), records bonus and
deduction lines and vetoes, and must verify every item a lead assessor scored for itself
before results can be computed. Every change goes to the audit log. The verification
sign-off freezes the cycle's scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import Session, select

from kaoping.domain.clock import local_date
from kaoping.domain.errors import Conflict, InvalidInput, NotFound
from kaoping.domain.scoring import (
    LeadScoreValue,
    basis_text,
    fmt_exact,
    full_marks_hint,
    item_mean,
    points_text,
    within_points,
)
from kaoping.models import (
    Adjustment,
    AdjustmentKind,
    Cycle,
    CycleStatus,
    ItemVerification,
    LeadScore,
    VerificationKind,
)
from kaoping.models.types import utcnow
from kaoping.records import audit
from kaoping.services.cycles.cycle import require_open, set_status
from kaoping.services.scoring.entry import MAX_PLACES, CycleContext, _places_ok

# The reason recorded on each self-scored item the verifier confirms together with the signature
# (the 报告 counts these apart from the items the team confirmed one by one).
CONFIRMED_AT_SIGNATURE = "签字时确认牵头考核单位自评项核实无误"
# Issue 27: what the 报告 may call 逐项核实 is only an item confirmed on its own (``confirm``). A confirmation
# of every self-scored item at once (``--all-self-scored``) and one of a lead assessor's items together
# (``confirm_groups``, after they were listed in the 自评项核实清单) are recorded as such.
BULK_CONFIRMED = "一次确认全部自评项"


@dataclass
class ItemStatus:
    unit: str
    unit_id: int
    indicator: int
    indicator_id: int
    leads: dict[str, Decimal | None]  # lead short name → score (None: not yet scored)
    self_scored: bool
    status: str  # 未评分 | 待核实 | 已核实 | 已调整 | 需重新核实
    verification: ItemVerification | None


def _lead_values(session: Session, cycle: Cycle, unit_id: int, indicator_id: int) -> dict[int, LeadScore]:
    return {
        s.lead_unit_id: s
        for s in session.exec(select(LeadScore).where(
            LeadScore.cycle_id == cycle.id, LeadScore.current, LeadScore.unit_id == unit_id,
            LeadScore.indicator_id == indicator_id,
        ))
    }


def _current_verification(session: Session, cycle: Cycle, unit_id: int, indicator_id: int) -> ItemVerification | None:
    return session.exec(select(ItemVerification).where(
        ItemVerification.cycle_id == cycle.id, ItemVerification.current, ItemVerification.unit_id == unit_id,
        ItemVerification.indicator_id == indicator_id,
    )).first()


def item_statuses(session: Session, cycle: Cycle, *, self_scored_only: bool = False,
                  context: CycleContext | None = None) -> list[ItemStatus]:
    ctx = context or CycleContext(session, cycle)
    scores: dict[tuple[int, int], dict[int, LeadScoreValue]] = {}
    for unit_id, indicator_id, lead_id, score in session.connection().execute(
        select(LeadScore.unit_id, LeadScore.indicator_id, LeadScore.lead_unit_id, LeadScore.score)
        .where(LeadScore.cycle_id == cycle.id, LeadScore.current)
    ):
        scores.setdefault((unit_id, indicator_id), {})[lead_id] = LeadScoreValue(score)
    verifications = {
        (v.unit_id, v.indicator_id): v
        for v in session.exec(select(ItemVerification).where(ItemVerification.cycle_id == cycle.id, ItemVerification.current))
    }
    out = []
    for unit_id, indicator_id in sorted(ctx.pairs, key=lambda p: (ctx.units[p[0]].position, ctx.indicator_by_id[p[1]].number)):
        leads = ctx.leads[indicator_id]
        self_scored = unit_id in leads
        if self_scored_only and not self_scored:
            continue
        got = scores.get((unit_id, indicator_id), {})
        v = verifications.get((unit_id, indicator_id))
        if v is not None and v.kind == VerificationKind.adjust:
            status = "已调整"
        elif len(got) < len(leads):
            status = "未评分"
        elif v is None:
            status = "待核实" if self_scored else "未核实"
        elif v.basis == basis_text(item_mean(got, ctx.points[indicator_id].points)):
            status = "已核实"
        else:
            status = "需重新核实"
        out.append(ItemStatus(
            unit=ctx.name(unit_id), unit_id=unit_id, indicator=ctx.indicator_by_id[indicator_id].number,
            indicator_id=indicator_id, leads={ctx.name(lead): (got[lead].score if lead in got else None) for lead in leads},
            self_scored=self_scored, status=status, verification=v,
        ))
    return out


def _resolve_item(ctx: CycleContext, unit_written: str, number: int) -> tuple[int, int]:
    problems: list[str] = []
    unit_id = ctx.cycle_unit(unit_written, "", "--unit", problems)
    if problems:
        raise InvalidInput(problems[0].removeprefix("“--unit”列："))
    indicator = ctx.indicator_by_number.get(number)
    if indicator is None:
        raise NotFound(f"本周期的考评指标中没有编号 {number}。")
    if (unit_id, indicator.id) not in ctx.pairs:
        raise InvalidInput(f"{ctx.name(unit_id)} 在 {ctx.cycle.code} 不承担指标 {number}。")
    return unit_id, indicator.id


def _replace_verification(session: Session, cycle: Cycle, unit_id: int, indicator_id: int, new: ItemVerification) -> ItemVerification | None:
    old = _current_verification(session, cycle, unit_id, indicator_id)
    if old is not None:
        session.execute(update(ItemVerification).where(ItemVerification.id == old.id).values(current=False))
    session.add(new)
    session.flush()
    return old


def _verification_record(v: ItemVerification | None) -> dict | None:
    if v is None:
        return None
    return {"kind": v.kind, "value": v.value, "basis": v.basis, "by": v.by, "reason": v.reason}


def confirm(session: Session, cycle: Cycle, *, unit: str, indicator: int, actor: str, reason: str = "") -> str:
    """核实无误: the team confirms the lead assessors' scores as they stand now."""
    require_open(cycle)
    ctx = CycleContext(session, cycle)
    unit_id, indicator_id = _resolve_item(ctx, unit, indicator)
    return _confirm(session, ctx, unit_id, indicator_id, actor=actor, reason=reason)


def _confirm(session: Session, ctx: CycleContext, unit_id: int, indicator_id: int, *, actor: str, reason: str) -> str:
    cycle = ctx.cycle
    number = ctx.indicator_by_id[indicator_id].number
    got = _lead_values(session, cycle, unit_id, indicator_id)
    missing = [ctx.name(lead) for lead in ctx.leads[indicator_id] if lead not in got]
    if missing:
        raise InvalidInput(f"{ctx.name(unit_id)} 指标 {number} 尚缺 {'、'.join(missing)} 的评分，无法核实：请先录入评分。")
    mean = item_mean({k: LeadScoreValue(s.score) for k, s in got.items()}, ctx.points[indicator_id].points)
    new = ItemVerification(cycle_id=cycle.id, unit_id=unit_id, indicator_id=indicator_id, kind=VerificationKind.confirm,
                           basis=basis_text(mean), reason=reason, by=actor)
    old = _replace_verification(session, cycle, unit_id, indicator_id, new)
    audit.append(
        session, actor=actor, action="verify.confirm", entity=f"cycle:{cycle.code}/unit:{ctx.units[unit_id].code}/item:{number}",
        cycle_code=cycle.code, before=_verification_record(old),
        after={"kind": "confirm", "lead_scores": {ctx.name(k): s.score for k, s in got.items()}, "value": fmt_exact(mean)},
        reason=reason or "核实无误",
    )
    return f"{ctx.name(unit_id)} 指标 {number}：已核实（{fmt_exact(mean)} 分）"


def confirm_all_self_scored(session: Session, cycle: Cycle, *, actor: str, reason: str = "") -> list[str]:
    """Confirm every self-scored item that is scored and not yet (or no longer) verified, recorded as
    one confirmation of them all (not 逐项核实)."""
    require_open(cycle)
    ctx = CycleContext(session, cycle)
    done = []
    marked = reason if reason == CONFIRMED_AT_SIGNATURE else BULK_CONFIRMED + (f"：{reason}" if reason else "")
    for item in item_statuses(session, cycle, self_scored_only=True, context=ctx):
        if item.status in ("待核实", "需重新核实"):
            done.append(_confirm(session, ctx, item.unit_id, item.indicator_id, actor=actor, reason=marked))
    return done


def adjust(session: Session, cycle: Cycle, *, unit: str, indicator: int, score: Decimal, reason: str, actor: str) -> str:
    """核实调整: the team replaces an item score, with a reason."""
    require_open(cycle)
    ctx = CycleContext(session, cycle)
    unit_id, indicator_id = _resolve_item(ctx, unit, indicator)
    return _adjust(session, ctx, unit_id, indicator_id, score=score, reason=reason, actor=actor)[0]


def adjust_upon_objection(session: Session, cycle: Cycle, *, unit: str, indicator: int, score: Decimal, reason: str,
                          actor: str, objection_id: int) -> ItemVerification:
    """核实调整 after the verification sign-off, because the team upheld a unit's objection (异议采纳):
    the only change to a verified cycle's scores that needs no reopening; audited with the objection."""
    if cycle.status != CycleStatus.verified:
        raise Conflict(f"{cycle.code} 当前为“{CycleStatus(cycle.status).label}”：异议只能在专班核实签字之后、分管领导审定之前处理。")
    ctx = CycleContext(session, cycle)
    unit_id, indicator_id = _resolve_item(ctx, unit, indicator)
    return _adjust(session, ctx, unit_id, indicator_id, score=score, reason=reason, actor=actor,
                   action="verify.adjust.objection", objection_id=objection_id)[1]


def _adjust(session: Session, ctx: CycleContext, unit_id: int, indicator_id: int, *, score: Decimal, reason: str,
            actor: str, action: str = "verify.adjust", objection_id: int | None = None) -> tuple[str, ItemVerification]:
    cycle = ctx.cycle
    indicator = ctx.indicator_by_id[indicator_id].number
    if not reason.strip():
        raise InvalidInput("调整分数必须说明原因（--reason），原因将写入审计日志和报告。")
    points = ctx.points[indicator_id].points
    if not within_points(score, points) or not _places_ok(score):
        hint = full_marks_hint(points)
        raise InvalidInput(f"调整后的得分 {score} 无效：指标 {indicator} 的得分应在 0 到 {points_text(points)} 之间，最多 {MAX_PLACES} 位小数"
                           + (f"（{hint}）" if hint else "") + "。")
    got = _lead_values(session, cycle, unit_id, indicator_id)
    basis = basis_text(item_mean({k: LeadScoreValue(s.score) for k, s in got.items()}, points)) if got else ""
    new = ItemVerification(cycle_id=cycle.id, unit_id=unit_id, indicator_id=indicator_id, kind=VerificationKind.adjust,
                           basis=basis, value=score, reason=reason, by=actor)
    old = _replace_verification(session, cycle, unit_id, indicator_id, new)
    audit.append(
        session, actor=actor, action=action, entity=f"cycle:{cycle.code}/unit:{ctx.units[unit_id].code}/item:{indicator}",
        cycle_code=cycle.code,
        before={"lead_scores": {ctx.name(k): s.score for k, s in got.items()}, "verification": _verification_record(old)},
        after={"kind": "adjust", "value": score, **({"objection": objection_id} if objection_id else {})}, reason=reason,
    )
    return f"{ctx.name(unit_id)} 指标 {indicator}：核实调整为 {score} 分", new


def add_line(
    session: Session, cycle: Cycle, *, unit: str, kind: AdjustmentKind, points: Decimal | None, reason: str,
    evidence: str = "", actor: str,
) -> Adjustment:
    """加分 / 扣分 lines and 一票否决, each with a reason (and evidence where there is some)."""
    require_open(cycle)
    if not reason.strip():
        raise InvalidInput(f"{kind.label}必须说明原因（--reason）。")
    if kind is AdjustmentKind.veto:
        points = None
    elif points is None or points <= 0 or not _places_ok(points):
        raise InvalidInput(f"{kind.label}分值无效：应为大于 0 的数（最多 {MAX_PLACES} 位小数）；扣分也写正数。")
    ctx = CycleContext(session, cycle)
    problems: list[str] = []
    unit_id = ctx.cycle_unit(unit, "", "--unit", problems)
    if problems:
        raise InvalidInput(problems[0].removeprefix("“--unit”列："))
    line = Adjustment(cycle_id=cycle.id, unit_id=unit_id, kind=kind, points=points, reason=reason, evidence=evidence, by=actor)
    session.add(line)
    session.flush()
    audit.append(
        session, actor=actor, action=f"verify.{kind.value}", entity=f"cycle:{cycle.code}/unit:{ctx.units[unit_id].code}/line:{line.id}",
        cycle_code=cycle.code, after={"kind": kind.value, "points": points, "evidence": evidence}, reason=reason,
    )
    return line


def withdraw_line(session: Session, cycle: Cycle, *, line_id: int, reason: str, actor: str,
                  tz: tzinfo | None = None) -> Adjustment:
    require_open(cycle)
    line = session.get(Adjustment, line_id)
    if line is None or line.cycle_id != cycle.id:
        raise NotFound(f"{cycle.code} 中没有编号为 {line_id} 的加分、扣分或否决记录（见 `kaoping verify list --lines`）。")
    if line.withdrawn_at is not None:
        raise Conflict(f"第 {line_id} 条记录" + (f"已于 {local_date(line.withdrawn_at, tz)} 撤销。" if tz else "已撤销。"))
    if not reason.strip():
        raise InvalidInput("撤销必须说明原因（--reason）。")
    line.withdrawn_at, line.withdrawn_by, line.withdraw_reason = utcnow(), actor, reason
    session.add(line)
    session.flush()
    audit.append(session, actor=actor, action="verify.withdraw", entity=f"cycle:{cycle.code}/line:{line_id}",
                 cycle_code=cycle.code, before={"kind": line.kind, "points": line.points, "reason": line.reason},
                 after={"withdrawn": True}, reason=reason)
    return line


def signoff(session: Session, cycle: Cycle, *, actor: str, note: str = "") -> None:
    """专班核实签字: checks must pass; then the scores are frozen."""
    from kaoping.services.cycles.points import default_points_problems
    from kaoping.services.scoring.results import problems_of

    require_open(cycle)
    problems = default_points_problems(session, cycle) + problems_of(session, cycle)
    if problems:
        raise InvalidInput(
            f"{cycle.code} 还有 {len(problems)} 个问题未解决，不能核实签字（`kaoping check --cycle {cycle.code}` 查看）：",
            problems,
        )
    set_status(session, cycle, CycleStatus.verified, actor=actor, reason=note or "专班核实签字", action="cycle.verified")


def lines(session: Session, cycle: Cycle) -> list[Adjustment]:
    """The cycle's bonus, deduction and veto lines (withdrawn ones too), in the order recorded."""
    return list(session.exec(select(Adjustment).where(Adjustment.cycle_id == cycle.id).order_by(Adjustment.id)))
