"""The 发文字号 register (services/reports/doc_numbers.py)."""

from __future__ import annotations

import pytest

from kaoping import db
from kaoping.domain.errors import Conflict, InvalidInput
from kaoping.services.reports import doc_numbers


def test_numbers_are_given_once_per_prefix_and_year(migrated):
    with db.session_scope(migrated) as session:
        def take(document: str, *, prefix: str = "包政办", year: int = 2022, serial: int | None = None) -> str:
            return doc_numbers.take(session, prefix=prefix, year=year, document=document, serial=serial, actor="t").text

        assert take("tongbao:2022H1") == "包政办〔2022〕1号"
        assert take("baogao:2022H1") == "包政办〔2022〕2号"
        assert take("tongbao:2022H1") == "包政办〔2022〕1号"  # published again: the same number
        assert take("fankui:2022H1:150202", prefix="包政办函") == "包政办函〔2022〕1号"  # its own 代字
        assert take("tongbao:2022H2", year=2023) == "包政办〔2023〕1号"  # a new year starts at 1
        assert take("tongbao:2022", serial=10) == "包政办〔2022〕10号"
        assert take("baogao:2022") == "包政办〔2022〕11号"
        with pytest.raises(Conflict, match="包政办〔2022〕2号已用于"):
            take("other", serial=2)
        with pytest.raises(Conflict, match="已于此前印发"):
            take("tongbao:2022H1", serial=5)
        with pytest.raises(InvalidInput):
            take("other", serial=0)
        entries = doc_numbers.register(session, year=2022)
        texts = [e.text for e in entries]
        assert len(texts) == len(set(texts)) == 5


def test_many_numbers_at_once_keep_the_given_ones_and_follow_on(migrated):
    """The 反馈函 of a publication take their numbers together (one read, one insert): a letter numbered by
    an earlier run keeps its number, the others follow the highest serial in the units' order."""
    with db.session_scope(migrated) as session:
        first = doc_numbers.take(session, prefix="包政办函", year=2022, document="fankui:2022H1:150203", actor="t")
        doc_numbers.take(session, prefix="包政办函", year=2022, document="other", serial=7, actor="t")
        taken = doc_numbers.take_many(session, prefix="包政办函", year=2022, cycle_code="2022H1", actor="t",
                                      documents=[(f"fankui:2022H1:{code}", f"反馈函（{code}）")
                                                 for code in ("150202", "150203", "150204")])
        assert {k: v.text for k, v in taken.items()} == {
            "fankui:2022H1:150202": "包政办函〔2022〕8号", "fankui:2022H1:150203": first.text,
            "fankui:2022H1:150204": "包政办函〔2022〕9号"}
        again = doc_numbers.take_many(session, prefix="包政办函", year=2022, actor="t",
                                      documents=[("fankui:2022H1:150204", ""), ("fankui:2022H1:150202", "")])
        assert {k: v.text for k, v in again.items()} == {"fankui:2022H1:150204": "包政办函〔2022〕9号",
                                                         "fankui:2022H1:150202": "包政办函〔2022〕8号"}
        assert len(doc_numbers.register(session, year=2022)) == 4  # nothing numbered twice
