"""The verifier's checklist of the lead assessors' own items (自评项核实清单, 办法三(二); issue 27 item 3).

"各牵头考核单位自身工作及考核分值由市政府办公室数字政府专班予以核实": every item a lead assessor scored
for itself is listed to the verifier — grouped by the lead assessor, each with what the unit
reported (完成情况, 完成进度, 佐证材料) and the score it gave itself — attached to the verification
sign-off email and shown in the dialog. The verifier confirms a lead assessor's items together
after they were listed (``confirm_groups``), or items one by one (``kaoping verify confirm``);
each confirmation records what, who, when and how. Nothing is confirmed by default.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from sqlmodel import Session, select

from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import fold
from kaoping.models import Cycle, Submission
from kaoping.services.scoring.entry import CycleContext

#: The reason recorded on each item confirmed with its group; the 报告 counts these apart from the items
#: confirmed one by one (it never calls them 逐项核实).
GROUP_CONFIRMED = "按牵头考核单位分组确认"
CHECKLIST_NAME = "自评项核实清单"


@dataclass(frozen=True)
class ChecklistItem:
    lead: str  # the lead assessor's short name (the unit that scored itself)
    unit_id: int
    indicator_id: int
    number: int
    title: str
    situation: str
    progress: str
    evidence: str
    score: str  # its own score, as entered ("" when not yet scored)
    status: str  # 待核实 | 已核实 | 已调整 | 未评分 | 需重新核实


def checklist(session: Session, cycle: Cycle) -> dict[str, list[ChecklistItem]]:
    """The self-scored items of the cycle by lead assessor (in the registry's order)."""
    from kaoping.services.scoring.verification import item_statuses

    ctx = CycleContext(session, cycle)
    reported = {s.unit_id: {r["number"]: r for r in s.rows}
                for s in session.exec(select(Submission).where(Submission.cycle_id == cycle.id, Submission.current))}
    groups: dict[str, list[ChecklistItem]] = {}
    for status in item_statuses(session, cycle, self_scored_only=True, context=ctx):
        row = reported.get(status.unit_id, {}).get(status.indicator, {})
        own = status.leads.get(status.unit)
        groups.setdefault(status.unit, []).append(ChecklistItem(
            status.unit, status.unit_id, status.indicator_id, status.indicator,
            ctx.indicator_by_id[status.indicator_id].text, row.get("situation", "（未报送自评）" if not row else ""),
            row.get("progress", ""), "；".join(row.get("evidence") or []), "" if own is None else format(own, "f"),
            status.status))
    return groups


def resolve_groups(groups: dict[str, list[ChecklistItem]], written: list[str]) -> list[str]:
    """The lead assessors named (by short name, as listed); ``InvalidInput`` naming any not on the list."""
    names = {fold(name): name for name in groups}
    unknown = [w for w in written if fold(w) not in names]
    if unknown:
        raise InvalidInput(f"“{'、'.join(unknown)}”不在自评项核实清单的牵头考核单位中；清单中的单位："
                           f"{'、'.join(groups) or '（无）'}。")
    return list(dict.fromkeys(names[fold(w)] for w in written))


def checklist_xlsx(groups: dict[str, list[ChecklistItem]], *, title: str) -> bytes:
    """The checklist as a workbook: one row per item, grouped by lead assessor, for the email."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = CHECKLIST_NAME
    sheet.append([title])
    sheet.append(["牵头考核单位（自评）", "指标", "指标内容", "完成情况", "完成进度", "佐证材料", "自评分", "状态"])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for lead, items in groups.items():
        for item in items:
            sheet.append([lead, item.number, item.title, item.situation, item.progress, item.evidence, item.score,
                          item.status])
    for row in sheet.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEFGH", (16, 6, 40, 40, 14, 24, 8, 10), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def checklist_summary(groups: dict[str, list[ChecklistItem]]) -> str:
    """One line per lead assessor: how many of its own items, how many still to confirm."""
    lines = []
    for lead, items in groups.items():
        waiting = sum(1 for i in items if i.status != "已核实" and i.status != "已调整")
        lines.append(f"{lead}：自评项 {len(items)} 项" + (f"，待核实 {waiting} 项" if waiting else "，已全部核实"))
    return "\n".join(lines)


def confirm_groups(session: Session, cycle: Cycle, leads: list[str], *, actor: str, how: str) -> list[str]:
    """Confirm a lead assessor's own items together, after they were listed to the verifier (自评项核实清单):
    each item recorded with its group, who, when (the entry's time) and how (``how``: the channel)."""
    from kaoping.services.cycles.cycle import require_open
    from kaoping.services.scoring.verification import _confirm

    require_open(cycle)
    ctx = CycleContext(session, cycle)
    groups = checklist(session, cycle)
    done = []
    for lead in resolve_groups(groups, leads):
        items = groups[lead]
        reason = f"{GROUP_CONFIRMED}：{lead}自评项 {len(items)} 项（已在{CHECKLIST_NAME}中逐项列出），{how}"
        for item in items:
            if item.status in ("待核实", "需重新核实"):
                done.append(_confirm(session, ctx, item.unit_id, item.indicator_id, actor=actor, reason=reason))
    return done

