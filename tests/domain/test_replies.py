"""Reading a reply: the person's own text apart from the quoted history of the common Chinese
and English mail clients, and a sign-off decision and code from it."""

from __future__ import annotations

import pytest

from kaoping.domain.replies import read_signoff_reply, split_reply

REQUEST = "专班负责人：\n回复本邮件：同意，或 退回修改：意见……\n您的一次性验证码：654321（仅限本人使用）\n"


def quoted(lines: str) -> str:
    return "\n".join("> " + line for line in lines.split("\n"))


CLIENTS = {
    "qq": "------------------ 原始邮件 ------------------\n发件人: \"专班\"<kaoping@baotou.example>;\n"
          "发送时间: 2022年7月9日(星期六) 上午10:00\n收件人: \"李\"<li@x>;\n主题: 【请审定】\n\n" + REQUEST,
    "foxmail": "\n发件人：kaoping@baotou.example\n发送时间：2022-07-09 10:00\n收件人：li@x\n主题：【请审定】\n\n" + REQUEST,
    "outlook_zh": "________________________________\n发件人: 数字政府专班 <kaoping@baotou.example>\n"
                  "发送时间: 2022年7月9日 10:00\n收件人: 李\n主题: 【请审定】\n\n" + REQUEST,
    "outlook_en": "-----Original Message-----\nFrom: kaoping <kaoping@baotou.example>\nSent: Saturday, July 9, 2022\n"
                  "To: Li\nSubject: x\n\n" + REQUEST,
    "gmail_zh": "在 2022年7月9日 10:00，数字政府专班 <kaoping@baotou.example> 写道：\n" + quoted(REQUEST),
    "netease": "在 2022-07-09 10:00:00，\"数字政府专班\" <kaoping@baotou.example> 写道：\n" + quoted(REQUEST),
    "gmail_en_wrapped": "On Sat, Jul 9, 2022 at 10:00 AM 数字政府专班 <kaoping@baotou.example>\nwrote:\n" + quoted(REQUEST),
    "quoted_only": quoted(REQUEST),
    "original_en": "------------------ Original ------------------\nFrom: kaoping\nDate: 2022-07-09\n" + REQUEST,
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_the_decision_is_read_from_the_own_text_never_from_the_quoted_email(client):
    read = read_signoff_reply("同意\n验证码 １２３４５６\n\n" + CLIENTS[client])
    assert read.decision == "approve" and read.code == "123456"
    assert read.quoted_code == "654321"
    assert "退回" not in read.own and "654321" not in read.own
    # Nothing typed above the quote: the quoted "同意 … 退回修改" is no decision at all.
    bare = read_signoff_reply("\n" + CLIENTS[client])
    assert (bare.decision, bare.code, bare.quoted_code) == ("", "", "654321")


def test_a_rejection_keeps_its_comments_without_the_code():
    read = read_signoff_reply("退回修改：意见：请再核实市卫健委的实地调研得分\n验证码：123 456\n第二条：东河区加分依据不足。\n"
                              "发自我的iPhone\n\n" + CLIENTS["qq"])
    assert read.decision == "reject" and read.code == "123456"
    assert read.comments == "请再核实市卫健委的实地调研得分\n第二条：东河区加分依据不足。"
    # Only "退回修改" sends back (issue 24): "不同意" is refused as unclear and the signer told what to write.
    assert read_signoff_reply("不同意，分数有误 123456").decision == "ambiguous"
    assert read_signoff_reply("退回修改 123456").comments == ""


def test_a_greeting_comes_before_the_decision_and_both_words_are_ambiguous():
    assert read_signoff_reply("专班：\n您好！\n同意。123456").decision == "approve"
    assert read_signoff_reply("同意退回 123456").decision == "ambiguous"
    assert read_signoff_reply("同意\n不过东河区的要退回\n123456").decision == "ambiguous"
    assert read_signoff_reply("收到，谢谢").decision == ""


def test_codes_full_width_labelled_or_several():
    assert read_signoff_reply("同意 ２３５７２８").code == "235728"
    assert read_signoff_reply("同意，2022 年 150202 单位，验证码：235728").code == "235728"
    assert read_signoff_reply("同意 150202 235728").code == "many"
    assert read_signoff_reply("同意，电话 13912345678").code == ""


def test_split_keeps_everything_and_only_cuts_at_a_real_separator():
    text = "第一行\n> 引用\n第二行\n发件人和收件人都对\n\n-----原始邮件-----\n旧的内容"
    parts = split_reply(text)
    assert parts.own == "第一行\n第二行\n发件人和收件人都对"
    assert "> 引用" in parts.quoted and "旧的内容" in parts.quoted
