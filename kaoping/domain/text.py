"""Text as people type it: full-width digits and brackets, stray spaces, BOMs, GBK files."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal

from email_validator import validate_email

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """NFKC (full-width → half-width: ８５ → 85, （ → (, ： → :) and trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def name_key(name: str) -> str:
    """The form used to compare unit names: folded, without any whitespace."""
    return _SPACES.sub("", fold(name))


def decode_text(data: bytes) -> str:
    """Decode a text file written on any office PC: UTF-8 (with or without BOM) or GB18030.

    GB18030 decodes almost any byte string, so binary files (images, archives) are told
    apart first by the NUL bytes text files never contain.
    """
    if b"\x00" in data[:8192]:
        raise UnicodeDecodeError("text", data[:1], 0, 1, "binary data (NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8/gb18030", data[:1], 0, 1, "neither UTF-8 nor GB18030")


def closest(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The known names most like ``word`` (for "did you mean" in refusals)."""
    pool = list(dict.fromkeys(candidates))
    found = difflib.get_close_matches(word, pool, n=n, cutoff=0.4)
    if not found:
        key = name_key(word)
        found = [c for c in pool if key and (key in name_key(c) or name_key(c) in key)][:n]
    return found


CHINESE_NUMERALS = "一二三四五六七八九十"


def chinese_numeral(n: int) -> str:
    """1 → 一 … 10 → 十, 11 → 十一, 20 → 二十 (enough for areas and groups)."""
    if n <= 10:
        return CHINESE_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (CHINESE_NUMERALS[tens - 1] if tens > 1 else "") + "十" + (CHINESE_NUMERALS[ones - 1] if ones else "")


def parse_chinese_numeral(s: str) -> int:
    if s in CHINESE_NUMERALS:
        return CHINESE_NUMERALS.index(s) + 1
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (parse_chinese_numeral(tens) if tens else 1) * 10 + (parse_chinese_numeral(ones) if ones else 0)
    raise ValueError(s)

def normalize_email(address: str) -> str:
    """Syntax check only (no network): kaoping must work where DNS is not reachable."""
    return validate_email(fold(address), check_deliverability=False).normalized


def points_str(value: Decimal | None) -> str | None:
    """Points as exact text: 25, 1.5, 0.625 (no trailing zeros)."""
    if value is None:
        return None
    normal = value.normalize()
    return format(normal, "f")


PREAMBLES = ("按照", "根据", "依据", "对标", "对照", "在", "通过", "本着", "围绕", "依托", "以", "除")

#: Pairs a short title must never leave open (an opener left open by a cut is closed after the "…").
PAIRS = {"“": "”", "‘": "’", "《": "》", "（": "）", "(": ")", "【": "】", "「": "」", "『": "』", "〈": "〉"}
_CLOSERS = {close: open_ for open_, close in PAIRS.items()}
#: An aside in brackets is left out of a short title: "全市新增2400户(累计约3600户)大中型餐饮单位…".
_ASIDE = re.compile(r"[（(][^（()）]*[）)]")
#: Where a clause ends (outside quotes and brackets: "“谁主管、谁提供、谁负责”原则" is one phrase).
_CLAUSE_END = set("，。；：,;:！？!?\n")
#: The verbs after which "依托…系统开展“双随机、一公开”监管" says what is to be done.
_ACTIONS = ("开展", "推进", "推动", "实现", "建设", "建立", "完善", "加快", "提升", "打造", "嵌入", "构建", "强化")
#: Characters a cut may follow ("…的", "…等") or precede ("和…", "与…"): phrase boundaries inside a clause.
_AFTER, _BEFORE = set("的等”》）)—"), set("和与及并或、“《—")
#: Words a cut may precede: "全市90%的重点领域市场主体|纳入…", "…等部门|积极配合…".
_BEFORE_WORDS = _ACTIONS + ("纳入", "进入", "接入", "做好", "建立", "积极", "全面", "持续", "不断", "逐步")
_NUMBERISH = re.compile(r"[0-9A-Za-z%.+\-－％０-９]")


def _clauses(text: str) -> list[str]:
    """The clauses of ``text`` (asides in brackets left out), split at punctuation outside quotes."""
    text = _ASIDE.sub("", text.strip())
    clauses, current, depth = [], [], []
    for ch in text:
        if ch in PAIRS and not (ch == "“" and depth and depth[-1] == "“"):
            depth.append(ch)
        elif ch in _CLOSERS and depth and depth[-1] == _CLOSERS[ch]:
            depth.pop()
        if ch in _CLAUSE_END and not depth:
            clauses.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    clauses.append("".join(current).strip())
    return [c for c in clauses if c]


def _open_at(text: str) -> list[list[str]]:
    """For each cut position i (0 … len), the openers left open by ``text[:i]``, innermost last."""
    stack: list[str] = []
    states = [[]]
    for ch in text:
        if ch in _CLOSERS and stack and stack[-1] == _CLOSERS[ch]:
            stack.pop()
        elif ch in PAIRS:
            stack.append(ch)
        states.append(list(stack))
    return states


def _balanced(text: str) -> str:
    """``text`` without any bracket or quotation mark that has no partner (a typo in the catalog)."""
    keep = [True] * len(text)
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in _CLOSERS and stack and text[stack[-1]] == _CLOSERS[ch]:
            stack.pop()
        elif ch in PAIRS:
            stack.append(i)
        elif ch in _CLOSERS:
            keep[i] = False
    for i in stack:
        keep[i] = False
    return "".join(ch for ch, k in zip(text, keep, strict=True) if k)


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters with "…", at the last phrase boundary that fits
    (a punctuation mark, before 和/与/及/并, after 的/等, at a quotation); never inside a number, and
    any quotation or bracket the cut leaves open closed after the "…"."""
    states = _open_at(text)
    fits, phrase, before_word = [], [], []
    for i in range(1, len(text)):
        closers = "".join(PAIRS[o] for o in reversed(states[i]))
        if i + 1 + len(closers) > limit:
            continue
        if _NUMBERISH.match(text[i - 1]) and (_NUMBERISH.match(text[i]) or text[i - 1].isdigit()):
            continue  # never "2400|户", "5|G", "90|%"
        if text[i - 1] in PAIRS:
            continue  # never "…“…”"
        fits.append(i)
        if text[i - 1] in _AFTER or text[i] in _BEFORE:
            phrase.append(i)
        elif text.startswith(_BEFORE_WORDS, i):
            before_word.append(i)
    # The longest cut at punctuation or a conjunction, else before a verb, at least half the limit
    # long; else at least 6 characters; else the longest that fits.
    tiers = [[i for i in kind if i >= least] for least in (limit // 2, 6) for kind in (phrase, before_word)]
    i = max(next((tier for tier in tiers if tier), fits or [1]))
    head = text[:i].rstrip("、，")
    return head + "…" + "".join(PAIRS[o] for o in reversed(states[len(head)]))


def quoted(text: str) -> str:
    """``text`` in “ ”, its own quotation marks turned to ‘ ’ (a title quoted in a sentence:
    指标9“完善‘前台综合受理、后台分类办理…’”, not “完善“…””)."""
    return "“" + text.replace("“", "‘").replace("”", "’") + "”"


def short_title(text: str, limit: int = 20) -> str:
    """An indicator's short title: its first clause that says what is to be done (a leading
    "按照…" / "对标…" / "在…基础上" / "以…方式" is skipped, and so is an aside in brackets), cut
    at a phrase boundary within ``limit`` characters (``_cut``), every quotation and bracket closed."""
    clauses = _clauses(text)
    if not clauses:
        return ""
    first = clauses[0]
    if first.startswith(PREAMBLES):
        starts = [first.find(verb, 4) for verb in _ACTIONS]  # "依托…系统开展“双随机、一公开”监管": the action
        start = min((s for s in starts if s > 0 and len(first) - s >= 4), default=0)
        if start:
            first = first[start:]
        elif len(clauses) > 1 and len(clauses[1]) >= 4:
            first = clauses[1]
    first = _balanced(first)
    return first if len(first) <= limit else _cut(first, limit)
