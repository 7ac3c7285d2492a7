"""Reading objections out of a unit's reply, leniently (pure, milliseconds)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kaoping.domain.objection_text import own_text, parse_objections, read_opinion


def test_labelled_paragraphs_each_with_their_indicators():
    text = ("各位好：\n指标序号：１９\n异议内容：我区已按时完成，应得满分。\n依据：见附件。\n\n"
            "指标序号：20、21\n异议内容：不承担此项。\n依据：市里分工文件\n-----原始邮件-----\n指标序号：5")
    first, second = parse_objections(text)
    assert first.numbers == (19,) and first.disputed == "我区已按时完成，应得满分。" and first.evidence == "见附件。"
    assert second.numbers == (20, 21) and second.disputed == "不承担此项。" and second.evidence == "市里分工文件"


def test_unlabelled_text_keeps_every_word_and_finds_inline_numbers():
    [inline] = parse_objections("我们认为指标19扣分不对，已经完成了。")
    assert inline.numbers == (19,) and "扣分不对" in inline.disputed
    [nothing] = parse_objections("分数有问题，请核实")
    assert nothing.numbers == () and nothing.disputed == "分数有问题，请核实"  # to be classified by the team
    [ordinal] = parse_objections("第7项指标：评分过低。理由：已完成")
    assert ordinal.numbers == (7,) and ordinal.evidence == "已完成"


def test_quoted_history_is_left_out():
    assert own_text("同意\n> 指标序号：3\n在 2022年7月13日 专班 写道：\n指标序号：4") == "同意"
    assert own_text("ok\nOn Wed, Jul 13, 2022 kaoping wrote:\n> x") == "ok"
    assert parse_objections("") == [] and parse_objections("> 全是引用") == []


@pytest.mark.parametrize(("text", "stance", "score"), [
    ("维持原分\n理由：上线时间晚于时间节点。", "maintain", None),
    ("同意更正为 ４ 分\n经核实，验收报告属实。", "correct", Decimal("4")),
    ("不同意更正，评分无误。", "maintain", None),
    ("同意调整。应调整为3.5分，理由见附件。", "correct", Decimal("3.5")),
    ("同意更正", "correct", None),
    ("我们再研究一下。", "unclear", None),
    ("维持原分还是同意更正，请专班定。", "unclear", None),
    ("收到\n\n-----原始邮件-----\n请回复“维持原分”或“同意更正为 X 分”", "unclear", None),
    ("> 维持原分\n同意更正为2分", "correct", Decimal("2")),
])
def test_the_lead_assessors_opinion_is_read_from_its_own_words(text, stance, score):
    read = read_opinion(text)
    assert (read.stance, read.score) == (stance, score)
    assert "原始邮件" not in read.text


def test_a_letters_closing_and_signature_are_not_part_of_the_objection():
    text = ("指标序号：19\n异议内容：应得满分\n依据：上线通知已发布，确已按时完成。\n此致\n敬礼！\n"
            "东河区政务服务局\n2022年7月5日")
    [objection] = parse_objections(text)
    assert objection.evidence == "上线通知已发布，确已按时完成。" and objection.disputed == "应得满分"
    assert own_text("指标19 应得满分，依据：已上线。此致敬礼") == "指标19 应得满分，依据：已上线。"
    assert "此致" not in own_text("依据：已上线，此致\n张三")
