"""Assessment cycles (考评周期): open one, freeze what it depends on, move it through its states.

Opening ``2022H1`` copies the catalog version, the units, the responsibilities and the
scoring policy into the cycle, so later edits to any of them never change a cycle in
progress. The points in force for each item (given, allocated by the lead assessor, or the
default equal split of rule 三(四)) are worked out here too.
"""

from __future__ import annotations

import hashlib
import re
from datetime import tzinfo

from sqlalchemy import insert
from sqlmodel import Session, select

from kaoping.domain.clock import local_date
from kaoping.domain.errors import Conflict, InvalidInput, NotFound
from kaoping.domain.policy import ScoringPolicy
from kaoping.models import (
    Contact,
    Cycle,
    CycleAcceptance,
    CycleResponsibility,
    CycleSnapshot,
    CycleStatus,
    CycleUnit,
    Indicator,
    Unit,
    UnitAlias,
)
from kaoping.records import audit
from kaoping.services.reference.catalog import (
    catalog_draft,
    draft_as_export,
    require_catalog,
)
from kaoping.services.reference.registry import UnitDirectory
from kaoping.services.reference.responsibilities import responsibilities_for

CYCLE_CODE_RE = re.compile(r"^(\d{4})\s*[Hh]\s*([12])$")


def parse_cycle_code(code: str) -> tuple[int, int]:
    match = CYCLE_CODE_RE.match(code.strip())
    if not match:
        raise InvalidInput(f"考评周期“{code}”格式不对：应写作 年份+H+半年，例如 2022H1（上半年）或 2022H2（下半年）。")
    return int(match.group(1)), int(match.group(2))


def cycle_label(cycle: Cycle) -> str:
    return f"{cycle.year}年{'上' if cycle.half == 1 else '下'}半年"


def get_cycle(session: Session, code: str) -> Cycle:
    year, half = parse_cycle_code(code)
    cycle = session.exec(select(Cycle).where(Cycle.year == year, Cycle.half == half)).first()
    if cycle is None:
        raise NotFound(f"考评周期 {year}H{half} 尚未开启：请先运行 `kaoping cycle open {year}H{half}`。")
    return cycle


def require_open(cycle: Cycle) -> None:
    """Scores, allocations and verification change only while the cycle is open."""
    if cycle.status != CycleStatus.open:
        raise Conflict(
            f"考评周期 {cycle.code} 当前状态为“{CycleStatus(cycle.status).label}”，分数已冻结，不能修改。"
            f"如确需修改，请先运行 `kaoping cycle reopen {cycle.code} --reason 原因`（将记入审计日志）。"
        )


def _sha(content: dict) -> str:
    return hashlib.sha256(audit.canonical_json(content).encode("utf-8")).hexdigest()


DEFAULT_RESPONSIBILITIES = "default_responsibilities"


def acceptance(session: Session, cycle: Cycle, subject: str) -> CycleAcceptance | None:
    """A default the team accepted for this cycle (``default_responsibilities``, ``default_points``)."""
    return session.exec(select(CycleAcceptance).where(CycleAcceptance.cycle_id == cycle.id,
                                                      CycleAcceptance.subject == subject)).first()
DEFAULT_RULE = "旗县区、稀土高新区承担全部指标，市直部门承担其牵头的指标"


def open_cycle(session: Session, *, code: str, policy: ScoringPolicy, policy_source: str, actor: str,
               tz: tzinfo | None = None, default_responsibilities_reason: str = "") -> Cycle:
    """Open a half-year cycle, freezing catalog, units, 承担 and policy. Without an imported
    承担 list for the year the default rule decides who is scored on what — 实绩考核 outcomes —
    so it applies only when the team accepts it explicitly, with a reason (recorded, and stated
    in the 报告)."""
    year, half = parse_cycle_code(code)
    code = f"{year}H{half}"
    existing = session.exec(select(Cycle).where(Cycle.year == year, Cycle.half == half)).first()
    if existing is not None:
        when = f"已于 {local_date(existing.opened_at, tz)} 开启" if tz else "已开启"
        raise Conflict(f"考评周期 {code} {when}（{CycleStatus(existing.status).label}），不能重复开启。")
    catalog = require_catalog(session, year)
    # A unit the registry marks 不参加考评 is not in the cycle at all (the issuing office, say); listed ones are.
    units = session.exec(select(Unit).where(Unit.active, Unit.standing != "not_assessed")
                         .order_by(Unit.group.desc(), Unit.position)).all()
    if not units:
        raise InvalidInput("考评对象名录为空：请先运行 `kaoping init` 或 `kaoping units import`。")
    view = responsibilities_for(session, year)
    if view.is_default and not default_responsibilities_reason.strip():
        raise InvalidInput(
            f"{year} 年尚未导入承担关系（哪个单位承担哪些指标）。默认规则为：{DEFAULT_RULE}，这决定各单位按哪些指标计分。"
            f"请先核定承担清单：`kaoping responsibilities suggest --year {year} --out 承担.csv` 按指标文字生成建议，"
            f"核对修改后 `kaoping responsibilities import 承担.csv --year {year}`；"
            "或明确接受默认规则并说明理由：`--accept-default-responsibilities \"理由\"`（将记录并在报告中说明）。"
        )
    number_to_id = dict(session.exec(select(Indicator.number, Indicator.id).where(Indicator.catalog_id == catalog.id)).all())
    missing = sorted({n for _, n in view.pairs if n not in number_to_id})
    if missing:
        raise Conflict(f"承担关系中的指标 {missing[:10]} 不在 {year} 年第 {catalog.version} 版考评指标中：请重新导入承担关系。")

    cycle = Cycle(code=code, year=year, half=half, catalog_id=catalog.id, opened_by=actor)
    session.add(cycle)
    session.flush()
    active_ids = {u.id for u in units}
    session.add_all(
        CycleUnit(cycle_id=cycle.id, unit_id=u.id, code=u.code, name=u.name, short_name=u.short_name,
                  group=u.group, position=position, standing=u.standing)
        for position, u in enumerate(units)
    )
    rows = [
        {"cycle_id": cycle.id, "unit_id": u, "indicator_id": number_to_id[n]}
        for u, n in sorted(view.pairs) if u in active_ids
    ]
    if rows:
        session.execute(insert(CycleResponsibility), rows)

    aliases = session.exec(select(UnitAlias)).all()
    contacts = session.exec(select(Contact)).all()
    codes = {u.id: u.code for u in units}
    snapshots = {
        "catalog": {
            "catalog_id": catalog.id, "version": catalog.version,
            **draft_as_export(catalog_draft(session, catalog), UnitDirectory(list(session.exec(select(Unit))), [])),
        },
        "units": {"units": [
            {"code": u.code, "name": u.name, "short_name": u.short_name, "group": u.group, "standing": u.standing,
             "aliases": sorted(a.alias for a in aliases if a.unit_id == u.id),
             "contacts": sorted(({"role": c.role, "name": c.name, "email": c.email} for c in contacts if c.unit_id == u.id),
                                key=lambda c: (c["role"], c["email"]))}
            for u in units
        ]},
        "responsibilities": {"source": view.source, "pairs": sorted([codes[u], n] for u, n in view.pairs if u in codes)},
        "policy": {"source": policy_source, **policy.snapshot()},
    }
    for kind, content in snapshots.items():
        session.add(CycleSnapshot(cycle_id=cycle.id, kind=kind, content=content, content_sha256=_sha(content)))
    if view.is_default:
        session.add(CycleAcceptance(cycle_id=cycle.id, subject=DEFAULT_RESPONSIBILITIES,
                                    reason=default_responsibilities_reason.strip(), details={"rule": DEFAULT_RULE},
                                    accepted_by=actor))
    session.flush()
    audit.append(
        session, actor=actor, action="cycle.open", entity=f"cycle:{code}", cycle_code=code,
        after={
            "catalog": f"{year}/v{catalog.version}", "units": len(units), "responsibilities": len(rows),
            "responsibility_source": view.source, "policy": f"{policy.version} ({policy_source})",
            "default_responsibilities_reason": default_responsibilities_reason.strip() if view.is_default else None,
            "snapshots": {k: _sha(v) for k, v in snapshots.items()},
        },
        reason=f"开启{year}年{'上' if half == 1 else '下'}半年考评",
    )
    return cycle


def policy_of(session: Session, cycle: Cycle) -> ScoringPolicy:
    snap = session.exec(select(CycleSnapshot).where(CycleSnapshot.cycle_id == cycle.id, CycleSnapshot.kind == "policy")).one()
    content = {k: v for k, v in snap.content.items() if k != "source"}
    return ScoringPolicy.model_validate(content)


def set_status(session: Session, cycle: Cycle, status: CycleStatus, *, actor: str, reason: str, action: str) -> None:
    before = cycle.status
    cycle.status = status
    session.add(cycle)
    session.flush()
    audit.append(session, actor=actor, action=action, entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
                 before={"status": before}, after={"status": status}, reason=reason)


def reopen(session: Session, cycle: Cycle, *, actor: str, reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("重新开启考评周期必须说明原因（--reason），原因将记入审计日志。")
    if cycle.status == CycleStatus.open:
        raise Conflict(f"考评周期 {cycle.code} 本来就是进行中状态，无需重新开启。")
    if cycle.status == CycleStatus.closed:
        raise Conflict(f"考评周期 {cycle.code} 已结束并发布，不能重新开启。")
    set_status(session, cycle, CycleStatus.open, actor=actor, reason=reason, action="cycle.reopen")


def list_cycles(session: Session) -> list[Cycle]:
    """Every cycle, oldest first."""
    return list(session.exec(select(Cycle).order_by(Cycle.year, Cycle.half)))


def unit_names(session: Session, cycle: Cycle) -> dict[int, str]:
    """The cycle's units (as frozen when it opened): unit id → short name."""
    return {u.unit_id: u.short_name for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))}
