"""Field visit scheduling as pure rules: properties that hold for every plan produced
(no database; the plans through `kaoping visits plan|confirm|move` are in tests/cli/test_visits_plan.py)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kaoping.domain.errors import InvalidInput
from kaoping.domain.scheduling import Member, Problem, Team, schedule
from kaoping.services.reference.workdays import WorkCalendar

CAL = WorkCalendar()


# --------------------------------------------------------------------------- properties


@st.composite
def problems(draw):
    start = date(2026, 1, 26) + timedelta(days=draw(st.integers(0, 40)))
    days = [start + timedelta(days=i) for i in range(draw(st.integers(1, 15)))]
    days = [d for d in days if CAL.is_workday(d)]
    units = [f"U{i}" for i in range(draw(st.integers(1, 25)))]
    people = [Member(f"p{i}", f"p{i}@x.example", unit=draw(st.sampled_from(units + [""])),
                     conflicts=frozenset(draw(st.lists(st.sampled_from(units), max_size=2))),
                     blackout=frozenset(draw(st.lists(st.sampled_from(days or [start]), max_size=2))))
              for i in range(draw(st.integers(1, 6)))]
    teams = []
    for t in range(draw(st.integers(1, 4))):
        members = tuple(draw(st.lists(st.sampled_from(people), min_size=1, max_size=3, unique=True)))
        teams.append(Team(f"T{t}", members, draw(st.integers(1, 2))))
    blackout = {u: set(draw(st.lists(st.sampled_from(days or [start]), max_size=3))) for u in units}
    return Problem(units, {u: u for u in units}, teams, days, draw(st.sampled_from(["half", "whole"])), blackout)


@hsettings(max_examples=200, deadline=None)
@given(problems())
def test_no_plan_double_books_a_member_or_lands_on_a_non_working_day(problem):
    try:
        plan = schedule(problem)
    except InvalidInput as exc:
        assert exc.message  # an explanation, never a crash
        return
    assert set(plan.visits) == set(problem.units)  # every unit visited once
    teams = {t.name: t for t in problem.teams}
    seen = set()
    for unit, slot in plan.visits.items():
        assert CAL.is_workday(slot.day)
        assert slot.day not in problem.unit_blackout.get(unit, set())
        assert unit not in teams[slot.team].excluded_units()
        for member in teams[slot.team].members:
            assert slot.day not in member.blackout
            for part in ({"上午", "下午"} if slot.part == "全天" else {slot.part, "全天"}):
                assert (member.email, slot.day, part) not in seen
            seen.add((member.email, slot.day, slot.part))
