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


PREAMBLES = ("按照", "根据", "依据", "对标", "对照", "在", "通过", "本着", "围绕", "依托")


def short_title(text: str, limit: int = 20) -> str:
    """An indicator's short title: its first clause that says what is to be done (a leading
    "按照…" / "对标…" / "在…基础上" is skipped), trimmed to ``limit`` characters, never inside quotes."""
    clauses = [c.strip() for c in re.split(r"[，。；：,;:（(\n]", text.strip()) if c.strip()]
    if not clauses:
        return ""
    first = clauses[0]
    if len(clauses) > 1 and first.startswith(PREAMBLES) and len(clauses[1]) >= 4:
        first = clauses[1]
    if len(first) <= limit:
        return first
    cut = first[: limit - 1]
    if cut.count("“") > cut.count("”"):  # close the quotation the cut leaves open
        return first[: limit - 2] + "…”"
    return cut + "…"
