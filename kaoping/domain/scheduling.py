"""Field visit scheduling (实地调研安排): pure, no database.

Slots are (working day, team, part of day). A schedule visits every unit once, only on
working days, never sends a team to a unit one of its members belongs to or declared a
conflict with (回避), never books a member twice at the same time (a member may sit on
two teams), respects blackout dates of units and members, keeps each team within its
visits per day, and spreads the load over teams and days.

The assignment is a bipartite matching of units to slots: most-constrained units first,
each to its least-loaded feasible slot; a unit left without one is fitted in by moving
others along an augmenting path (so a schedule is found whenever one exists). When none
exists, ``explain_infeasible`` says which constraint fails, with the numbers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time

from kaoping.domain.errors import InvalidInput

PARTS = {"half": [("上午", time(9, 0), time(12, 0)), ("下午", time(14, 30), time(17, 30))],
         "whole": [("全天", time(9, 0), time(17, 30))]}


@dataclass(frozen=True)
class Member:
    name: str
    email: str
    unit: str = ""  # the unit the member works for (by code): never visits it
    conflicts: frozenset[str] = frozenset()  # unit codes declared (回避)
    blackout: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Team:
    name: str
    members: tuple[Member, ...]
    max_per_day: int = 2
    blackout: frozenset[date] = frozenset()

    def excluded_units(self) -> set[str]:
        out: set[str] = set()
        for m in self.members:
            out |= set(m.conflicts) | ({m.unit} if m.unit else set())
        return out


@dataclass(frozen=True)
class Slot:
    day: date
    team: str
    part: str
    start: time
    end: time

    @property
    def key(self) -> tuple:
        return (self.day, self.team, self.part)


@dataclass
class Plan:
    visits: dict[str, Slot]  # unit code → slot
    days: list[date]

    def load(self) -> tuple[Counter, Counter]:
        return Counter(s.team for s in self.visits.values()), Counter(s.day for s in self.visits.values())


@dataclass
class Problem:
    units: list[str]
    unit_names: dict[str, str]
    teams: list[Team]
    days: list[date]  # working days of the window
    length: str = "half"
    unit_blackout: dict[str, set[date]] = field(default_factory=dict)


def slots_of(problem: Problem) -> list[Slot]:
    parts = PARTS[problem.length]
    slots = []
    for day in problem.days:
        for team in problem.teams:
            if day in team.blackout or any(day in m.blackout for m in team.members):
                continue
            for part, start, end in parts[: team.max_per_day]:
                slots.append(Slot(day, team.name, part, start, end))
    return slots


def _feasible(problem: Problem, slots: list[Slot]) -> dict[str, list[Slot]]:
    excluded = {t.name: t.excluded_units() for t in problem.teams}
    options = {}
    for unit in problem.units:
        blocked = problem.unit_blackout.get(unit, set())
        options[unit] = [s for s in slots if unit not in excluded[s.team] and s.day not in blocked]
    return options


class _Bookings:
    """Who is busy when: (member email, day, part). Only members on several teams can clash."""

    def __init__(self, teams: list[Team]):
        count = Counter(m.email for t in teams for m in t.members)
        self.shared = {t.name: [m.email for m in t.members if count[m.email] > 1] for t in teams}
        self.busy: Counter = Counter()

    def _keys(self, slot: Slot):
        return [(email, slot.day, slot.part) for email in self.shared[slot.team]]

    def clash(self, slot: Slot) -> bool:
        for email in self.shared[slot.team]:
            if slot.part == "全天":
                if any(k[0] == email and k[1] == slot.day for k in self.busy if self.busy[k]):
                    return True
            elif self.busy[(email, slot.day, slot.part)] or self.busy[(email, slot.day, "全天")]:
                return True
        return False

    def book(self, slot: Slot) -> None:
        for key in self._keys(slot):
            self.busy[key] += 1


def schedule(problem: Problem) -> Plan:
    """A plan visiting every unit once, or ``InvalidInput`` saying exactly what does not fit."""
    slots = slots_of(problem)
    options = _feasible(problem, slots)
    reason = explain_infeasible(problem, slots, options)
    if reason:
        raise InvalidInput(reason)
    bookings = _Bookings(problem.teams)
    taken: dict[tuple, str] = {}  # slot key → unit
    assigned: dict[str, Slot] = {}
    team_load: Counter = Counter()
    day_load: Counter = Counter()
    for unit in sorted(problem.units, key=lambda u: (len(options[u]), u)):
        free = [s for s in options[unit] if s.key not in taken and not bookings.clash(s)]
        if free:
            best = min(free, key=lambda s: (team_load[s.team] + day_load[s.day], day_load[s.day], s.day, s.team, s.part))
            taken[best.key], assigned[unit] = unit, best
            bookings.book(best)
            team_load[best.team] += 1
            day_load[best.day] += 1
            continue
        if not _augment(unit, options, taken, assigned, bookings, set()):
            shared = sorted({m.name for t in problem.teams for m in t.members
                             if sum(m.email in {x.email for x in other.members} for other in problem.teams) > 1})
            hint = (f"其中 {'、'.join(shared)} 同时在几个调研组，这些组不能同时调研，实际可用时段更少；" if shared else "")
            raise InvalidInput(
                f"无法为{problem.unit_names.get(unit, unit)}安排调研时段：它可用的 {len(options[unit])} 个时段都已排给其他单位，"
                f"调整其他单位也腾不出来。{hint}请增加调研组、放宽日期或调整回避关系和不便接待日期。"
            )
    return Plan(dict(sorted(assigned.items(), key=lambda kv: (kv[1].day, kv[1].team, kv[1].start))), problem.days)


def _augment(unit: str, options, taken, assigned, bookings: _Bookings, seen: set) -> bool:
    """Give ``unit`` a slot by moving the unit that holds one of its options elsewhere."""
    for slot in options[unit]:
        if slot.key in seen:
            continue
        seen.add(slot.key)
        holder = taken.get(slot.key)
        if holder is None:
            if bookings.clash(slot):
                continue
            taken[slot.key], assigned[unit] = unit, slot
            bookings.book(slot)
            return True
        # The slot stays booked for its team (``unit`` takes it over): the holder must find a
        # slot elsewhere that clashes with nothing, this one included.
        if _augment(holder, options, taken, assigned, bookings, seen):
            taken[slot.key], assigned[unit] = unit, slot
            return True
    return False


def explain_infeasible(problem: Problem, slots: list[Slot], options: dict[str, list[Slot]]) -> str:
    """The first constraint that makes a complete schedule impossible, in numbers ("" if none found)."""
    n_units, n_slots = len(problem.units), len(slots)
    names = problem.unit_names
    if not problem.days:
        return "调研时间窗口内没有工作日：请放宽起止日期（周末、法定节假日不安排调研）。"
    per_day = PARTS[problem.length]
    per_team = sorted({min(t.max_per_day, len(per_day)) for t in problem.teams}) or [0]
    per_team_text = str(per_team[0]) if len(per_team) == 1 else f"{per_team[0]}–{per_team[-1]}"
    capacity_text = (f"{len(problem.teams)} 个调研组 × 每天 {per_team_text} 次（{'半天' if problem.length == 'half' else '全天'}一次）"
                     f" × {len(problem.days)} 个工作日 = {n_slots} 个时段")
    if n_units > n_slots:
        return f"{n_units} 个单位，但只有 {capacity_text}：请增加调研组、延长时间窗口或提高每组每天的调研次数。"
    none = [u for u in problem.units if not options[u]]
    if none:
        blacked = [u for u in none if problem.unit_blackout.get(u) and all(d in problem.unit_blackout[u] for d in problem.days)]
        conflicted = [u for u in none if u not in blacked]
        parts = []
        if blacked:
            parts.append(f"{len(blacked)} 个单位在所有工作日都不便接待（{'、'.join(names.get(u, u) for u in blacked)}）")
        if conflicted:
            parts.append(f"{len(conflicted)} 个单位因回避（成员所在单位或申报回避）没有可去的调研组"
                         f"（{'、'.join(names.get(u, u) for u in conflicted)}）")
        return f"{n_units} 个单位，{capacity_text}，但{'；'.join(parts)}。请调整不便接待日期、调研组成员或回避关系。"
    # Hall's condition on the days: units that can only be visited on a few days.
    by_days: dict[frozenset, list[str]] = defaultdict(list)
    for unit in problem.units:
        by_days[frozenset(s.day for s in options[unit])].append(unit)
    for days, units in sorted(by_days.items(), key=lambda kv: len(kv[0])):
        competing = [u for u in problem.units if {s.day for s in options[u]} <= days]
        room = len({s.key for u in competing for s in options[u]})
        if len(competing) > room:
            shown = "、".join(f"{d.month}月{d.day}日" for d in sorted(days))
            return (f"{len(competing)} 个单位只能在 {shown} 接待，这些日期只有 {room} 个可用时段"
                    f"（{'、'.join(names.get(u, u) for u in competing[:10])}{'等' if len(competing) > 10 else ''}）。")
    return ""


def load_teams(data: dict, *, resolve_unit, default_max: int = 2) -> tuple[list[Team], dict[str, set[date]]]:
    """Teams and unit blackouts from a YAML document (see README: 实地调研)."""
    from email_validator import EmailNotValidError

    from kaoping.domain.text import normalize_email

    problems: list[str] = []

    def dates(values, where) -> frozenset[date]:
        out = set()
        for v in values or []:
            try:
                out.add(v if isinstance(v, date) else date.fromisoformat(str(v)))
            except ValueError:
                problems.append(f"{where}：日期“{v}”格式不对，应为 YYYY-MM-DD。")
        return frozenset(out)

    teams = []
    for i, t in enumerate(data.get("teams") or [], start=1):
        name = str(t.get("name") or f"调研{i}组")
        members = []
        for m in t.get("members") or []:
            where = f"{name} 成员 {m.get('name', '?')}"
            unit = resolve_unit(m["unit"], where, problems) if m.get("unit") else ""
            conflicts = frozenset(c for c in (resolve_unit(x, where, problems) for x in m.get("conflicts") or []) if c)
            try:
                email = normalize_email(str(m.get("email", "")))
            except EmailNotValidError as exc:
                problems.append(f"{where}：邮箱“{m.get('email', '')}”无效（{exc}）。")
                continue
            members.append(Member(str(m.get("name", "")), email, unit or "", conflicts, dates(m.get("blackout"), where)))
        if not t.get("members"):
            problems.append(f"{name}：没有成员。")
        teams.append(Team(name, tuple(members), int(t.get("max_per_day", data.get("max_per_day", default_max))),
                          dates(t.get("blackout"), name)))
    if not teams:
        problems.append("没有调研组：文件中应有 teams 列表，每组有 name、members（name、email，可选 unit、conflicts、blackout）。")
    blackout: dict[str, set[date]] = {}
    for written, values in (data.get("unit_blackout") or {}).items():
        code = resolve_unit(written, "unit_blackout", problems)
        if code:
            blackout[code] = set(dates(values, f"unit_blackout {written}"))
    if problems:
        raise InvalidInput(f"调研组文件有 {len(problems)} 处问题：", problems)
    return teams, blackout


def visit_times(slot: Slot, tz) -> tuple[datetime, datetime]:
    return datetime.combine(slot.day, slot.start, tz), datetime.combine(slot.day, slot.end, tz)
