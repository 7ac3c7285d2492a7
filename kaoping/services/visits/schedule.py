"""Field visits (实地调研): plan on working days, confirm with calendar invitations, move one.

The plan comes from ``kaoping.domain.scheduling``; confirming stores the visits and queues, in the
same transaction, one invitation (.ics, METHOD:REQUEST) per visit to the team members and the
unit's contacts. Moving a visit keeps its calendar UID and raises its SEQUENCE, so mail
clients update the meeting instead of adding a second one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml
from sqlmodel import Session, func, select

from kaoping.domain.errors import Conflict, InvalidInput, NotFound
from kaoping.domain.scheduling import (
    PARTS,
    Plan,
    Problem,
    Slot,
    load_teams,
    schedule,
    visit_times,
)
from kaoping.domain.text import decode_text
from kaoping.models import Contact, Cycle, CycleUnit, Visit, VisitTeamList
from kaoping.notifications.invites import visit_invitation
from kaoping.notifications.outbox import Attachment, queue
from kaoping.notifications.render import due, render
from kaoping.records import audit
from kaoping.services.cycles.cycle import cycle_label, require_open
from kaoping.services.reference.registry import UnitDirectory
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.settings import Settings


@dataclass
class VisitPlan:
    plan: Plan
    problem: Problem
    names: dict[str, str]


def read_teams(path: Path) -> dict:
    if not Path(path).is_file():
        raise InvalidInput(f"找不到调研组文件 {path}。")
    return parse_teams(Path(path).read_bytes(), Path(path).name)


def parse_teams(data: bytes, name: str) -> dict:
    try:
        document = yaml.safe_load(decode_text(data))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"调研组文件 {name} 不是有效的 YAML：{exc}") from exc
    if not isinstance(document, dict):
        raise InvalidInput("调研组文件应包含 teams 列表（每组 name、members），可选 max_per_day、length、unit_blackout。")
    return document


# --------------------------------------------------------------------------- the teams kaoping knows (调研组名单)


def _plain(value):
    """The YAML document as JSON can hold it (dates as YYYY-MM-DD)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _unit_resolver(directory: UnitDirectory):
    """How the teams' unit names are read: through the registry's names and aliases; an unknown
    name is noted where it was written (``load_teams`` collects every problem at once)."""

    def resolve(written, where, problems):
        unit = directory.find(str(written))
        if unit is None:
            problems.append(f"{where}：{directory.unknown_message(str(written))}")
            return None
        return unit.code

    return resolve


def _check_length(length) -> None:
    if length not in PARTS:
        raise InvalidInput(f"调研时长“{length}”无效：应为 half（半天）或 whole（全天）。")


def check_teams(session: Session, document: dict) -> None:
    """Refuse a list the scheduler could not use: unknown units, bad addresses or dates, no members."""
    _check_length(document.get("length", "half"))
    load_teams(document, resolve_unit=_unit_resolver(UnitDirectory.load(session)))
    names = [str(t.get("name") or "") for t in document.get("teams") or []]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInput(f"调研组名称重复：{'、'.join(twice)}。每个调研组的名称须不同。")


@dataclass(frozen=True)
class TeamsImport:
    created: bool
    version: int
    teams: list[str]


def import_teams(session: Session, data: bytes, *, source_name: str, actor: str) -> TeamsImport:
    """Store a teams file (YAML, as kaoping/data/demo/teams.yaml) as the list in force; the same list again changes nothing."""
    document = _plain(parse_teams(data, source_name))
    check_teams(session, document)
    digest = hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    names = [str(t.get("name")) for t in document.get("teams") or []]
    current = current_teams(session)
    if current is not None and current.content_sha256 == digest:
        return TeamsImport(False, current.version, names)
    version = (session.exec(select(func.max(VisitTeamList.version))).one() or 0) + 1
    session.add(VisitTeamList(version=version, content=document, content_sha256=digest, source_name=source_name[:255],
                              imported_by=actor))
    session.flush()
    audit.append(session, actor=actor, action="visits.teams.import", entity=f"visit_teams:v{version}",
                 before={"version": current.version, "sha256": current.content_sha256} if current else None,
                 after={"version": version, "sha256": digest, "teams": names, "source": source_name},
                 reason=f"导入调研组名单 {source_name}")
    return TeamsImport(True, version, names)


def current_teams(session: Session) -> VisitTeamList | None:
    return session.exec(select(VisitTeamList).order_by(VisitTeamList.version.desc())).first()


NO_TEAMS = ("尚未导入调研组名单：请系统管理员先导入本期的实地调研组（kaoping visits teams import 调研组.yaml，"
            "格式见 kaoping/data/demo/teams.yaml），然后重新运行。")


def teams_for_cycle(session: Session, chosen: list[str]) -> dict:
    """The imported teams a cycle sends (``chosen`` names; all of them when empty), as the
    document the scheduler reads."""
    current = current_teams(session)
    if current is None:
        raise InvalidInput(NO_TEAMS)
    document = dict(current.content)
    known = [str(t.get("name")) for t in document.get("teams") or []]
    if chosen:
        unknown = [n for n in chosen if n not in known]
        if unknown:
            raise InvalidInput(f"没有名为“{'、'.join(unknown)}”的调研组。已导入的调研组：{'、'.join(known)}。"
                               "请按这些名称填写，或留空派出全部调研组。")
        document["teams"] = [t for t in document["teams"] if str(t.get("name")) in chosen]
    return document


def split_names(text: str) -> list[str]:
    """调研一组、调研三组 / 调研一组,调研三组 / one per line → the names."""
    import re

    return [n for n in (p.strip() for p in re.split(r"[、,，;；\s]+", text or "")) if n]


def plan_visits(session: Session, cycle: Cycle, *, start: date, end: date, teams_data: dict,
                units: list[str] | None = None, length: str | None = None) -> VisitPlan:
    if end < start:
        raise InvalidInput(f"调研结束日期 {end} 早于开始日期 {start}。")
    length = length or teams_data.get("length", "half")
    _check_length(length)
    directory = UnitDirectory.load(session)
    cycle_units = {u.code: u for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id)
                                                   .order_by(CycleUnit.position))}

    resolve = _unit_resolver(directory)
    teams, blackout = load_teams(teams_data, resolve_unit=resolve)
    calendar = WorkCalendar.load(session)
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    days = [d for d in days if calendar.is_workday(d)]
    codes = list(cycle_units)
    if units:
        problems: list[str] = []
        codes = [c for c in (resolve(u, "--unit", problems) for u in units) if c]
        if problems:
            raise InvalidInput(problems[0])
    names = {c: u.short_name for c, u in cycle_units.items()}
    problem = Problem(codes, names, teams, days, length, blackout)
    return VisitPlan(schedule(problem), problem, names)


def _unit_contacts(session: Session, unit_id: int) -> list[tuple[str, str]]:
    return [(c.name, c.email) for c in session.exec(select(Contact).where(Contact.unit_id == unit_id))]


def _queue_invitation(session: Session, settings: Settings, cycle: Cycle, visit: Visit, unit_name: str,
                      contacts: list[tuple[str, str]]) -> int:
    start, end = visit.starts_at.astimezone(settings.tz), visit.ends_at.astimezone(settings.tz)
    attendees = [(m["name"], m["email"]) for m in visit.members] + contacts
    ics = visit_invitation(
        uid=visit.uid, sequence=visit.sequence, start=start, end=end, summary=f"实地调研：{unit_name}",
        location=f"{unit_name}（具体地点由被调研单位告知）", description=f"{cycle_label(cycle)}数字政府建设考评实地调研，调研组：{visit.team}",
        organizer=(settings.office_name, settings.office_email), attendees=attendees, tz=settings.tz,
    )
    members = [m["name"] for m in visit.members]
    common = dict(period=cycle_label(cycle), unit=unit_name, date=due(start.date(), settings),
                  time=f"{visit.part}{start.hour}:{start:%M}—{end.hour}:{end:%M}", members=members,
                  location=f"{unit_name}（具体地点由被调研单位告知）")
    # Two letters with the one invitation: the team, each member by name; the unit visited, by its name.
    letters = [("", "、".join(f"{name}同志" for name in members), False, [m["email"] for m in visit.members])] if members else []
    if contacts:
        letters.append((":unit", unit_name, True, [email for _, email in contacts]))
    created = 0
    for suffix, greeting, to_unit, to in letters:
        rendered = render("visit_invitation", settings, greeting=greeting, to_unit=to_unit, **common)
        subject = rendered.subject if visit.sequence == 0 else f"【时间调整】{rendered.subject}"
        _, new = queue(
            session, settings, key=f"visit:{visit.uid}:{visit.sequence}{suffix}", kind="visit_invitation", to=to,
            subject=subject, text=rendered.text, html=rendered.html,
            attachments=[Attachment("invite.ics", ics, "text/calendar; method=REQUEST")], cycle_code=cycle.code,
        )
        created += new
    return created


def confirm_visits(session: Session, settings: Settings, cycle: Cycle, visit_plan: VisitPlan, *, actor: str) -> int:
    require_open(cycle)
    existing = session.exec(select(Visit).where(Visit.cycle_id == cycle.id)).all()
    if existing:
        raise Conflict(f"{cycle.code} 的实地调研已经确认（{len(existing)} 次）：调整某次调研请用 `kaoping visits move`。")
    units = {u.code: u for u in session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id))}
    teams = {t.name: t for t in visit_plan.problem.teams}
    queued = 0
    for code, slot in visit_plan.plan.visits.items():
        start, end = visit_times(slot, settings.tz)
        visit = Visit(cycle_id=cycle.id, unit_id=units[code].unit_id, team=slot.team,
                      members=[{"name": m.name, "email": m.email} for m in teams[slot.team].members],
                      day=slot.day, part=slot.part, starts_at=start, ends_at=end,
                      uid=f"visit-{cycle.code}-{code}@kaoping")
        session.add(visit)
        session.flush()
        queued += _queue_invitation(session, settings, cycle, visit, units[code].short_name,
                                    _unit_contacts(session, units[code].unit_id))
    audit.append(session, actor=actor, action="visits.confirm", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
                 after={"visits": len(visit_plan.plan.visits), "days": [d.isoformat() for d in visit_plan.problem.days]},
                 reason="确认实地调研安排")
    return queued


def move_visit(session: Session, settings: Settings, cycle: Cycle, *, unit: str, day: date, part: str | None,
               actor: str, reason: str = "") -> Visit:
    require_open(cycle)
    directory = UnitDirectory.load(session)
    target = directory.resolve(unit)
    visit = session.exec(select(Visit).where(Visit.cycle_id == cycle.id, Visit.unit_id == target.id)).first()
    if visit is None:
        raise NotFound(f"{target.short_name} 在 {cycle.code} 没有已确认的实地调研。")
    if not WorkCalendar.load(session).is_workday(day):
        raise InvalidInput(f"{day} 不是工作日：实地调研只安排在工作日。")
    parts = {p: (start, end) for p, start, end in PARTS["half"] + PARTS["whole"]}
    part = part or visit.part
    if part not in parts:
        raise InvalidInput(f"时段“{part}”无效：应为 上午、下午 或 全天。")
    emails = {m["email"] for m in visit.members}
    for other in session.exec(select(Visit).where(Visit.day == day, Visit.id != visit.id)):
        overlap = other.part == part or "全天" in (other.part, part)
        if overlap and (other.team == visit.team or emails & {m["email"] for m in other.members}):
            raise Conflict(f"{day} {part} {visit.team}（或其成员）已安排调研其他单位：请换一个日期或时段。")
    before = {"day": visit.day.isoformat(), "part": visit.part, "sequence": visit.sequence}
    start, end = visit_times(Slot(day, visit.team, part, *parts[part]), settings.tz)
    visit.day, visit.part, visit.starts_at, visit.ends_at = day, part, start, end
    visit.sequence += 1
    session.add(visit)
    session.flush()
    cu = session.exec(select(CycleUnit).where(CycleUnit.cycle_id == cycle.id, CycleUnit.unit_id == target.id)).one()
    _queue_invitation(session, settings, cycle, visit, cu.short_name, _unit_contacts(session, target.id))
    audit.append(session, actor=actor, action="visits.move", entity=f"cycle:{cycle.code}/unit:{target.code}",
                 cycle_code=cycle.code, before=before, after={"day": day.isoformat(), "part": part, "sequence": visit.sequence},
                 reason=reason or "调整实地调研时间")
    return visit


def check_visit_order(session: Session, cycle: Cycle, start: date, *, reason: str, actor: str) -> str:
    """Visits check what the units reported (办法三(一), issue 27): a window typed at the command line that
    starts before the plan's earliest visit day (the policy's working days after the self-assessment
    deadline) is refused without a reason; with one, the reason is kept on the plan (stated in the 报告)
    and audited. Returns a note for the operator ("" when the window is in order or no plan exists)."""
    from kaoping.models import CyclePlan
    from kaoping.services.cycles.cycle import policy_of

    plan = session.exec(select(CyclePlan).where(CyclePlan.cycle_id == cycle.id)).first()
    if plan is None:
        return ""
    after = policy_of(session, cycle).visits.after_returns_workdays
    earliest = WorkCalendar.load(session).add_workdays(plan.self_assessment_deadline, after)
    if start >= earliest:
        return ""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(f"实地调研开始日期 {start} 早于自评表截止（{plan.self_assessment_deadline}）后第 {after} 个工作日"
                           f"（{earliest}）：调研组应对照各单位报送的自评内容实地核实（办法三(一)）。请从 {earliest} 或以后开始，"
                           "确需提前的请用 --reason 写明理由（记入审计日志并在报告中说明）。")
    before = plan.visit_early_reason
    plan.visit_early_reason = reason
    session.add(plan)
    audit.append(session, actor=actor, action="cycle.visit_early", entity=f"cycle:{cycle.code}", cycle_code=cycle.code,
                 before={"visit_early_reason": before}, after={"visit_start": start, "visit_early_reason": reason},
                 reason=reason)
    return f"实地调研 {start} 开始，早于自评表截止后第 {after} 个工作日（{earliest}）；理由已记录并将在报告中说明：{reason}"
