"""Field visit scheduling on Chinese working days: a feasible Baotou plan across Spring
Festival 2026, conflicts of interest, an infeasible case explained, moving one visit, and
properties that hold for every plan produced."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml
from icalendar import Calendar
from kaoping.models import OutboxMessage, Visit
from kaoping.notifications.outbox import load_attachment
from sqlmodel import select

from kaoping import db
from kaoping.services.reference.workdays import WorkCalendar
from tests import factories
from tests.conftest import write

#: What these commands leave in the database is checked on PostgreSQL too (tests/conftest.py: SQLITE_ONLY_FOLDERS).
BOTH_BACKENDS = {"test_bad_teams_file", "test_feasible_baotou_plan_across_spring_festival",
                 "test_infeasible_plan_says_which_constraint_fails",
                 "test_moving_one_visit_updates_the_same_calendar_entry",
                 "test_shared_member_limits_capacity_and_says_so", "test_too_many_units_and_no_working_days"}

CAL = WorkCalendar()
DEPARTMENTS = ["spfw", "zfb", "gaj", "zjj", "wjw", "ybj", "wlgd", "tyj", "jyj", "rsj", "mzj", "scjg", "ggzy", "jrb", "gxj",
               "swj", "zrzy", "czj", "cgzf", "sthj"]
DISTRICTS = ["150202", "150203", "150204", "150205", "150206", "150207", "150221", "150222", "150223", "xtgx"]


def teams_yaml(**extra) -> str:
    data = {
        "max_per_day": 2,
        "teams": [
            {"name": "调研一组", "members": [{"name": "张三", "email": "zhangsan@baotou.example", "unit": "东河区"},
                                          {"name": "李四", "email": "lisi@baotou.example", "conflicts": ["市工信局"]}]},
            {"name": "调研二组", "members": [{"name": "王五", "email": "wangwu@baotou.example", "unit": "市审批服务局"},
                                          {"name": "李四", "email": "lisi@baotou.example"}]},
            {"name": "调研三组", "members": [{"name": "赵六", "email": "zhaoliu@baotou.example"}],
             "blackout": ["2026-02-10"]},
        ],
        **extra,
    }
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.fixture
def cycle_2026(initialized, settings, tmp_path):
    factories.copy_catalog(settings, from_year=2022, to_year=2026, folder=tmp_path)
    factories.open_cycle(settings, "2026H1")
    return initialized


def plan_args(tmp_path, **extra):
    teams = write(tmp_path / "teams.yaml", teams_yaml(**extra))
    units = [a for code in DISTRICTS + DEPARTMENTS for a in ("--unit", code)]
    # 2026-02-09 … 02-26: 9 working days, with the make-up Saturday 02-14 and the 春节 holiday 02-15 … 02-23.
    return ["--cycle", "2026H1", "--from", "2026-02-09", "--to", "2026-02-26", "--teams", teams, *units]


def test_feasible_baotou_plan_across_spring_festival(cycle_2026, settings, tmp_path):
    cli = cycle_2026
    result = cli("visits", "confirm", *plan_args(tmp_path))
    assert result.exit_code == 0, result.output
    with db.session_scope(settings) as session:
        visits = session.exec(select(Visit)).all()
    assert len(visits) == 30
    days = {v.day for v in visits}
    assert all(CAL.is_workday(d) for d in days)
    assert not days & {date(2026, 2, 16) + timedelta(days=i) for i in range(8)}  # 春节 holiday
    assert date(2026, 2, 14) in days  # the make-up Saturday is a working day: used
    by_unit = {v.unit_id: v for v in visits}
    with db.session_scope(settings) as session:
        from kaoping.services.reference.registry import UnitDirectory

        d = UnitDirectory.load(session)
        donghe, gxj, spfw = d.resolve("东河区").id, d.resolve("市工信局").id, d.resolve("市审批服务局").id
    assert by_unit[donghe].team != "调研一组" and by_unit[gxj].team != "调研一组" and by_unit[spfw].team != "调研二组"
    assert not any(v.team == "调研三组" and v.day == date(2026, 2, 10) for v in visits)
    # 李四 sits on two teams: never in two places at once.
    lisi = [(v.day, v.part) for v in visits if "lisi@baotou.example" in {m["email"] for m in v.members}]
    assert len(lisi) == len(set(lisi))
    # The load is spread over the teams (李四's two teams share his time).
    from collections import Counter

    load = Counter(v.team for v in visits)
    assert max(load.values()) - min(load.values()) <= 4 and sum(load.values()) == 30
    with db.session_scope(settings) as session:
        invites = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "visit_invitation")).all()
    # Two letters per visit with the one invitation (issue 26 item 4): the team, each member by name, and
    # the unit visited, by its name — never a unit's name on a team member's letter.
    assert len(invites) == 60
    team, unit = (m for m in invites if m.idempotency_key.startswith(f"visit:{by_unit[donghe].uid}:0"))
    assert all(any(a["filename"] == "invite.ics" for a in m.attachments) for m in (team, unit))
    members = by_unit[donghe].members
    assert team.to == [m["email"] for m in members] and not any(a.startswith(("liaison@", "head@")) for a in team.to)
    assert team.text_body.startswith("、".join(f"{m['name']}同志" for m in members) + "：")
    assert "你单位" not in team.text_body and "到东河区开展实地调研" in team.text_body
    assert unit.idempotency_key.endswith(":unit") and all(a.startswith(("liaison@", "head@")) for a in unit.to)
    assert unit.text_body.startswith("东河区：") and "到你单位开展实地调研" in unit.text_body
    assert "（星期" in team.subject and team.subject == unit.subject


def test_shared_member_limits_capacity_and_says_so(cycle_2026, tmp_path):
    args = plan_args(tmp_path)
    args[args.index("2026-02-26")] = "2026-02-24"  # 7 working days: 李四's two teams cannot cover 30 units
    result = cycle_2026("visits", "plan", *args)
    assert result.exit_code != 0 and "李四 同时在几个调研组" in result.output


def test_infeasible_plan_says_which_constraint_fails(cycle_2026, tmp_path):
    teams = write(tmp_path / "teams.yaml", yaml.safe_dump({
        "teams": [{"name": "一组", "members": [{"name": "甲", "email": "jia@baotou.example"}]},
                  {"name": "二组", "members": [{"name": "乙", "email": "yi@baotou.example"}]}],
        "unit_blackout": {"东河区": ["2026-03-02", "2026-03-03", "2026-03-04"],
                          "青山区": ["2026-03-02", "2026-03-03", "2026-03-04"]},
    }, allow_unicode=True))
    units = [a for code in DISTRICTS + ["gxj", "wjw"] for a in ("--unit", code)]
    result = cycle_2026("visits", "plan", "--cycle", "2026H1", "--from", "2026-03-02", "--to", "2026-03-04",
                        "--teams", teams, *units)
    assert result.exit_code != 0
    assert "12 个单位" in result.output and "2 个调研组 × 每天 2 次" in result.output and "3 个工作日 = 12 个时段" in result.output
    assert "2 个单位在所有工作日都不便接待（东河区、青山区）" in result.output


def test_too_many_units_and_no_working_days(cycle_2026, tmp_path):
    teams = write(tmp_path / "teams.yaml", yaml.safe_dump({"teams": [{"name": "一组", "members": [
        {"name": "甲", "email": "jia@baotou.example"}]}]}, allow_unicode=True))
    few = cycle_2026("visits", "plan", "--cycle", "2026H1", "--from", "2026-03-02", "--to", "2026-03-03", "--teams", teams)
    assert few.exit_code != 0 and "36 个单位，但只有" in few.output
    holiday = cycle_2026("visits", "plan", "--cycle", "2026H1", "--from", "2026-02-16", "--to", "2026-02-22", "--teams", teams)
    assert holiday.exit_code != 0 and "没有工作日" in holiday.output


def test_moving_one_visit_updates_the_same_calendar_entry(cycle_2026, settings, tmp_path):
    cli = cycle_2026
    assert cli("visits", "confirm", *plan_args(tmp_path)).exit_code == 0
    with db.session_scope(settings) as session:
        from kaoping.services.reference.registry import UnitDirectory

        donghe = UnitDirectory.load(session).resolve("东河区").id
        before = session.exec(select(Visit).where(Visit.unit_id == donghe)).one()
    holiday = cli("visits", "move", "--cycle", "2026H1", "--unit", "东河区", "--date", "2026-02-17")
    assert holiday.exit_code != 0 and "不是工作日" in holiday.output
    moved = cli("visits", "move", "--cycle", "2026H1", "--unit", "东河区", "--date", "2026-03-02", "--part", "下午",
                "--reason", "单位申请调整")
    assert moved.exit_code == 0, moved.output
    with db.session_scope(settings) as session:
        after = session.exec(select(Visit).where(Visit.unit_id == donghe)).one()
        update = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"visit:{after.uid}:1")).one()
    assert after.uid == before.uid and after.sequence == 1 and after.day == date(2026, 3, 2) and after.part == "下午"
    assert update.subject.startswith("【时间调整】")
    with db.session_scope(settings) as session:
        ics = load_attachment(session, settings, update.attachments[0]["sha256"])
    event = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert event["uid"] == before.uid and event["sequence"] == 1
    assert event.decoded("dtstart").hour == 14


def test_bad_teams_file(cycle_2026, tmp_path):
    teams = write(tmp_path / "teams.yaml", yaml.safe_dump({"teams": [{"name": "一组", "members": [
        {"name": "甲", "email": "not-an-address", "unit": "东合区"}]}]}, allow_unicode=True))
    result = cycle_2026("visits", "plan", "--cycle", "2026H1", "--from", "2026-03-02", "--to", "2026-03-13", "--teams", teams)
    assert result.exit_code != 0 and "not-an-address" in result.output and "东合区" in result.output and "东河区" in result.output
