"""The attachment parser on the 2022 seed text: pure, no database."""

from decimal import Decimal
from fractions import Fraction

import pytest
from kaoping.models import MilestoneKind

from kaoping.adapters.uploads import Upload
from kaoping.adapters.word.paragraphs import paragraphs_of
from kaoping.domain.catalog import MilestoneInfo, open_item_defaults, parse_attachment
from kaoping.domain.errors import InvalidInput
from tests.conftest import SEED


@pytest.fixture(scope="module")
def draft():
    upload = Upload(SEED.name, SEED.read_bytes())
    return parse_attachment(paragraphs_of(upload), year=2022, source=upload.name)


def test_recovers_areas_groups_and_all_90_indicators(draft):
    assert [a.points for a in draft.areas] == [Decimal(p) for p in ("25", "25", "20", "10", "10", "5", "5")]
    assert [a.name for a in draft.areas][:2] == ["政务服务“一网通办”", "政府治理“一网统管”"]
    assert [i.number for i in draft.indicators] == list(range(1, 91))
    assert len(draft.groups) == 27
    groups = {g.code: g for g in draft.groups}
    assert groups["1.9"].points == Decimal("12") and groups["1.9"].name == "优化政务服务应用"
    assert groups["3.1"].points is None and groups["6.1"].points is None and groups["6.2"].points is None
    assert draft.title == "包头市数字政府建设考评指标"


def test_item_points_text_and_leads(draft):
    items = {i.number: i for i in draft.indicators}
    assert items[19].points == Decimal("0.5") and items[35].points == Decimal("0.25")
    assert items[1].points is None
    # "(1分)" glued to the text's last word is points, not text.
    assert items[38].points == Decimal("1") and items[38].text.endswith("并持续开展“四城通办")
    assert items[3].leads == ["市政府办公室", "市公安局"]
    assert items[8].leads == ["市住建局", "审批服务局"]
    assert items[87].leads == ["市财政局", "市发改委", "市政府金融办"]
    assert items[6].text.endswith("并接入“蒙速办”")
    assert "牵头考核单位" not in "".join(i.text for i in draft.indicators)


def test_group_item_points_add_up_where_all_given(draft):
    """Where the measures give a group's points and every one of its items' points, the items add up to the
    group. Which groups those are is asserted too, so the check can never quietly cover none: the others are
    open items (split by rule 三(四)) or groups without points of their own."""
    sums = {}
    for g in draft.groups:
        items = [i for i in draft.indicators if i.group_code == g.code]
        if g.points is not None and all(i.points is not None for i in items):
            sums[g.code] = (sum(i.points for i in items), g.points)
    assert sorted(sums) == ["1.9", "2.1", "2.2", "2.3", "2.4", "2.5"]
    assert all(total == points for total, points in sums.values()), sums


@pytest.mark.parametrize(
    "text, month, kind, continuing",
    [
        ("5月底取得明显成效并持续推进", 5, MilestoneKind.obvious_effect, True),
        ("6月底取得阶段性成效并持续推进", 6, MilestoneKind.phased_effect, True),
        ("6月底完成", 6, MilestoneKind.complete, False),
        ("12月取得明显成效并持续推进", 12, MilestoneKind.obvious_effect, True),
        ("6月份取得明显成效", 6, MilestoneKind.obvious_effect, False),
        ("持续推进", None, MilestoneKind.continuous, False),
        ("持续优化", None, MilestoneKind.continuous, False),
        ("按进度推进", None, MilestoneKind.on_schedule, False),
        ("年内研究", None, None, False),
    ],
)
def test_milestones(text, month, kind, continuing):
    m = MilestoneInfo.parse(text)
    assert (m.text, m.month, m.kind, m.continuing) == (text, month, kind, continuing)


def test_default_split_of_open_items(draft):
    defaults = open_item_defaults(draft)
    # docs/domain.md: items 1–2 get 1.5 each, 54–58 get 4 each, 78–85 get 0.625 each.
    assert defaults[1] == ("1.1", Fraction(3, 2)) and defaults[2] == ("1.1", Fraction(3, 2))
    assert all(defaults[n] == ("3", Fraction(4)) for n in range(54, 59))
    assert all(defaults[n] == ("6", Fraction(5, 8)) for n in range(78, 86))
    # 2 points over 3 items stays exact, so the shares add up to the group.
    assert sum(defaults[n][1] for n in (6, 7, 8)) == 2
    assert 19 not in defaults


def test_multi_paragraph_indicator_is_joined():
    lines = [
        "一、甲(100分)",
        "(一)乙(100分)",
        "1 .第一段文字。",
        "第二段文字。(6月底完成,牵头考核单位:市工信局)",
    ]
    draft = parse_attachment(lines, year=2030)
    assert draft.indicators[0].text == "第一段文字。第二段文字。"


def test_full_width_text_is_folded():
    lines = ["一、甲（１００分）", "（一）乙（１００分）", "１．内容。（６月底完成，牵头考核单位：市工信局）"]
    draft = parse_attachment(lines, year=2030)
    assert draft.areas[0].points == 100 and draft.indicators[0].milestone.month == 6
    assert draft.indicators[0].leads == ["市工信局"]


def test_unrecognised_line_is_refused_by_line_number():
    lines = ["一、甲(100分)", "(一)乙(100分)", "1 .内容。(6月底完成,牵头考核单位:市工信局)", "这一行来历不明"]
    with pytest.raises(InvalidInput) as caught:
        parse_attachment(lines, year=2030)
    assert "第 4 行" in str(caught.value)


def test_indicator_without_lead_parenthesis_is_refused():
    lines = ["一、甲(100分)", "(一)乙(100分)", "1 .内容没有括号。", "2 .内容。(6月底完成,牵头考核单位:市工信局)"]
    with pytest.raises(InvalidInput) as caught:
        parse_attachment(lines, year=2030)
    assert "指标 1" in str(caught.value) and "牵头考核单位" in str(caught.value)


def test_text_without_any_area_is_refused():
    with pytest.raises(InvalidInput, match="没有找到考评指标"):
        parse_attachment(["会议纪要", "今天开会。"], year=2030)
