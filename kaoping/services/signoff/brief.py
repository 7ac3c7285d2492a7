"""What a signer sees in the sign-off email before signing (issue 26, Deliver 3): what the signature means, the
counts, the top and bottom of each group, what is still open, the defaults the team accepted and the
objections with their outcome — in a leader's words, never a command line — and, attached, the 征求意见稿
通报 and the results workbook the signature is about (kept under ``var/signoff/<cycle>/<stage>/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from kaoping.domain.errors import KaopingError
from kaoping.domain.labels import GROUP_LABELS
from kaoping.domain.scoring import ScoringError
from kaoping.models import Cycle
from kaoping.notifications.outbox import Attachment
from kaoping.services.cycles.cycle import DEFAULT_RESPONSIBILITIES, acceptance, cycle_label
from kaoping.services.cycles.milestones import overdue_milestones
from kaoping.services.cycles.points import DEFAULT_POINTS
from kaoping.settings import Settings

#: What signing means, by stage (the email and the Prefect dialog say the same).
MEANING = {
    "verification": "专班负责人签字，即确认本期各单位的得分已经核实无误。签字后分数冻结（此后如需修改，须重新开启并记入审计日志），"
                    "结果提交分管领导审定。",
    "approval": "分管领导签字，即审定本期考评结果。签字后系统印发通报、向市委、市政府、市纪委监委报送报告，"
                "向各单位发送反馈函。退回修改则回到专班核实。",
}


@dataclass
class Brief:
    lines: list[str]
    attachments: list[Attachment] = field(default_factory=list)


def _standing(rows: list[dict]) -> list[str]:
    out = []
    for group, label in GROUP_LABELS.items():
        members = [r for r in rows if r["group"] == group]
        if not members:
            continue
        top = "、".join(f"{r['unit_name']}{r['total']}分" for r in members[:3])
        bottom = "、".join(f"{r['unit_name']}{r['total']}分" for r in members[-3:][::-1])
        out.append(f"{label}（{len(members)}个）：前三名{top}；后三名{bottom}。")
    return out


def signoff_brief(session: Session, settings: Settings, cycle: Cycle, stage: str, *, actor: str) -> Brief:
    """The summary and the two attachments of a sign-off request for ``stage``."""
    from kaoping.services.objections.summary import summary_lines
    from kaoping.services.reports.documents import build_reports
    from kaoping.services.scoring.results import compute_cycle, provisional_results, result_rows, write_xlsx

    period = cycle_label(cycle)
    pending: dict[int, list[int]] = {}
    try:
        inputs, results = compute_cycle(session, cycle, detailed=True)
    except (ScoringError, KaopingError):  # compute_cycle refuses unverified self-scored items
        try:  # before the verification: the self-scored items counted as reported, marked 待核实
            inputs, results, pending = provisional_results(session, cycle)
        except KaopingError:
            return Brief([f"签字的含义：{MEANING[stage]}", "本期结果暂不能计算，请与专班联系。"])
    rows = result_rows(inputs, results)
    groups = "，".join(f"{label}{n}个" for key, label in GROUP_LABELS.items()
                      if (n := sum(1 for r in rows if r["group"] == key)))
    lines = [f"签字的含义：{MEANING[stage]}",
             f"本期结果概要：共{len(rows)}个单位参加考评（{groups}），考评指标{len(inputs.items)}项。"
             + ("以下为暂定结果：牵头考核单位对本单位承担指标的自评分按报送分数暂计。" if pending else ""),
             *_standing(rows)]
    open_items = []
    if pending:
        open_items.append(f"{len(pending)}个单位共{sum(len(v) for v in pending.values())}项自评分尚待核实"
                          "（可在签字时一并确认）")
    missed = overdue_milestones(session, cycle)
    if missed:
        open_items.append(f"{len(missed)}个单位共{sum(len(v) for v in missed.values())}项指标自报完成进度未达到时间节点要求"
                          "（已在报告中说明）")
    lines.append("尚待处理或需要知悉的问题：" + "；".join(open_items) + "。" if open_items else "没有尚待处理的问题。")
    accepted = []
    points = acceptance(session, cycle, DEFAULT_POINTS)
    if points is not None:
        shared = sum(1 for item in inputs.items.values() if item.points_basis == "default")
        accepted.append(f"{shared}项指标的分值牵头考核单位未明确，按专班口径平均分配计算")
    if acceptance(session, cycle, DEFAULT_RESPONSIBILITIES) is not None:
        accepted.append("各单位承担的指标按专班口径确定（旗县区、稀土高新区承担全部指标，市直部门承担其牵头的指标）")
    if accepted:
        lines.append("专班已确认的默认做法：" + "；".join(accepted) + "。")
    objections = summary_lines(session, cycle, rows)
    if objections:
        lines.append("异议处理：" + "".join(objections))
    # The documents the signature is about, as they would go out (征求意见稿: no 文号).
    folder = settings.var_dir / "signoff" / cycle.code / stage
    attachments: list[Attachment] = []
    if pending:
        workbook = folder / f"{period}数字政府建设考评暂定结果.xlsx"
        folder.mkdir(parents=True, exist_ok=True)
        write_xlsx(rows, workbook, title=f"{period}数字政府建设考评暂定结果")
        attachments.append(Attachment(workbook.name, workbook.read_bytes()))
        lines.append("附件：暂定结果汇总表（Excel）。通报征求意见稿在自评分核实后生成。")
    else:
        made = build_reports(session, settings, cycle, folder, actor=actor, computed=(inputs, results), review_only=True)
        tongbao, book = Path(made.tongbao), Path(made.workbook)
        attachments += [Attachment(f"{tongbao.stem}（征求意见稿）.docx", tongbao.read_bytes()),
                        Attachment(book.name, book.read_bytes())]
        lines.append("附件：考评结果通报（征求意见稿）和结果汇总表（Excel），供审阅；正式文件在审定后编号印发。")
    return Brief(lines, attachments)
