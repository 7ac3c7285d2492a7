"""Issue 24, attack 3 (the reading): a refusal in words must never be read as approval. A table
of real-world replies to the sign-off email — agreeing, refusing, hedging, asking, HTML-only,
quoted, top- and bottom-posted, in the quote formats of Outlook, Foxmail, Coremail, QQ, NetEase,
Gmail, mutt and s-nail (TAB indents, "… wrote:" without "On", "-----原始邮件-----", "发件人：") —
each with the one reading it must get. Only "同意" (optionally "同意，并确认自评项") as the first line
of the signer's own text approves; only "退回修改" with its 意见 sends back; anything else is
ambiguous or no decision, and the refusal (tests/abuse/test_reply_refusals.py) says what to write."""

from __future__ import annotations

import pytest
from kaoping.notifications.mail.parse import parse_message

from kaoping.domain.replies import read_signoff_reply, split_reply

#: The sign-off email as kaoping sends it (templates/email/signoff_request.txt.j2), code 654321.
REQUEST = ("专班负责人：\n\n2022年上半年数字政府建设考评已进入“专班核实”环节，请审阅后签字确认。\n\n"
           "您的一次性验证码：654321（仅限本人使用，2022年7月12日 10:00 前有效）。\n\n"
           "签字办法：用收到本邮件的邮箱直接回复本邮件，正文第一行写“同意”，或写“退回修改：意见……”（写明需要修改的内容），"
           "并写上验证码。签字时如同时确认各牵头考核单位的自评分，请写“同意，并确认自评项”。\n"
           "回复时自动保留的本邮件原文中的验证码也有效，但只限直接回复本邮件：转发、另写新邮件或从其他邮箱回复都不能签字。\n\n"
           "请勿转发本邮件：验证码只发给您本人，是您签字的凭证。\n\n包头市人民政府办公室数字政府专班\n2022年7月9日\n")
SENT = REQUEST.replace("654321", "●●●●●●")  # what kaoping keeps of it once sent: the code blanked


def angle(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


def tab(text: str) -> str:
    return "\n".join("\t" + line for line in text.split("\n"))


# How each client quotes the email answered (below the reply when top-posting).
OUTLOOK_ZH = ("\n\n________________________________\n发件人: 数字政府专班 <kaoping@baotou.example>\n"
              "发送时间: 2022年7月9日 10:00\n收件人: 专班负责人 <zhuanban-fzr@baotou.example>\n主题: 【请审定】2022年上半年\n\n"
              + REQUEST)
OUTLOOK_EN = ("\n\n-----Original Message-----\nFrom: 数字政府专班 <kaoping@baotou.example>\nSent: Saturday, July 9, 2022 10:00 AM\n"
              "To: zhuanban-fzr@baotou.example\nSubject: 【请审定】\n\n" + REQUEST)
FOXMAIL = ("\n\n------------------ Original ------------------\nFrom:  \"数字政府专班\"<kaoping@baotou.example>;\n"
           "Date:  Sat, Jul 9, 2022 10:00 AM\nTo:  \"专班负责人\"<zhuanban-fzr@baotou.example>;\nSubject:  【请审定】\n\n" + REQUEST)
FOXMAIL_ZH = "\n\n发件人：数字政府专班\n发送时间：2022-07-09 10:00\n收件人：专班负责人\n主题：【请审定】\n\n" + REQUEST
COREMAIL = ("\n\n-----原始邮件-----\n发件人：\"数字政府专班\" <kaoping@baotou.example>\n发送时间：2022-07-09 10:00:00 (星期六)\n"
            "收件人：zhuanban-fzr@baotou.example\n主题：【请审定】2022年上半年数字政府建设考评专班核实\n\n" + REQUEST)
QQ = ("\n\n------------------ 原始邮件 ------------------\n发件人: \"数字政府专班\"<kaoping@baotou.example>;\n"
      "发送时间: 2022年7月9日(星期六) 上午10:00\n收件人: \"专班负责人\"<zhuanban-fzr@baotou.example>;\n主题: 【请审定】\n\n" + REQUEST)
NETEASE = "\n\n在 2022-07-09 10:00:00，\"数字政府专班\" <kaoping@baotou.example> 写道：\n" + angle(REQUEST)
GMAIL = "\n\nOn Sat, Jul 9, 2022 at 10:00 AM 数字政府专班 <kaoping@baotou.example> wrote:\n" + angle(REQUEST)
GMAIL_WRAPPED = "\n\nOn Sat, Jul 9, 2022 at 10:00 AM 数字政府专班 <kaoping@baotou.example>\nwrote:\n" + angle(REQUEST)
MUTT = "On Sat, Jul 09, 2022 at 10:00:00AM +0800, 数字政府专班 wrote:\n" + angle(REQUEST) + "\n\n"  # the reply goes below
S_NAIL = "数字政府专班 <kaoping@baotou.example> wrote:\n" + tab(REQUEST) + "\n"  # TAB indents, no "On"
S_NAIL_TOP = "\n\n数字政府专班 <kaoping@baotou.example> wrote:\n" + tab(REQUEST)
PASTED = "\n\n" + SENT  # the original pasted under the reply without any marker (recognised by its text)

APPROVE, REJECT, AMBIGUOUS, NOTHING = "approve", "reject", "ambiguous", ""

# (name, the reply's text, decision, the code read from the signer's own text, comments (for a rejection))
CASES = [
    # ---- agreeing: signs
    ("bare 同意 over Outlook (zh)", "同意" + OUTLOOK_ZH, APPROVE, "", None),
    ("同意 and the code, QQ", "同意。\n验证码：123456" + QQ, APPROVE, "123456", None),
    ("同意 and the code on one line, Gmail", "同意 123456" + GMAIL, APPROVE, "123456", None),
    ("同意! Foxmail (zh headers)", "同意！" + FOXMAIL_ZH, APPROVE, "", None),
    ("confirming the self-scored items, Coremail", "同意，并确认自评项。123456" + COREMAIL, APPROVE, "123456", None),
    ("salutation first, NetEase", "专班：\n您好！\n同意。123456" + NETEASE, APPROVE, "123456", None),
    ("phone signature, Outlook (en)", "同意\n\n发自我的iPhone" + OUTLOOK_EN, APPROVE, "", None),
    ("full-width digits and space, Foxmail", "同意　１２３ ４５６" + FOXMAIL, APPROVE, "123456", None),
    ("code in brackets with a dash", "同意（验证码 123-456）" + QQ, APPROVE, "123456", None),
    ("mutt: written below the quote", MUTT + "同意 123456\n", APPROVE, "123456", None),
    ("s-nail: below the TAB-indented quote", S_NAIL + "同意\n", APPROVE, "", None),
    ("s-nail: above the quote", "同意 123456" + S_NAIL_TOP, APPROVE, "123456", None),
    ("original pasted without a marker", "同意\n123456" + PASTED, APPROVE, "123456", None),
    ("confirmation on its own line, Gmail wrapped", "同意\n并确认自评项" + GMAIL_WRAPPED, APPROVE, "", None),
    ("thanks after the decision", "同意\n谢谢！辛苦了。" + COREMAIL, APPROVE, "", None),
    ("code first, then 同意", "验证码：123456\n同意" + OUTLOOK_ZH, APPROVE, "123456", None),
    # ---- sending back with the 意见: a rejection
    ("s-nail below the quote: 退回修改 with its 意见", S_NAIL + "退回修改：第3项分数偏高\n", REJECT, "", "第3项分数偏高"),
    ("s-nail above the quote", "退回修改：第3项分数偏高" + S_NAIL_TOP, REJECT, "", "第3项分数偏高"),
    ("two lines of 意见, Coremail", "退回修改：请再核实市卫健委的实地调研得分。\n第二条：东河区加分依据不足。\n123456" + COREMAIL,
     REJECT, "123456", "请再核实市卫健委的实地调研得分。\n第二条：东河区加分依据不足。"),
    ("意见如下, Outlook", "退回修改，意见如下：东河区第19项评分依据不足 123456" + OUTLOOK_ZH, REJECT, "123456",
     "东河区第19项评分依据不足"),
    ("mutt below the quote", MUTT + "退回修改：排名有误，请复核。\n", REJECT, "", "排名有误，请复核。"),
    ("退回修改 without 意见 (refused later for it)", "退回修改 123456" + QQ, REJECT, "123456", ""),
    # ---- refusing, hedging or asking in words: never a signature
    ("不能同意", "不能同意，数据有误 123456" + QQ, AMBIGUOUS, "123456", None),
    ("不太同意", "我不太同意这个排名 123456" + OUTLOOK_ZH, AMBIGUOUS, "123456", None),
    ("无法同意", "无法同意。自评项有问题 123456" + COREMAIL, AMBIGUOUS, "123456", None),
    ("同意？ a question", "同意？这些自评分不对吧 123456" + NETEASE, AMBIGUOUS, "123456", None),
    ("先别同意", "先别同意，等我电话 123456" + FOXMAIL, AMBIGUOUS, "123456", None),
    ("不同意 (must be written 退回修改)", "不同意，分数有误 123456" + GMAIL, AMBIGUOUS, "123456", None),
    ("暂不同意", "暂不同意" + QQ, AMBIGUOUS, "", None),
    ("原则同意，但…", "原则同意，但第3项需再核实 123456" + OUTLOOK_EN, AMBIGUOUS, "123456", None),
    ("同意, then a reservation", "同意\n但东河区的分数要再看看\n123456" + COREMAIL, AMBIGUOUS, "123456", None),
    ("同意吗？", "同意吗？" + QQ, AMBIGUOUS, "", None),
    ("可以同意吧", "可以同意吧 123456" + FOXMAIL_ZH, AMBIGUOUS, "123456", None),
    ("both words", "同意退回 123456" + GMAIL, AMBIGUOUS, "123456", None),
    ("基本同意", "基本同意 123456" + NETEASE, AMBIGUOUS, "123456", None),
    ("同意，不过…", "同意，不过请专班再核一下 123456" + OUTLOOK_ZH, AMBIGUOUS, "123456", None),
    ("退回 without 修改", "退回。第3项分数偏高 123456" + COREMAIL, AMBIGUOUS, "123456", None),
    ("我同意 (not the first word)", "我同意 123456" + QQ, AMBIGUOUS, "123456", None),
    ("mutt below the quote, hedging", MUTT + "同意？先等等\n", AMBIGUOUS, "", None),
    ("s-nail below the quote, negated", S_NAIL + "不能同意\n", AMBIGUOUS, "", None),
    # ---- no decision at all (the quoted "同意 … 退回修改" counts for nothing)
    ("好的，收到", "好的，收到" + QQ, NOTHING, "", None),
    ("asking for the code", "收到，请问验证码在哪里？" + OUTLOOK_ZH, NOTHING, "", None),
    ("asking about the deadline", "请问什么时候截止？" + GMAIL, NOTHING, "", None),
    ("written below a separator (Outlook quotes everything below)", OUTLOOK_ZH.lstrip() + "\n同意\n", NOTHING, "", None),
    ("已阅", "已阅" + COREMAIL, NOTHING, "", None),
    ("nothing typed, Foxmail", FOXMAIL, NOTHING, "", None),
]


def test_the_table_is_large_and_covers_every_kind():
    assert len(CASES) >= 40
    assert {decision for _, _, decision, _, _ in CASES} == {APPROVE, REJECT, AMBIGUOUS, NOTHING}


@pytest.mark.parametrize(("name", "text", "decision", "code", "comments"), CASES, ids=[c[0] for c in CASES])
def test_each_real_world_reply_gets_its_one_reading(name, text, decision, code, comments):
    read = read_signoff_reply(text, known=[SENT])
    assert read.decision == decision, (read.decision, read.problem, read.own)
    assert read.code == code
    assert read.quoted_code == ("654321" if "654321" in text else "")  # the quoted code, for a direct reply
    assert "654321" not in read.own and "签字办法" not in read.own  # nothing of the quoted email is the signer's
    if comments is not None:
        assert read.comments == comments  # the 意见 only — never the quoted request
    if decision == AMBIGUOUS:
        assert read.problem and read.read  # the refusal can say what was read and why it is unclear


def test_the_quoted_request_is_recognised_by_its_own_text_without_any_marker():
    parts = split_reply("退回修改：第3项分数偏高" + PASTED, known=[SENT])
    assert parts.own == "退回修改：第3项分数偏高" and parts.marker == "known"
    assert "签字办法" in parts.quoted and "专班负责人：" in parts.quoted  # its greeting line too
    # Without knowing what was sent, the pasted request is not told apart (so the service passes it).
    assert "签字办法" in split_reply("退回修改：第3项分数偏高" + PASTED).own


def test_an_html_only_reply_is_read_like_a_plain_one():
    html = ("<div>同意</div><div>验证码：123456</div><div><br></div>"
            "<div>在 2022-07-09 10:00:00，\"数字政府专班\" &lt;kaoping@baotou.example&gt; 写道：</div>"
            "<blockquote>" + "".join(f"<p>{line}</p>" for line in REQUEST.split("\n")) + "</blockquote>")
    raw = ("From: zhuanban-fzr@baotou.example\r\nTo: kaoping@baotou.example\r\nSubject: Re: 【请审定】\r\n"
           "Message-ID: <html-only@mail.baotou.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + html).encode()
    read = read_signoff_reply(parse_message(raw).message.text, known=[SENT])
    assert (read.decision, read.code, read.quoted_code) == (APPROVE, "123456", "654321")
    hedged = html.replace("<div>同意</div>", "<div>同意？这些自评分不对吧</div>")
    raw = raw.replace(html.encode(), hedged.encode())
    assert read_signoff_reply(parse_message(raw).message.text, known=[SENT]).decision == AMBIGUOUS
