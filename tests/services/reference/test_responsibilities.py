"""承担关系 (kaoping/services/reference/responsibilities.py): the default rule — every district undertakes every
indicator, every department those it leads — until a list is imported (tests/cli/test_responsibilities_import.py)."""

from __future__ import annotations

import json

from kaoping import db
from kaoping.services.reference.registry import UnitDirectory
from kaoping.services.reference.responsibilities import responsibilities_for
from tests.conftest import CATALOG_2022


def test_default_rule(initialized_db, settings):
    with db.session_scope(settings) as session:
        view = responsibilities_for(session, 2022)
        directory = UnitDirectory.load(session)
        donghe = directory.resolve("东河区").id
        gxj = directory.resolve("市工信局").id
        wjw = directory.resolve("市卫健委").id
        zfb = directory.resolve("市政府办公室").id
    assert view.is_default
    assert {n for u, n in view.pairs if u == donghe} == set(range(1, 91))
    assert {n for u, n in view.pairs if u == wjw} == {20}
    assert {n for u, n in view.pairs if u == zfb} == {3, 4, 5, 86, 90}
    assert len({n for u, n in view.pairs if u == gxj}) == 28
    # 10 districts × 90, plus one pair per (department, indicator it leads): the catalog
    # names 101 such pairs (市工信局 28, 市审批服务局 19, 市委网信办 8, 市市场监管局 8, …).
    catalog = json.loads(CATALOG_2022.read_text(encoding="utf-8"))
    led = sum(len(i["lead_assessors"]) for i in catalog["indicators"])
    assert led == 101
    assert len(view.pairs) == 10 * 90 + led
