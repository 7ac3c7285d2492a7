"""What the 报告 says happened, in its own sentences: the field visits' findings summarised by theme (never the
records pasted), and the specialist team's adjustments (never an operator id or the free text typed with them)."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlmodel import Session, select

from kaoping.domain.scoring import fmt, item_mean
from kaoping.models import Component, ComponentScore, Cycle


#: themes of what the field visits found, by the words their records use (first match wins)
FINDING_THEMES = (
    ("网络和数据安全", ("安全", "等保", "漏洞", "密码", "防护")),
    ("数据共享和开放", ("数据", "共享", "目录", "开放", "资源")),
    ("政务服务", ("网办", "办事", "政务服务", "通办", "窗口", "大厅", "审批", "一网", "掌上", "自助")),
    ("协同办公", ("协同", "办公", "公文", "视频会议")),
    ("基础设施和平台", ("平台", "系统", "网络", "机房", "云", "终端")),
    ("统筹管理和保障", ("资金", "机构", "人员", "制度", "统筹", "考核", "培训")),
)


def _finding_of(note: str) -> str:
    """What a visit found: the 发现的问题 of a visit record (its other fields — 评分说明, 调研组成员, 调研日期 — are
    the team's working notes), or an imported note as it is; "" when nothing was found."""
    note = note.strip()
    if "发现的问题：" in note:
        note = note.split("发现的问题：", 1)[1].split("；评分说明：")[0].split("；调研组成员：")[0].split("；调研日期：")[0]
    elif any(note.startswith(f"{key}：") for key in ("评分说明", "调研组成员", "调研日期")):
        return ""
    note = note.strip().rstrip("。；;")
    return "" if note in ("", "无", "未发现问题", "无问题") else note


def _theme_of(finding: str) -> str:
    return next((theme for theme, words in FINDING_THEMES if any(w in finding for w in words)), "其他")


def field_findings(session: Session, cycle: Cycle, inputs) -> list[str]:
    """A summary of what the field visits found (never the records pasted): how many units were visited and how
    many had problems, the problems counted by theme, and a few examples in the teams' words."""
    scored = session.exec(select(ComponentScore.unit_id, ComponentScore.note).where(
        ComponentScore.cycle_id == cycle.id, ComponentScore.component == Component.field, ComponentScore.current)).all()
    if not scored:
        return []
    order = {u.unit_id: u.position for u in inputs.units}
    found: dict[str, list[int]] = defaultdict(list)  # finding → units
    for unit_id, note in sorted(scored, key=lambda row: order.get(row[0], 0)):
        finding = _finding_of(note or "")
        if finding and unit_id not in found[finding]:
            found[finding].append(unit_id)
    visited = len({unit_id for unit_id, _ in scored})
    with_problems = len({u for units in found.values() for u in units})
    if not found:  # no findings recorded (scores imported without notes): nothing to summarise
        return []
    themes = Counter()
    for finding, units in found.items():
        themes[_theme_of(finding)] += len(units)
    by_theme = "，".join(f"{theme}方面{n}个单位次" for theme, n in themes.most_common())
    lines = [f"实地调研共走访{visited}个单位，{with_problems}个单位发现问题：{by_theme}。"]
    examples = sorted(found.items(), key=lambda kv: (-len(kv[1]), order.get(kv[1][0], 0)))[:3]
    names = inputs.unit_names
    quoted = []
    for finding, units in examples:
        who = names.get(units[0], units[0]) + (f"等{len(units)}个单位" if len(units) > 1 else "")
        quoted.append(f"{who}“{finding}”")
    lines.append("较典型的有：" + "；".join(quoted) + "。")
    return lines


def verification_facts(session: Session, cycle: Cycle, inputs) -> dict:
    """What the specialist team changed, in the documents' own sentences: never an operator id, and never the
    free text typed with a verification (the reason of a 加分/扣分 line is its stated basis and is kept)."""
    names = inputs.unit_names
    places = inputs.policy.rounding.places
    specs = {i.indicator_id: i for i in inputs.items.values()}
    adjustments = []
    for (u, i), v in sorted(inputs.verifications.items(), key=lambda kv: (names.get(kv[0][0], ""), specs[kv[0][1]].number)):
        if v.kind != "adjust":
            continue
        scores = inputs.lead_scores.get((u, i), {})
        before = (f"由牵头考核单位评定的{fmt(item_mean(scores, specs[i].points), places)}分" if scores else "")
        adjustments.append(f"{names.get(u, u)}指标{specs[i].number}：经专班核实，得分{before}调整为{fmt(v.value, places)}分。")
    lines, vetoes = [], []
    for unit_id, items in inputs.adjustments.items():
        for line in items:
            if line.kind == "veto":
                vetoes.append(f"{names.get(unit_id, unit_id)}：{line.reason.rstrip('。')}。")
            else:
                label = "加分" if line.kind == "bonus" else "扣分"
                lines.append(f"{names.get(unit_id, unit_id)}：{label}{fmt(line.points, places)}分，事由：{line.reason.rstrip('。')}。")
    return {"adjustments": adjustments, "lines": lines, "vetoes_detail": vetoes}
