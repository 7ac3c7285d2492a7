"""承担建议 as pure rules: which units an indicator's text proposes (kaoping/domain/responsibilities.py;
for the 2022 catalog and through an import: tests/services/reference/test_responsibility_suggestions.py)."""

from __future__ import annotations

from kaoping.domain.responsibilities import ItemText, UnitNames, suggest

UNITS = [
    UnitNames(1, "东河区", "district", ("东河区",)),
    UnitNames(2, "达茂旗", "district", ("达尔罕茂明安联合旗", "达茂旗")),
    UnitNames(3, "市工信局", "department", ("包头市工业和信息化局", "市工信局", "工信局")),
    UnitNames(4, "市教育局", "department", ("包头市教育局", "市教育局")),
]


def test_a_text_that_names_a_district_proposes_only_that_district():
    items = [ItemText(62, "制定边境地区网络覆盖方案,按分工交由达茂旗牵头落实。", (3,)),
             ItemText(63, "推进校园网络建设，市教育局配合。", (3,))]
    got = [(s.unit_id, s.number, s.why) for s in suggest(items, UNITS)]
    assert (2, 62, "指标文字点名达茂旗") in got and not any(u == 1 and n == 62 for u, n, _ in got)
    assert (1, 63, "各旗县区（指标文字未点名具体旗县区）") in got and (2, 63, "各旗县区（指标文字未点名具体旗县区）") in got
    assert (3, 62, "牵头考核单位") in got and (4, 63, "指标文字点名") in got
    assert not any(u == 4 and n == 62 for u, n, _ in got)
