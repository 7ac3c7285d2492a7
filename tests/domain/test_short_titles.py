"""Short titles of the catalog's items (issue 26): cut at a phrase boundary, never inside a number,
every quotation mark and bracket closed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import kaoping
from kaoping.domain.text import PAIRS, quoted, short_title

CATALOGS = sorted((Path(kaoping.__file__).parent / "data" / "catalogs").glob("*.json"))


def _balanced(text: str) -> bool:
    stack = []
    for ch in text:
        if ch in PAIRS:
            stack.append(PAIRS[ch])
        elif ch in PAIRS.values():
            if not stack or stack.pop() != ch:
                return False
    return not stack


@pytest.mark.parametrize("catalog", CATALOGS, ids=lambda p: p.stem)
def test_every_short_title_of_the_catalog_is_balanced_short_and_never_cut_inside_a_number(catalog):
    texts = [i["text"] for i in json.loads(catalog.read_text(encoding="utf-8"))["indicators"]]
    assert len(texts) > 50
    for text in texts:
        title = short_title(text)
        assert 4 <= len(title) <= 20, (title, text)
        assert _balanced(title), (title, text)
        assert title.count("…") <= 1 and not title.startswith("…"), title
        if "…" in title:
            kept = title[: title.index("…")]
            assert kept and not kept[-1].isdigit() and not kept.endswith(("、", "，", "“", "（", "(")), (title, text)
            rest = text[text.find(kept) + len(kept):] if kept in text else ""
            assert not (re.match(r"[0-9A-Za-z%]", kept[-1]) and re.match(r"[0-9A-Za-z%]", rest[:1])), (title, text)
        else:
            assert re.sub(r"[（(][^（()）]*[）)]", "", text).find(title) >= 0, (title, text)  # a whole clause of the text


def test_the_titles_the_office_complained_of():
    """"全市新增2400户", "以应用整合方式", "部门协同监管平台内蒙古)开展“双随机…": what the 文秘 found in a demo's documents."""
    titles = {short_title(t) for catalog in CATALOGS for t in
              (i["text"] for i in json.loads(catalog.read_text(encoding="utf-8"))["indicators"])}
    assert not {"全市新增2400户", "以应用整合方式"} & titles
    assert not [t for t in titles if "内蒙古)" in t or t.count("“") != t.count("”")]
    assert "开展“双随机、一公开”监管" in titles and "嵌入整合城市大数据和城市大脑数据分析功能" in titles


def test_a_cut_inside_a_quotation_closes_it_and_a_cut_never_splits_a_figure():
    assert short_title("完善“前台综合受理、后台分类办理、统一窗口出件”模式") == "完善“前台综合受理、后台分类办理…”"
    assert short_title("建设《包头市数字政府建设总体规划（2022—2025年）》配套的各项专题规划和实施方案") == \
        "建设《包头市数字政府建设总体规划》…"
    assert short_title("新增5G基站1000座并累计建设5G基站4600个以上的全市覆盖工程") == "新增5G基站1000座…"
    assert short_title("（一）推进一网通办。") == "推进一网通办"


def test_a_title_quoted_in_a_sentence_turns_its_own_quotes_to_single_ones():
    assert quoted("完善“前台综合受理、后台分类办理…”") == "“完善‘前台综合受理、后台分类办理…’”"
    assert quoted("建立依职能按需共享机制") == "“建立依职能按需共享机制”"
