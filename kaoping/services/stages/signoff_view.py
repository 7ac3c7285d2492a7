"""What a signer reads in the Prefect UI's Resume dialog before signing (签字说明), as markdown.

It opens with what happened to the previous answer when one did not take effect, then what
signing means, then the few things that need the signer's decision in words a leader reads
(never a command line), the counts, and the ranking in a compact form that fits the dialog
(名次, 单位, 总分, 等次, with the flags as numbered notes below). Before the verification the
ranking is provisional: the lead assessors' self-scored items are counted as reported and the
units concerned are marked 待核实; the full list of those items is an artifact linked here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, tzinfo

from sqlmodel import Session, select

from kaoping.domain.clock import local_time
from kaoping.domain.errors import KaopingError
from kaoping.domain.labels import GROUP_LABELS
from kaoping.models import Adjustment, Cycle, SignoffRequest
from kaoping.services.cycles.cycle import cycle_label
from kaoping.services.signoff.brief import MEANING  # one text for the dialog and the email


#: How the signer learns what became of the answer (the state the run page shows, the email).
AFTER_SUBMIT = ("> **提交后如何确认结果**：点击 Submit 后对话框关闭，界面先显示 Flow run resumed（只表示已提交，不表示已签字）。"
                "几秒后本页标题下方的运行状态变为 **Running**、**Completed**（签字已生效）或 "
                "**等待签字（上次未生效：原因）**（未生效：再次点击 Resume 重新填写）；"
                "无论是否生效，系统都会给签字人发邮件告知。")


def for_readers(text: str) -> str:
    """A problem as a signer reads it: the operators' command lines taken out."""
    text = re.sub(r"[（(]\s*`?kaoping [^）)]*[）)]", "", text)
    text = re.sub(r"`kaoping [^`]*`", "", text)
    text = re.sub(r"[：:]\s*kaoping [^。]*。", "。", text)
    text = re.sub(r"kaoping [a-z][^。，；]*", "", text)
    return text.strip()


@dataclass
class SignoffView:
    markdown: str
    again: bool  # the previous answer did not take effect (said at the top)
    reason: str = ""  # why not, in the signer's words
    pending: list[dict] = field(default_factory=list)  # self-scored items awaiting confirmation (the 待核实清单)


#: What a kind of flag means, said once under the tables when units differ only in the details.
FLAG_NOTES = {
    "待核实": "本单位牵头的指标由本单位自评，暂按报送的分数计算，须经专班核实（逐项见待核实清单）",
    "默认分值": "相关指标的分值未经牵头考核单位明确，按平均分配计算（报告中予以说明）",
    "列示不排名": "考评对象名录定为列示，或承担指标分值低于计分规则的最低承担分值（专班口径）：列示得分，不参与排名和等次评定",
}


#: Rows per table: the Prefect UI shows a markdown table in a box of its own about ten rows high, whose
#: own scroll hid ranks 20–26 of a group inside the dialog (seen in Chromium); a group is split into
#: tables this long, each shown whole.
ROWS_PER_TABLE = 8


def _ranking_tables(rows: list[dict]) -> list[str]:
    """Compact tables per group (名次, 单位, 总分, 承担分值, 等次, 注): each kind of flag is a numbered note
    under the tables, said once — in full where all units share it, else by what it means and,
    for the few that differ otherwise (a veto, a capped bonus), unit by unit."""
    kinds: dict[str, dict[str, str]] = {}  # kind → unit → flag
    for r in rows:
        for flag in r["flags"]:
            kinds.setdefault(flag.split("：", 1)[0], {})[r["unit_name"]] = flag
    number = {kind: i for i, kind in enumerate(kinds, 1)}
    out: list[str] = []
    for group, label in GROUP_LABELS.items():
        members = [r for r in rows if r["group"] == group]
        if not members:
            continue
        out += ["", f"**{label}**（{len(members)} 个）"]
        for start in range(0, len(members), ROWS_PER_TABLE):
            out += ["", "| 名次 | 单位 | 总分 | 承担分值 | 等次 | 注 |", "|--:|---|--:|--:|---|---|"]
            for r in members[start:start + ROWS_PER_TABLE]:
                marks = sorted({number[f.split("：", 1)[0]] for f in r["flags"]})
                out.append(f"| {r['rank']} | {r['unit_name']} | {r['total']} | {r['base']} | {r['grade']} | {','.join(map(str, marks))} |")
    if kinds:
        out += ["", "注："]
        for kind, flags in kinds.items():
            texts = set(flags.values())
            if len(texts) == 1:
                text = texts.pop()
            elif kind in FLAG_NOTES:
                text = f"{kind}：{FLAG_NOTES[kind]}"
            else:
                text = "；".join(f"{unit}——{flag}" for unit, flag in flags.items())
            out.append(f"{number[kind]}. {text}（{len(flags)} 个单位）")
    return out


def _decisions(session: Session, cycle: Cycle, stage: str, pending_rows: list[dict], pending: dict, problems: list,
               links: dict[str, str]) -> list[str]:
    """What the signer is asked to decide or take note of: the self-scored items waiting for the verification,
    the 加减分 lines, the equal split accepted, an earlier send-back, the objections, what blocks a signature."""
    from kaoping.services.cycles.points import default_point_items, default_points_acceptance
    from kaoping.services.signoff.signatures import STAGES

    from kaoping.services.scoring.checklist import checklist, checklist_summary

    decisions: list[str] = []
    if pending_rows:
        where = f"（[待核实清单]({links['daihexiao']})）" if links.get("daihexiao") else "（见“待核实清单”）"
        decisions.append(f"**牵头考核单位自评项 {len(pending_rows)} 项待核实**，涉及 {len(pending)} 个单位{where}："
                         "这些指标由被考评单位自己牵头评分，下表暂按其报送的分数计算并标注“待核实”。"
                         "各单位的自评项（完成情况、完成进度、佐证材料、自评分）已在签字邮件附件《自评项核实清单》中按牵头考核单位逐项列出"
                         f"（{checklist_summary(checklist(session, cycle)).replace(chr(10), '；')}）。核实后勾选“同时确认牵头考核单位自评项”"
                         "确认全部单位，或在“确认的牵头考核单位”中填写要确认的单位（按单位分组记录谁、何时、如何确认）；"
                         "未确认的仍为待核实，签字不生效。有疑问的，选择“退回修改”并写明。")
    adjustments = session.exec(select(Adjustment).where(Adjustment.cycle_id == cycle.id, Adjustment.withdrawn_at.is_(None))).all()
    if adjustments:
        kinds = Counter({"bonus": "加分", "deduction": "扣分", "veto": "一票否决"}.get(a.kind, a.kind) for a in adjustments)
        decisions.append("专班核实中记录了" + "、".join(f"{k} {n} 项" for k, n in kinds.items()) + "（理由见下表注）。")
    defaults = default_point_items(session, cycle)
    accepted = default_points_acceptance(session, cycle)
    if defaults and accepted is not None:
        decisions.append(f"{len(defaults)} 项指标的分值未经牵头考核单位明确，按平均分配计算（专班已确认，理由：{accepted.reason}）。")
    rejected = session.exec(select(SignoffRequest).where(SignoffRequest.cycle_id == cycle.id, SignoffRequest.decision == "reject")
                            .order_by(SignoffRequest.id.desc())).first()
    if rejected is not None:
        decisions.append(f"此前退回意见（{STAGES[rejected.stage]}，{rejected.signer_name}）：{rejected.comments}")
    if stage == "approval":  # the objection stage (issue 17): how many, upheld, rejected, rank changes
        from kaoping.services.objections.summary import summary_lines

        objections = summary_lines(session, cycle)
        if objections:
            decisions.append("征求意见与异议处理：" + "".join(objections))
    if problems:
        decisions.append(f"尚有 {len(problems)} 个问题须先处理，暂不能签字：" + "；".join(for_readers(p) for p in problems[:5])
                         + ("等。" if len(problems) > 5 else ""))
    return decisions


def signoff_view(session: Session, cycle: Cycle, stage: str, tz: tzinfo, *, today: date,
                 links: dict[str, str] | None = None) -> SignoffView:
    """The Resume dialog's description for ``stage`` (``links``: artifact key suffix → URL)."""
    from kaoping.services.scoring.results import (
        compute_cycle,
        provisional_results,
        result_rows,
    )
    from kaoping.services.signoff.signatures import (
        STAGES,
        blocking_problems,
        pending_request,
    )
    from kaoping.services.stages.status import cycle_status

    links = links or {}
    lines: list[str] = []
    request = pending_request(session, cycle, stage)
    again = bool(request is not None and request.last_message)
    if again:
        lines += [f"> **上次提交未生效**：{for_readers(request.last_message)}", "> 请重新填写后再提交。", ""]
    lines += [f"### {cycle_label(cycle)}考评 · {STAGES[stage]}签字", "", AFTER_SUBMIT, "",
              f"**签字的含义**：{MEANING[stage]}", ""]
    if request is not None:
        lines.append(f"签字人：**{request.signer_name}**。一次性验证码已发至 {request.signer_email}，"
                     f"{local_time(request.expires_at, tz)} 前有效。")
    lines += ["", "*以下内容较长，请在本框内向下滚动读完（直到排名表和说明），再在下方填写验证码。*"]

    pending_rows: list[dict] = []
    if stage == "verification":
        try:
            inputs, results, pending = provisional_results(session, cycle)
        except KaopingError as exc:
            inputs, results, pending, problems = None, [], {}, exc.problems or [exc.message]
        else:
            problems = blocking_problems(session, cycle, self_scored_ok=True)
        if inputs is not None:
            for unit in inputs.units:
                for number in pending.get(unit.unit_id, []):
                    pending_rows.append({"单位": unit.short_name, "指标": number, "状态": "待核实（本单位牵头自评）"})
    else:
        try:
            inputs, results = compute_cycle(session, cycle)
            problems, pending = [], {}
        except KaopingError as exc:
            inputs, results, pending, problems = None, [], {}, exc.problems or [exc.message]
    rows = result_rows(inputs, results) if inputs is not None else []

    decisions = _decisions(session, cycle, stage, pending_rows, pending, problems, links)
    if decisions:
        lines += ["", "#### 需要您决定或知悉的事项", ""] + [f"{i}. {d}" for i, d in enumerate(decisions, 1)]

    report = cycle_status(session, cycle, today=today, tz=tz)
    expected = sum(k.expected for k in report.kinds)
    received = sum(k.received for k in report.kinds)
    late = report.late_units()
    groups = Counter(r["group"] for r in rows)
    counts = [f"考评对象 {len(rows)} 个（" + "，".join(f"{GROUP_LABELS[g]} {n} 个" for g, n in groups.items()) + "）"] if rows else []
    counts.append(f"表格应收 {expected} 份、已收 {received} 份" + (f"，逾期报送 {len(late)} 个单位" if late else ""))
    lines += ["", "#### 概况", "", "；".join(counts) + "。"]
    if rows:
        title = "暂定排名（待核实项按报送分数暂计）" if stage == "verification" and pending_rows else "排名"
        lines += ["", f"#### {title}"] + _ranking_tables(rows)
    more = [f"[{label}]({links[key]})" for key, label in (("jinzhan", "进展"), ("results", "完整结果表"),
                                                           ("daihexiao", "待核实清单")) if links.get(key)]
    if more:
        lines += ["", "完整内容：" + "、".join(more) + "。"]
    lines += ["", "---", "填写邮件中的 6 位**验证码**，选择“同意”或“退回修改”（退回须写明意见说明），然后点击 **Submit**。"
              "未生效的提交，重新点击 Resume 时会在此处最上方说明原因，已填写的内容（验证码除外）保留。"]
    return SignoffView("\n".join(lines), again, for_readers(request.last_message) if again else "", pending_rows)

