"""The arithmetic of the measures, on small hand-computed examples and as properties.

Pure: no database. The tiny catalog used here:

    area 1 "甲" W = 60    item 1 (30 points, lead L1)
                          item 2 (30 points, leads L1 and L2)
    area 2 "乙" W = 40    item 3 (40 points, lead L2)

Units: U1, U2 (districts, all three items), D (a department undertaking only item 1),
L1 and L2 are lead assessors (departments) that undertake nothing here.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kaoping.models import Component

from kaoping.domain.policy import ScoringPolicy, load_policy
from kaoping.domain.annual import compute_annual
from kaoping.domain.scoring import (
    AdjustmentLine,
    AreaSpec,
    ComponentValue,
    ItemSpec,
    LeadScoreValue,
    ScoringError,
    ScoringInputs,
    UnitSpec,
    VerificationValue,
    basis_text,
    compute,
    fmt,
    round_half_up,
)
from kaoping.settings import DATA_DIR

POLICY = load_policy(DATA_DIR / "policies" / "default.yaml")
EXACT = POLICY.model_copy(update={"rounding": POLICY.rounding.model_copy(update={"basis": "exact"})})
L1, L2, U1, U2, D = 101, 102, 1, 2, 3

AREAS = {"1": AreaSpec("1", "一", "甲", Decimal(60)), "2": AreaSpec("2", "二", "乙", Decimal(40))}
ITEMS = {
    11: ItemSpec(11, 1, "1", Fraction(30), "given", (L1,)),
    12: ItemSpec(12, 2, "1", Fraction(30), "given", (L1, L2)),
    13: ItemSpec(13, 3, "2", Fraction(40), "given", (L2,)),
}


def unit(unit_id, items=(11, 12, 13), group="district", position=0):
    return UnitSpec(unit_id, f"U{unit_id}", f"单位{unit_id}", f"单位{unit_id}", group, tuple(items), position)


def scores(**by_item):
    """scores(i11={L1: 27}, i12={L1: 20, L2: 25}) → {(indicator): {lead: value}}."""
    return {int(k[1:]): {lead: LeadScoreValue(Decimal(str(v))) for lead, v in leads.items()} for k, leads in by_item.items()}


def components(unit_id, field=None, opinion=None, third=None):
    out = {}
    for comp, value in ((Component.field, field), (Component.opinion, opinion), (Component.third_party, third)):
        if value is not None:
            out[(unit_id, comp)] = [ComponentValue("来源", Decimal(str(value)))]
    return out


def inputs(units, lead, comps, policy=POLICY, verifications=None, adjustments=None, items=ITEMS):
    lead_scores = {(u, i): v for u, per_item in lead.items() for i, v in per_item.items()}
    names = {L1: "L1", L2: "L2", **{u.unit_id: u.short_name for u in units}}
    return ScoringInputs(policy, AREAS, items, units, lead_scores, verifications or {}, comps, adjustments or {}, names)


def by_id(results):
    return {r.unit.unit_id: r for r in results}


def test_worked_example_several_leads_on_one_item():
    # U1: item 1 = 27; item 2 = mean(20, 25) = 22.5; item 3 = 30.
    # A(甲) = 60 × (27 + 22.5) / (30 + 30) = 49.5;  A(乙) = 40 × 30 / 40 = 30.
    # M = 100 × (49.5 + 30) / (60 + 40) = 79.5.
    # H = 0.6 × 79.5 + 0.2 × 90 + 0.1 × 80 + 0.1 × 70 = 47.7 + 18 + 8 + 7 = 80.7 → 良好.
    r = by_id(compute(inputs([unit(U1)], {U1: scores(i11={L1: 27}, i12={L1: 20, L2: 25}, i13={L2: 30})},
                             components(U1, 90, 80, 70))))[U1]
    assert r.areas["1"].score == Fraction("49.5") and r.areas["2"].score == 30
    assert r.monitoring == Fraction("79.5")
    assert r.total == Fraction("80.7") and fmt(r.total) == "80.70"
    assert r.grade == "良好" and r.rank == 1


def test_worked_example_unit_undertaking_only_some_items():
    # D undertakes item 1 only (24 of 30): not penalised for items 2 and 3.
    # A(甲) = 60 × 24 / 30 = 48; no items in 乙, so M = 100 × 48 / 60 = 80.
    # H = 0.6 × 80 + 0.2 × 90 + 0.1 × 70 + 0.1 × 60 = 48 + 18 + 7 + 6 = 79 → 一般.
    r = by_id(compute(inputs([unit(D, items=(11,), group="department")], {D: scores(i11={L1: 24})},
                             components(D, 90, 70, 60))))[D]
    assert list(r.areas) == ["1"] and r.areas["1"].score == 48
    assert r.monitoring == 80 and r.total == 79 and r.grade == "一般"


def test_worked_example_exact_thirds_and_half_up_rounding():
    # Item 2 led by L1 and L2 scores 20 and 21 → mean 20.5; with item 1 = 10 and item 3 = 13,
    # A(甲) = 60 × 30.5 / 60 = 30.5, A(乙) = 40 × 13 / 40 = 13, M = 43.5.
    # Field 100, opinion 100, third-party 100/3 (three sources 100, 0, 0 of equal weight):
    # H = 0.6 × 43.5 + 20 + 10 + 0.1 × 100/3 = 26.1 + 30 + 3.333… = 59.4333… → 59.43, 较差.
    comps = components(U1, 100, 100)
    comps[(U1, Component.third_party)] = [ComponentValue(s, Decimal(v)) for s, v in (("甲", 100), ("乙", 0), ("丙", 0))]
    r = by_id(compute(inputs([unit(U1)], {U1: scores(i11={L1: 10}, i12={L1: 20, L2: 21}, i13={L2: 13})}, comps,
                             policy=EXACT)))[U1]
    assert r.components[Component.third_party].value == Fraction(100, 3)
    assert r.total == Fraction(26100 + 30000, 1000) + Fraction(10, 3)
    assert fmt(r.total) == "59.43" and r.grade == "较差"
    assert round_half_up(Fraction(5, 1000)) == Decimal("0.01")  # half up, not half even
    assert round_half_up(Fraction(-5, 1000)) == Decimal("-0.01")


def test_open_points_default_split_is_flagged_and_allocation_changes_the_weights():
    # Area 乙 gets two open items 3 and 4 sharing its 40 points.
    # Default: 20 each.   U1 scores 3: 10, 4: 20 → A(乙) = 40 × 30 / 40 = 30.
    # Allocated 10 / 30:   same scores → A(乙) = 40 × 30 / 40 = 30 as well, but item 3 is
    # now scored out of 10, so U2 with 3: 10, 4: 10 gets 40 × 20 / 40 = 20 under both splits;
    # the flag tells readers which split was used.
    def items(p3, p4, basis):
        return {
            11: ITEMS[11], 12: ITEMS[12],
            13: ItemSpec(13, 3, "2", Fraction(p3), basis, (L2,)),
            14: ItemSpec(14, 4, "2", Fraction(p4), basis, (L2,)),
        }

    lead = {U1: scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 10}, i14={L2: 20})}
    default = by_id(compute(inputs([unit(U1, (11, 12, 13, 14))], lead, components(U1, 90, 90, 90), items=items(20, 20, "default"))))[U1]
    assert default.areas["2"].score == 30
    assert any("默认分值：指标 3–4" in f for f in default.flags)
    allocated = by_id(compute(inputs([unit(U1, (11, 12, 13, 14))], lead, components(U1, 90, 90, 90), items=items(10, 30, "allocated"))))[U1]
    assert allocated.areas["2"].score == 30 and not any("默认分值" in f for f in allocated.flags)
    # A score above the allocated points is refused before anything is computed.
    over = {U1: scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 15}, i14={L2: 20})}
    with pytest.raises(ScoringError) as caught:
        compute(inputs([unit(U1, (11, 12, 13, 14))], over, components(U1, 90, 90, 90), items=items(10, 30, "allocated")))
    assert [p.kind for p in caught.value.problems] == ["out_of_range"]


def test_missing_component_is_an_error_or_reweighted():
    lead = {U1: scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 40})}
    with pytest.raises(ScoringError) as caught:
        compute(inputs([unit(U1)], lead, components(U1, None, 80, 70)))
    assert [p.kind for p in caught.value.problems] == ["missing_component"]
    assert "实地调研" in caught.value.problems[0].message
    # Re-weighted: M = 100, O = 80, T = 70, no F: H = (60 × 100 + 10 × 80 + 10 × 70) / 80 = 93.75.
    reweight = POLICY.model_copy(update={"missing_component": "reweight"})
    r = by_id(compute(inputs([unit(U1)], lead, components(U1, None, 80, 70), policy=reweight)))[U1]
    assert r.total == Fraction("93.75")
    assert any("重新加权：缺少实地调研" in f for f in r.flags)


def test_ties_share_a_rank_and_the_next_rank_is_skipped():
    # U1 and U2 score the same; D3 lower; D4 higher: ranks 1 (D4), 2, 2, 4 within districts.
    same = scores(i11={L1: 27}, i12={L1: 20, L2: 25}, i13={L2: 30})
    units = [unit(U1, position=1), unit(U2, position=2), unit(4, position=3), unit(5, position=4)]
    lead = {U1: same, U2: same, 4: scores(i11={L1: 10}, i12={L1: 10, L2: 10}, i13={L2: 10}),
            5: scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 40})}
    comps = {k: v for u in (U1, U2, 4, 5) for k, v in components(u, 90, 80, 70).items()}
    r = by_id(compute(inputs(units, lead, comps)))
    assert (r[5].rank, r[U1].rank, r[U2].rank, r[4].rank) == (1, 2, 2, 4)


def test_veto_forces_the_lowest_grade_and_caps_apply_to_bonus_lines():
    lead = {U1: scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 40})}
    lines = {U1: [AdjustmentLine("bonus", Decimal(3), "试点经验推广"), AdjustmentLine("bonus", Decimal(4), "国家级表彰"),
                  AdjustmentLine("deduction", Decimal("1.5"), "数据安全事件通报")]}
    # H = 0.6 × 100 + 0.2 × 90 + 0.1 × 90 + 0.1 × 90 = 96; bonus 7 capped at 5; deduction 1.5 → 99.5.
    r = by_id(compute(inputs([unit(U1)], lead, components(U1, 90, 90, 90), adjustments=lines)))[U1]
    assert r.half_year == 96 and r.bonus == 5 and r.deduction == Decimal("1.5") and r.total == Fraction("99.5")
    assert r.grade == "优秀" and any("加分封顶" in f for f in r.flags)
    lines[U1].append(AdjustmentLine("veto", None, "发生重大网络安全事件"))
    vetoed = by_id(compute(inputs([unit(U1)], lead, components(U1, 90, 90, 90), adjustments=lines)))[U1]
    assert vetoed.total == Fraction("99.5") and vetoed.grade == "较差"
    assert any("一票否决：发生重大网络安全事件" in f for f in vetoed.flags)


def test_self_scored_items_must_be_verified_and_a_later_score_needs_reverifying():
    # L1 undertakes item 1, which it leads: its own score needs the specialist team.
    l1 = unit(L1, items=(11,), group="department")
    lead = {L1: scores(i11={L1: 30})}
    with pytest.raises(ScoringError) as caught:
        compute(inputs([l1], lead, components(L1, 90, 90, 90)))
    assert [p.kind for p in caught.value.problems] == ["unverified_self_score"]
    confirmed = {(L1, 11): VerificationValue("confirm", None, basis_text(Fraction(30)), "专班", None)}
    assert compute(inputs([l1], lead, components(L1, 90, 90, 90), verifications=confirmed))[0].total == 96
    # The lead sends 25 after the confirmation of 30: the confirmation no longer covers it.
    later = {L1: scores(i11={L1: 25})}
    with pytest.raises(ScoringError) as caught:
        compute(inputs([l1], later, components(L1, 90, 90, 90), verifications=confirmed))
    assert "须重新核实" in caught.value.problems[0].message
    # An adjustment replaces the value: 28 → M = 100 × 28 / 30.
    adjusted = {(L1, 11): VerificationValue("adjust", Decimal(28), "", "专班", None, "佐证不足")}
    r = compute(inputs([l1], later, components(L1, 90, 90, 90), verifications=adjusted))[0]
    assert r.monitoring == Fraction(280, 3)


def test_missing_lead_score_is_named():
    with pytest.raises(ScoringError) as caught:
        compute(inputs([unit(U1)], {U1: scores(i11={L1: 27}, i12={L1: 20}, i13={L2: 30})}, components(U1, 90, 80, 70)))
    problem = caught.value.problems[0]
    assert problem.kind == "missing_score" and "指标 2" in problem.message and "L2" in problem.message


def test_annual_is_the_mean_of_the_halves_and_flags_a_single_half():
    lead = {U1: scores(i11={L1: 27}, i12={L1: 20, L2: 25}, i13={L2: 30})}
    first = compute(inputs([unit(U1)], lead, components(U1, 90, 80, 70)))  # 80.7
    lead2 = {U1: scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 40}), U2: scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 40})}
    second = compute(inputs([unit(U1), unit(U2, position=1)], lead2,
                            {**components(U1, 90, 90, 90), **components(U2, 90, 90, 90)}))  # 96, 96
    annual = {r.unit.unit_id: r for r in compute_annual(first, second, POLICY)}
    # Y(U1) = (80.7 + 96) / 2 = 88.35.
    assert annual[U1].total == Fraction("88.35") and annual[U1].grade == "良好"
    assert annual[U2].total == 96 and any("仅参加下半年" in f for f in annual[U2].flags)
    assert annual[U2].rank == 1 and annual[U1].rank == 2


def test_the_rounding_note_says_whether_the_published_figures_add_up():
    from kaoping.domain.numbers import rounding_note

    assert "逐级计算" in rounding_note("published") and "尾差" not in rounding_note("published")
    assert "尾差" in rounding_note("exact") and "尾差" in rounding_note("exact", annual=True)
    assert "÷ 2" in rounding_note("published", annual=True)


def test_published_basis_is_the_default():
    assert POLICY.rounding.basis == "published"


def test_published_basis_builds_the_total_from_rounded_components():
    # third-party 100/3 → 33.33 when published; with basis "published" the total uses 33.33.
    comps = components(U1, 100, 100)
    comps[(U1, Component.third_party)] = [ComponentValue(s, Decimal(v)) for s, v in (("甲", 100), ("乙", 0), ("丙", 0))]
    lead = {U1: scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 40})}
    published = POLICY.model_copy(update={"rounding": POLICY.rounding.model_copy(update={"basis": "published"})})
    r = compute(inputs([unit(U1)], lead, comps, policy=published))[0]
    assert r.total == Fraction("60") + 20 + 10 + Fraction("3.333")


def test_published_basis_builds_monitoring_from_rounded_area_scores():
    # Area 甲: items 1 and 2 (30 points each); 乙: item 3 (40 points). Scores 10, mean(20, 20.008), 13.004:
    # A(甲) = 60 × 30.004 / 60 = 30.004 → published 30.00; A(乙) = 40 × 13.004 / 40 = 13.004 → 13.00.
    # Exact: M = 43.008 → 43.01, which a reader adding 30.00 + 13.00 cannot get. Published basis
    # (the default): M = 30.00 + 13.00 = 43.00, and the total is built from that 43.00.
    lead = {U1: scores(i11={L1: 10}, i12={L1: 20, L2: "20.008"}, i13={L2: "13.004"})}
    r = compute(inputs([unit(U1)], lead, components(U1, 100, 100, 100)))[0]
    assert [fmt(a.score) for a in r.areas.values()] == ["30.00", "13.00"]
    assert fmt(r.monitoring) == "43.00"
    assert r.components[Component.monitoring].exact == Fraction("43.008")
    assert r.total == Fraction(6, 10) * Fraction("43.00") + 40
    exact = compute(inputs([unit(U1)], lead, components(U1, 100, 100, 100), policy=EXACT))[0]
    assert fmt(exact.monitoring) == "43.01"


# --------------------------------------------------------------------------- properties

point_values = st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal("1"), Decimal("2"), Decimal("12")])


@st.composite
def random_cycle(draw):
    """A random catalog (2–4 areas), units undertaking random subsets, valid scores."""
    n_areas = draw(st.integers(2, 4))
    weights = draw(st.lists(st.integers(5, 40), min_size=n_areas, max_size=n_areas))
    areas = {str(a + 1): AreaSpec(str(a + 1), "一", f"区{a}", Decimal(w)) for a, w in enumerate(weights)}
    items = {}
    for number in range(1, draw(st.integers(2, 8)) + 1):
        area = str(draw(st.integers(1, n_areas)))
        leads = tuple(draw(st.lists(st.sampled_from([L1, L2]), min_size=1, max_size=2, unique=True)))
        items[number] = ItemSpec(number, number, area, Fraction(draw(point_values)), "given", leads)
    units = []
    lead_scores = {}
    comps = {}
    for u in range(1, draw(st.integers(1, 5)) + 1):
        chosen = draw(st.lists(st.sampled_from(sorted(items)), min_size=1, unique=True))
        units.append(UnitSpec(u, f"U{u}", f"单位{u}", f"单位{u}", "district", tuple(sorted(chosen)), u))
        for i in chosen:
            p = items[i].points
            lead_scores[(u, i)] = {
                lead: LeadScoreValue(Decimal(draw(st.integers(0, int(p * 100)))) / 100) for lead in items[i].leads
            }
        for comp in (Component.field, Component.opinion, Component.third_party):
            comps[(u, comp)] = [ComponentValue("s", Decimal(draw(st.integers(0, 10000))) / 100)]
    return ScoringInputs(POLICY, areas, items, units, lead_scores, {}, comps, {}, {L1: "L1", L2: "L2"})


@settings(max_examples=150, deadline=None)
@given(random_cycle())
def test_totals_stay_within_0_and_100_before_bonus_lines(data):
    for r in compute(data):
        assert 0 <= r.total <= 100
        assert all(0 <= a.score <= a.weight for a in r.areas.values())


@settings(max_examples=150, deadline=None)
@given(random_cycle(), st.data())
def test_raising_an_item_score_never_lowers_the_total(data, draw):
    before = by_id(compute(data))
    (u, i), per_lead = draw.draw(st.sampled_from(sorted(data.lead_scores.items())))
    lead = draw.draw(st.sampled_from(sorted(per_lead)))
    p = data.items[i].points
    old = per_lead[lead].score
    new = Decimal(draw.draw(st.integers(int(old * 100), int(p * 100)))) / 100
    data.lead_scores[(u, i)] = {**per_lead, lead: LeadScoreValue(new)}
    after = by_id(compute(data))
    assert after[u].total >= before[u].total


@settings(max_examples=100, deadline=None)
@given(random_cycle(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(data, rnd):
    expected = {r.unit.unit_id: (r.total, r.rank, r.grade) for r in compute(data)}
    shuffled_units = list(data.units)
    rnd.shuffle(shuffled_units)
    keys = list(data.lead_scores)
    rnd.shuffle(keys)
    shuffled = ScoringInputs(
        data.policy, data.areas, data.items, shuffled_units,
        {k: dict(reversed(list(data.lead_scores[k].items()))) for k in keys},
        {}, dict(reversed(list(data.components.items()))), {}, data.unit_names,
    )
    assert {r.unit.unit_id: (r.total, r.rank, r.grade) for r in compute(shuffled)} == expected


@settings(max_examples=100, deadline=None)
@given(random_cycle())
def test_equal_inputs_give_equal_ranks(data):
    # A twin of unit 1 with the same items and scores gets the same total and rank.
    first = data.units[0]
    twin = UnitSpec(99, "U99", "孪生", "孪生", first.group, first.items, 99)
    data.units.append(twin)
    for (u, i), v in list(data.lead_scores.items()):
        if u == first.unit_id:
            data.lead_scores[(99, i)] = dict(v)
    for comp in (Component.field, Component.opinion, Component.third_party):
        data.components[(99, comp)] = list(data.components[(first.unit_id, comp)])
    r = by_id(compute(data))
    assert r[99].total == r[first.unit_id].total and r[99].rank == r[first.unit_id].rank


@settings(max_examples=200, deadline=None)
@given(random_cycle(), st.lists(st.tuples(st.sampled_from(["bonus", "deduction"]), st.integers(0, 300)), max_size=3))
def test_every_published_figure_recomputes_from_the_published_figures_below_it(data, lines):
    """A reader with a calculator: areas → 日常监测 → total (with the adjustment lines), each from
    the published (2-place) figures one level below, gives exactly the published figure."""
    for u in data.units:
        data.adjustments[u.unit_id] = [AdjustmentLine(kind, Decimal(n) / 100, "理由") for kind, n in lines]
    for r in compute(data):
        areas = [Decimal(fmt(a.score)) for a in r.areas.values()]
        weights = sum(a.weight for a in r.areas.values())
        assert fmt(r.monitoring) == fmt(Fraction(100) * Fraction(sum(areas)) / Fraction(weights))
        published = {c: Decimal(fmt(r.components[c].value)) for c in r.weights_used}
        recomputed = sum(w * Fraction(published[c]) for c, w in r.weights_used.items()) + Fraction(r.bonus - r.deduction)
        assert r.published_total == round_half_up(max(recomputed, Fraction(0)))


def test_a_vetoed_unit_ranks_after_every_unit_of_its_group_not_vetoed():
    lead = scores(i11={L1: 30}, i12={L1: 30, L2: 30}, i13={L2: 40})
    units = [unit(U1, position=1), unit(U2, position=2)]
    lead_scores = {U1: lead, U2: scores(i11={L1: 10}, i12={L1: 10, L2: 10}, i13={L2: 10})}
    comps = {**components(U1, 90, 90, 90), **components(U2, 50, 50, 50)}
    veto = {U1: [AdjustmentLine("veto", None, "发生重大网络安全事件")]}
    r = by_id(compute(inputs(units, lead_scores, comps, adjustments=veto)))
    assert r[U1].total > r[U2].total
    assert (r[U2].rank, r[U1].rank) == (1, 2) and r[U1].grade == "较差"
    by_score = POLICY.model_copy(update={"veto": POLICY.veto.model_copy(update={"rank": "by_score"})})
    r = by_id(compute(inputs(units, lead_scores, comps, adjustments=veto, policy=by_score)))
    assert (r[U1].rank, r[U2].rank) == (1, 2) and r[U1].grade == "较差"


def test_the_policy_names_its_own_rules_apart_from_the_measures():
    assert POLICY.rules.name == "包头市数字政府建设考评计分实施细则"
    assert POLICY.rules.citation == "《包头市数字政府建设考评计分实施细则》（尚未以文件印发）"
    adopted = POLICY.rules.model_copy(update={"adopted_by": "包数字政府办〔2022〕3号"})
    assert adopted.citation == "《包头市数字政府建设考评计分实施细则》（包数字政府办〔2022〕3号）"


def test_policy_file_is_validated():
    from kaoping.domain.errors import InvalidInput
    from kaoping.domain.policy import load_policy_text

    with pytest.raises(InvalidInput) as caught:
        load_policy_text("version: x\ncomponents: {monitoring: 60, field: 20, opinion: 10, third_party: 20}\ngrades: [{name: 优秀, min: 90}, {name: 较差, min: 0}]\n", source="p.yaml")
    assert "合计应为 100" in str(caught.value)
    with pytest.raises(InvalidInput, match="从高到低"):
        load_policy_text("version: x\ncomponents: {monitoring: 60, field: 20, opinion: 10, third_party: 10}\ngrades: [{name: 较差, min: 0}, {name: 优秀, min: 90}]\n", source="p.yaml")
    assert isinstance(POLICY, ScoringPolicy) and POLICY.grade_for(Decimal("89.99")) == "良好"


def test_readme_worked_example():
    """README: 市卫健委 undertakes only item 20 (0.5 points in area 一 of 25), leads it itself."""
    wjw = 7
    areas = {"1": AreaSpec("1", "一", "政务服务“一网通办”", Decimal(25))}
    items = {20: ItemSpec(20, 20, "1", Fraction(1, 2), "given", (wjw,))}
    units = [UnitSpec(wjw, "wjw", "包头市卫生健康委员会", "市卫健委", "department", (20,))]
    lead = {(wjw, 20): {wjw: LeadScoreValue(Decimal("0.45"))}}
    comps = {(wjw, Component.field): [ComponentValue("s", Decimal(85))],
             (wjw, Component.opinion): [ComponentValue("s", Decimal(80))],
             (wjw, Component.third_party): [ComponentValue("s", Decimal(88))]}
    data = ScoringInputs(POLICY, areas, items, units, lead, {}, comps, {}, {wjw: "市卫健委"})
    with pytest.raises(ScoringError):  # self-scored: the specialist team must confirm first
        compute(data)
    data.verifications[(wjw, 20)] = VerificationValue("confirm", None, basis_text(Fraction(45, 100)), "专班", None)
    r = compute(data)[0]
    assert r.areas["1"].score == Fraction("22.5") and r.monitoring == 90
    assert fmt(r.total) == "87.80"
    # Issue 27: a base of 0.5 points is below the policy's minimum (专班口径, 1 point): listed, not ranked or graded.
    assert r.base == Fraction(1, 2) and r.own_points == Fraction(1, 2)
    assert r.grade == "" and r.rank == 0 and not r.ranked and "承担指标分值 0.5 分，低于专班口径" in r.listed
    policy = POLICY.model_copy(update={"ranking": POLICY.ranking.model_copy(update={"min_base": Decimal("0.5")})})
    r = compute(ScoringInputs(policy, areas, items, units, lead, data.verifications, comps, {}, {wjw: "市卫健委"}))[0]
    assert r.grade == "良好" and r.rank == 1 and r.ranked  # at the minimum: ranked on its base
    # A cycle whose policy copy predates the rule (no ``ranking``) keeps ranking every unit, as it published.
    older = POLICY.model_validate({k: v for k, v in POLICY.snapshot().items() if k != "ranking"})
    r = compute(ScoringInputs(older, areas, items, units, lead, data.verifications, comps, {}, {wjw: "市卫健委"}))[0]
    assert r.ranked and r.grade == "良好"
