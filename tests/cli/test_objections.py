"""`kaoping objections open|add|list|decide`: what the team types, what it is told, refusals exit non-zero."""

from __future__ import annotations

from tests.factories import filled_objection_form, scored_cycle, sign_off


def test_the_team_opens_records_lists_and_decides(initialized, settings, tmp_path):
    cli = initialized
    scored_cycle(settings, tmp_path)
    early = cli("objections", "open", "--cycle", "2022H1", "--today", "2022-07-11")
    assert early.exit_code != 0 and "核实签字后" in early.output  # not verified yet
    sign_off(settings)
    opened = cli("objections", "open", "--cycle", "2022H1")
    assert opened.exit_code == 0 and "征求意见稿 36 份" in opened.output, opened.output
    added = cli("objections", "add", "--cycle", "2022H1", "--unit", "青山区", "--indicator", "57",
                "--text", "电话反映：数据共享已完成", "--evidence", "验收报告")
    assert added.exit_code == 0 and "第 1 号" in added.output, added.output
    bad = cli("objections", "add", "--cycle", "2022H1", "--unit", "青山区", "--indicator", "abc", "--text", "x")
    assert bad.exit_code != 0 and "指标序号“abc”无效" in bad.output
    listed = cli("objections", "list", "--cycle", "2022H1")
    assert listed.exit_code == 0 and "电话反映" in listed.output and "待处理1项" in listed.output
    both = cli("objections", "decide", "1", "--cycle", "2022H1", "--uphold", "--reject", "--reason", "x")
    assert both.exit_code != 0 and "二选一" in both.output
    no_reason = cli("objections", "decide", "1", "--cycle", "2022H1", "--reject")
    assert no_reason.exit_code != 0 and "必须写明理由" in no_reason.output
    claimed = cli("objections", "decide", "1", "--cycle", "2022H1", "--uphold", "--score", "4", "--reason", "经牵头考核单位复核属实")
    assert claimed.exit_code != 0 and "尚未收到牵头考核单位（市工信局）的意见" in claimed.output, claimed.output
    decided = cli("objections", "decide", "1", "--cycle", "2022H1", "--uphold", "--score", "4", "--reason", "核实属实")
    assert decided.exit_code == 0 and "已采纳" in decided.output and "调整为 4 分" in decided.output, decided.output
    assert "处理依据：牵头考核单位（市工信局）截至" in decided.output and "尚未回复意见" in decided.output, decided.output
    assert "采纳1项" in cli("objections", "list", "--cycle", "2022H1").output
    held = cli("objections", "held")
    assert held.exit_code == 0 and "共 0 份" in held.output
    missing = cli("objections", "release", "7")
    assert missing.exit_code != 0 and "没有编号为 7 的暂存异议回复" in missing.output


def test_a_held_objection_form_is_released_where_objections_are(initialized, settings, tmp_path):
    """Issue 17 item 2: a held objection form (or reply) is listed and released by `kaoping objections`,
    and `kaoping intake held|release` say so instead of failing on it."""
    cli = initialized
    scored_cycle(settings, tmp_path)
    sign_off(settings)
    assert cli("objections", "open", "--cycle", "2022H1").exit_code == 0
    path = tmp_path / "青山区异议表.docx"
    path.write_bytes(filled_objection_form(settings, [("57", "应得满分", "验收报告")]))
    held = cli("intake", path, "--sender", "someone@example.org")
    assert held.exit_code != 0 and "已暂存" in held.output and "kaoping objections release" in held.output, held.output
    file_id = held.output.split("暂存编号 ")[1].split("）")[0]
    listed = cli("intake", "held")
    assert listed.exit_code == 0 and "另有暂存的异议回复或异议表 1 份" in listed.output, listed.output
    refused = cli("intake", "release", file_id)
    assert refused.exit_code != 0 and f"kaoping objections release {file_id}" in refused.output, refused.output
    shown = cli("objections", "held")
    assert shown.exit_code == 0 and "异议表" in shown.output and "共 1 份" in shown.output, shown.output
    released = cli("objections", "release", file_id)
    assert released.exit_code == 0 and "已受理：青山区 异议 第 1 号" in released.output, released.output
    assert "共 0 份" in cli("objections", "held").output
    listed = cli("objections", "list", "--cycle", "2022H1")
    assert "异议表" in listed.output and "尚未回复" in listed.output, listed.output
    again = cli("intake", path, "--sender", "liaison@150204.baotou.example")  # from the unit itself: the same file
    assert again.exit_code == 0 and "完全相同" in again.output, again.output
