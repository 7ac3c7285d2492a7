"""The objection window (异议期) of a cycle: opened after the verification sign-off, when every
unit receives its provisional 反馈函 (征求意见稿); open for N Chinese working days (the cycle's
policy, ``objections.workdays``); the approval waits until it has closed and every objection is
decided. Whether the window is open is a question of the stored dates and today (Beijing)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, func, select

from kaoping.domain.clock import chinese_date, local_date
from kaoping.domain.policy import ObjectionPolicy
from kaoping.models import (
    AuditEntry,
    Cycle,
    Objection,
    ObjectionStatus,
    ObjectionWindow,
)
from kaoping.models.types import utcnow
from kaoping.services.cycles.cycle import policy_of
from kaoping.services.reference.workdays import WorkCalendar
from kaoping.settings import OFFICE_TIMEZONE

ACTOR = "flow:half_year_cycle"


def objection_policy(session: Session, cycle: Cycle) -> ObjectionPolicy:
    return policy_of(session, cycle).objections


def window_of(session: Session, cycle: Cycle) -> ObjectionWindow | None:
    return session.exec(select(ObjectionWindow).where(ObjectionWindow.cycle_id == cycle.id)).first()


def _last_entry(session: Session, cycle: Cycle, action: str) -> int:
    return session.exec(select(func.max(AuditEntry.seq)).where(AuditEntry.cycle_code == cycle.code,
                                                               AuditEntry.action == action)).one() or 0


def results_digest(session: Session, cycle: Cycle) -> str:
    """A digest of the results as they stand: every unit's item scores, total, rank and grade."""
    from kaoping.services.scoring.results import compute_cycle, result_rows

    inputs, results = compute_cycle(session, cycle, detailed=True)
    items = {r.unit.code: [[i.number, str(i.value)] for i in r.items] for r in results}
    rows = [[row["unit_code"], str(row["total"]), row["rank"], row["grade"], items.get(row["unit_code"], [])]
            for row in result_rows(inputs, results)]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


def signed_again(session: Session, cycle: Cycle, window: ObjectionWindow) -> bool:
    """The verification was signed again after the provisional 反馈函 went out — the approver sent the
    cycle back (退回修改) or it was reopened, and the team re-verified — and the results are no longer
    the ones the units were sent (and told of, for upheld objections): they get a new provisional
    letter and a new window. Re-signed without a change (维持原分), the approval goes on."""
    opened = _last_entry(session, cycle, "objections.window.open")
    if not opened or _last_entry(session, cycle, "cycle.verified") <= opened:
        return False
    try:
        return results_digest(session, cycle) != window.results_digest
    except Exception:  # noqa: BLE001 - results that cannot be computed: the sign-off would have refused
        return False


def closing_day(calendar: WorkCalendar, opened_on: date, workdays: int) -> date:
    """The ``workdays``-th Chinese working day after ``opened_on`` (the day the letters go out does
    not count; statutory holidays and 调休 as the calendar has them): opened on Friday 2022-09-30
    with 3 days, the window skips 国庆 (10-01…10-07) and closes on Monday 10-10 (10-08 and 10-09,
    a weekend, were 调休 working days)."""
    day, left = opened_on, workdays
    while left > 0:
        day += timedelta(days=1)
        left -= calendar.is_workday(day)
    return day


def office_today() -> date:
    return local_date(utcnow(), ZoneInfo(OFFICE_TIMEZONE))


def open_objections(session: Session, cycle: Cycle) -> int:
    return session.exec(select(func.count()).select_from(Objection).where(
        Objection.cycle_id == cycle.id, Objection.status == ObjectionStatus.open)).one()


@dataclass(frozen=True)
class WindowState:
    enabled: bool
    window: ObjectionWindow | None
    is_open: bool  # today is within the window
    open_objections: int
    total: int
    again: bool = False  # verification signed again after the letters went out: a new round is due

    @property
    def step(self) -> str:
        """What the cycle does about objections now: ``open`` the window (again), ``wait``, or ``done``."""
        if not self.enabled:
            return "done"
        if self.window is None or self.again:
            return "open"
        return "wait" if self.is_open or self.open_objections else "done"

    def detail(self) -> str:
        if not self.enabled:
            return "本周期计分规则未设异议期"
        if self.window is None:
            return "核实签字后向各单位发送征求意见稿反馈函"
        if self.again:
            return (f"{self.window.opened_on:%Y-%m-%d} 发出的征求意见稿已过时（退回修改后重新核实签字），"
                    "待重新发送、开始新一轮异议期")
        w = self.window
        text = (f"{w.opened_on:%Y-%m-%d} 发出征求意见稿 {w.letters} 份，{w.closes_on:%Y-%m-%d} 截止；"
                f"收到异议 {self.total} 项")
        return text + (f"，待处理 {self.open_objections} 项" if self.open_objections else "")

    def waiting_for(self) -> str:
        if self.window is None:
            return "向各单位发送初步结果反馈函（征求意见稿），开始异议期。"
        if self.again:
            return "退回修改后已重新核实签字：向各单位重新发送初步结果反馈函（征求意见稿），开始新一轮异议期。"
        if self.is_open:
            return (f"异议期至 {self.window.closes_on:%Y-%m-%d}（含）截止，截止后由每日推进流程提请分管领导审定"
                    f"（已收异议 {self.total} 项）。")
        return f"待处理异议 {self.open_objections} 项：`kaoping objections list` 查看，`kaoping objections decide` 处理。"


def window_state(session: Session, cycle: Cycle, *, today: date) -> WindowState:
    enabled = objection_policy(session, cycle).enabled
    window = window_of(session, cycle)
    total = session.exec(select(func.count()).select_from(Objection).where(Objection.cycle_id == cycle.id)).one()
    again = enabled and window is not None and signed_again(session, cycle, window)
    return WindowState(enabled, window, window is not None and not again and today <= window.closes_on,
                       open_objections(session, cycle), total, again)


def approval_blockers(session: Session, cycle: Cycle, *, today: date | None = None) -> list[str]:
    """Why the approval cannot be requested yet because of the objection stage ([] if it can)."""
    state = window_state(session, cycle, today=today or office_today())
    if state.step == "done":
        return []
    if state.window is None:
        return [f"{cycle.code} 尚未向各单位发送初步结果反馈函（征求意见稿）、开始异议期：请运行半年考评流程（部署“半年考评”），"
                f"或 `kaoping objections open --cycle {cycle.code}`。"]
    if state.again:
        return [f"{cycle.code} 在征求意见稿发出后被退回修改并重新核实签字，各单位尚未看到修改后的结果：须重新发送征求意见稿、"
                f"开始新一轮异议期（半年考评流程会自动发送，或 `kaoping objections open --cycle {cycle.code}`）。"]
    problems = []
    if state.is_open:
        problems.append(f"{cycle.code} 的异议期至 {chinese_date(state.window.closes_on)}（含）截止，截止后才能提请审定。")
    if state.open_objections:
        problems.append(f"{cycle.code} 还有 {state.open_objections} 项异议待处理：请用 `kaoping objections decide` 逐项处理。")
    return problems


def current_ranks(session: Session, cycle: Cycle) -> dict[str, list]:
    """unit code → [short name, rank in its group, published total] as the results stand."""
    from kaoping.services.scoring.results import compute_cycle, result_rows

    inputs, results = compute_cycle(session, cycle)
    return {r["unit_code"]: [r["unit_name"], r["rank"], str(r["total"])] for r in result_rows(inputs, results)}


def letter_key(cycle: Cycle, unit_code: str, round_: int = 1) -> str:
    """The outbox key of a unit's provisional 反馈函 email (its Message-ID is derived from it); a
    later round (after a send-back) has its own: ``objection-letter:2022H1:150204:2``."""
    return f"objection-letter:{cycle.code}:{unit_code}" + (f":{round_}" if round_ > 1 else "")
