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
