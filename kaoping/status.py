"""Where a cycle stands (`kaoping status`): returns received vs expected per kind of form,
per unit and per lead assessor, late units, the outbox, and the sign-offs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, func, select

from kaoping.cycles import cycle_label
from models import (
    Cycle,
    CycleStatus,
    FormKind,
    IssuedForm,
    MessageStatus,
    OutboxMessage,
    ReceivedFile,
    SignoffRequest,
    Submission,
    Unit,
)


@dataclass
class KindStatus:
    kind: FormKind
    expected: int
    received: int
    late: list[str] = field(default_factory=list)  # returned after the deadline
    overdue: list[str] = field(default_factory=list)  # not returned, deadline passed
    waiting: list[str] = field(default_factory=list)  # not returned, deadline not passed


@dataclass
class CycleStatusReport:
    cycle: Cycle
    kinds: list[KindStatus]
    outbox: dict[str, int]
    signoffs: list[str]

    def lines(self) -> list[str]:
        c = self.cycle
        out = [f"{cycle_label(c)}考评 {c.code}：{CycleStatus(c.status).label}"]
        if not self.kinds:
            out.append("  尚未下发任何表格（kaoping forms send）。")
        for k in self.kinds:
            out.append(f"  {k.kind.label}：应收 {k.expected}，已收 {k.received}" + (f"（其中逾期 {len(k.late)}）" if k.late else ""))
            if k.overdue:
                out.append(f"    逾期未交：{'、'.join(k.overdue)}")
            if k.waiting and len(k.waiting) <= 12:
                out.append(f"    待交：{'、'.join(k.waiting)}")
            elif k.waiting:
                out.append(f"    待交：{len(k.waiting)} 个单位")
            if k.late:
                out.append(f"    逾期报送：{'、'.join(k.late)}")
        box = "，".join(f"{MessageStatus(s).label} {n}" for s, n in sorted(self.outbox.items()))
        out.append(f"  发件箱：{box or '无'}")
        out += [f"  {line}" for line in self.signoffs] or ["  签字：尚未提请"]
        return out


def cycle_status(session: Session, cycle: Cycle, *, today: date) -> CycleStatusReport:
    names = dict(session.exec(select(Unit.id, Unit.short_name)).all())
    accepted = {}
    for details, received_at in session.exec(select(ReceivedFile.details, ReceivedFile.received_at).where(
            ReceivedFile.status == "accepted", ReceivedFile.purpose.like("intake.%"))):
        if details and details.get("form_no"):
            accepted.setdefault(details["form_no"], details.get("late", False))
    late_submissions = {s.unit_id for s in session.exec(select(Submission).where(Submission.cycle_id == cycle.id,
                                                                                   Submission.current, Submission.late))}
    kinds = []
    forms = session.exec(select(IssuedForm).where(IssuedForm.cycle_id == cycle.id, IssuedForm.current)).all()
    for kind in FormKind:
        of_kind = [f for f in forms if f.kind == kind]
        if not of_kind:
            continue
        status = KindStatus(kind, len(of_kind), 0)
        for f in of_kind:
            label = names.get(f.subject_unit_id, "全部考评对象")
            if f.form_no in accepted:
                status.received += 1
                if accepted[f.form_no] or f.subject_unit_id in late_submissions and kind is FormKind.self_assessment:
                    status.late.append(label)
            elif f.deadline and today > f.deadline:
                status.overdue.append(label)
            else:
                status.waiting.append(label)
        kinds.append(status)
    outbox = dict(Counter(dict(session.exec(select(OutboxMessage.status, func.count()).where(
        OutboxMessage.cycle_code == cycle.code).group_by(OutboxMessage.status)).all())))
    signoffs = []
    for r in session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id).order_by(SignoffRequest.id)):
        stage = {"verification": "专班核实", "approval": "分管领导审定"}.get(r.stage, r.stage)
        state = {"pending": "待签字", "used": {"approve": "已签字同意", "reject": "已退回"}.get(r.decision, "已签"),
                 "superseded": "已作废（重新提请）", "locked": "验证码错误次数过多，已作废"}[r.status]
        signoffs.append(f"签字：{stage}（{r.signer_name}）{state}" + (f"，意见：{r.comments}" if r.comments else ""))
    return CycleStatusReport(cycle, kinds, outbox, signoffs)
