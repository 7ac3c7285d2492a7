"""`make demo` end to end."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------------------- demo


def test_demo_runs_a_cycle_from_forms_to_reports(cli, settings, tmp_path):
    """`make demo`: the whole cycle through Prefect (deployments, a worker, sign-offs by
    resuming the suspended run) on its own SQLite file and local mail server."""
    if "postgresql" in settings.database_url:
        pytest.skip("the demo always runs on its own SQLite file")
    folder = tmp_path / "demo-output"
    (folder / "mail").mkdir(parents=True)
    (folder / "mail" / "stale.eml").write_text("from an earlier run")  # the demo starts afresh every time
    result = cli("demo", "--out", folder)
    assert result.exit_code == 0, result.output
    out = result.output
    assert not (folder / "mail" / "stale.eml").exists()
    assert "共 7 个大项、90 项指标" in out and "市工信局" in out
    assert "退回 东河区" in out and "逾期通知 1 个单位，督办（抄送专班）1 个" in out and "已启动周期流程 2022H1" in out
    assert "青山区 补报" in out and "逾期" in out
    assert "采纳1项，不予采纳1项" in out and "排名变化：" in out  # the objection stage (issue 17)
    assert "[已完成] 专班核实签字" in out and "[已完成] 分管领导审定签字" in out and "[已完成] 印发报告并分发" in out
    assert "旗县区、稀土高新区" in out and "市直部门、单位" in out and "达尔罕茂明安联合旗" in out
    assert (folder / "kaoping.sqlite3").exists() and (folder / "prefect" / "prefect.db").exists()
    reports = folder / "reports" / "2022H1"
    assert len(list((reports / "反馈函").glob("*.docx"))) == 36
    assert (reports / "2022年上半年数字政府建设考评结果通报.docx").exists()
    # Issue 27: the visits follow the returns (the default window), and the 报告 says so.
    from docx import Document

    assert "实地调研按默认日程在截止之后" in out
    report = next(p for p in reports.glob("*.docx") if "报告" in p.name)
    assert "在自评表报送截止（2022年7月8日）之后" in "".join(p.text for p in Document(str(report)).paragraphs)
    from kaoping.notifications.mail.imap_server import dovecot_path

    if dovecot_path() is not None:  # the units replied by email; the intake fetched them over IMAP
        import sqlite3

        with sqlite3.connect(folder / "kaoping.sqlite3") as connection:
            outcomes = dict(connection.execute("select outcome, count(*) from mailbox_message where status = 'moved' "
                                               "group by outcome").fetchall())
            signed_by_reply = connection.execute("select stage, fate from signoff_reply").fetchall()
            # the objection stage's three emails: taken in from the mailbox, recorded from those messages
            objected = connection.execute("select o.source, o.sender = m.sender, m.folder from objection o "
                                          "join mailbox_message m on m.message_id = o.message_id").fetchall()
            opinions = connection.execute("select p.stance, m.folder from objection_opinion p "
                                          "join mailbox_message m on m.message_id = p.message_id").fetchall()
            unmatched = connection.execute("select count(*) from objection where message_id not in "
                                           "(select message_id from mailbox_message)").fetchone()[0]
        # the replies: the approver's signature, two objections (one by reply, one by form), the lead's opinion
        assert outcomes == {"accepted": 36 + 26 + 36 + 2, "refused": 1, "reply": 1 + 3}
        assert signed_by_reply == [("approval", "accepted")]
        assert sorted(objected) == [("form", 1, "考评已录入"), ("reply", 1, "考评已录入")] and unmatched == 0
        assert opinions == [("correct", "考评已录入")]
        assert "专用邮箱（IMAP）" in out and "考评已录入" in out
        assert "回收流程从专用邮箱（IMAP）收取" in out and "征求意见稿的回复：已登记异议 1 条（移入 考评已录入）" in out
        assert "异议表：已登记异议 1 条（移入 考评已录入）" in out and "号异议的意见：" in out
    else:  # without dovecot the demo says so and uses the inbox folder
        assert "改用收件文件夹" in out and "未启用专用邮箱，邮件直接交回收服务处理" in out
        assert len(list((folder / "inbox" / "accepted").glob("*.docx"))) == 36 + 26 + 36 + 2
        assert len(list((folder / "inbox" / "refused").glob("*.docx"))) == 1
    mails = list((folder / "mail").glob("*.eml"))
    assert len(mails) > 300
    assert any("验证码" in m.name for m in mails) and any("回执" in m.name for m in mails) and any("退回" in m.name for m in mails)
