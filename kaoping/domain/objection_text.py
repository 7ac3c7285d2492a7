"""Reading an objection out of a unit's reply (异议), leniently: a clerk writes in her own way.

What is looked for: the indicator numbers (指标序号：19、20 / 指标19 / 第19项 / indicator 19), what is
disputed (异议内容：…) and the evidence (依据：…). A reply may object to several items, each in a
paragraph of its own starting with its 指标序号. Quoted history (lines starting with ``>``, or
everything after “-----原始邮件-----” / “在 … 写道：” / “On … wrote:”) is left out. When no
indicator can be found, the whole text is kept as one objection for the team to classify:
nothing anyone sends is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_QUOTE_STARTS = re.compile(
    r"^(-{2,}\s*(原始邮件|原邮件|Original Message|Forwarded message)\s*-{2,}|"
    r"在\s*.{0,80}写道\s*[:：]\s*$|On .{0,120}wrote:\s*$|发件人\s*[:：]|From:\s)", re.IGNORECASE)
# A letter's closing (此致 / 敬礼 …) ends what it says: the closing, the signature and the date after it are not
# part of the objection (nor of its 依据).
_CLOSING = re.compile(r"^(此致|敬礼|此致\s*敬礼|顺颂(?:商祺|时祺|时绥)|特此(?:函告|说明)?|以上[，,]?\s*请.{0,6}[。！!]?|谢谢[！!。]?)"
                      r"[\s!！,，。]*$")
_TRAILING_CLOSING = re.compile(r"[\s，,。]*(此致\s*敬礼|此致|敬礼)[\s!！。]*$")
_NUMBER_LIST = r"(\d{1,4}(?:\s*(?:[、,，/;；]|和|及|与|and)\s*\d{1,4})*)"
_LABELLED = re.compile(r"(?:指标序号|指标编号|指标号|序号|indicator\s*(?:no\.?|number|#)?)\s*[:：]?\s*" + _NUMBER_LIST,
                       re.IGNORECASE)
_INLINE = re.compile(r"(?:第\s*(\d{1,4})\s*(?:项|号|条)\s*指标|指标\s*(?:第\s*)?(\d{1,4})\s*(?:号|项)?)")
_DISPUTED = re.compile(r"(?:异议内容|异议事项|异议|disputed|objection)\s*[:：]", re.IGNORECASE)
_EVIDENCE = re.compile(r"(?:依据|理由|事实和理由|evidence|grounds)\s*[:：]", re.IGNORECASE)


_FOLD = {0xFF10 + i: ord("0") + i for i in range(10)} | {0x3000: ord(" "), 0xFF03: ord("#")}


@dataclass(frozen=True)
class ObjectionText:
    numbers: tuple[int, ...]  # empty: no indicator found (to be classified by the team)
    disputed: str
    evidence: str


def own_text(text: str) -> str:
    """The reply without the quoted history, full-width digits folded (the rest as written)."""
    lines = []
    for line in (text or "").translate(_FOLD).replace("\r\n", "\n").split("\n"):
        if _QUOTE_STARTS.match(line.strip()) or _CLOSING.match(line.strip()):
            break
        line = _TRAILING_CLOSING.sub(lambda m: "。" if m.group(0).lstrip().startswith("。") else "", line)
        if line.lstrip().startswith(">"):
            continue
        lines.append(line.rstrip())
    return "\n".join(lines).strip()


def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d{1,4}", text)]


def _split_labelled(block: str) -> tuple[str, str]:
    """(disputed, evidence) of one block; without labels the block is what is disputed."""
    evidence_at = _EVIDENCE.search(block)
    disputed_at = _DISPUTED.search(block)
    evidence = block[evidence_at.end():].strip() if evidence_at else ""
    head = block[:evidence_at.start()] if evidence_at else block
    if disputed_at and (not evidence_at or disputed_at.start() < evidence_at.start()):
        disputed = head[disputed_at.end():].strip()
    else:
        disputed = _LABELLED.sub("", head).strip(" \n:：;；,，。")
    return disputed.strip(), evidence.strip()


def parse_objections(text: str) -> list[ObjectionText]:
    """One entry per paragraph naming its indicators (a paragraph naming two is one entry with
    two numbers); a reply without any indicator is one entry without numbers."""
    own = own_text(text)
    if not own:
        return []
    starts = [m for m in _LABELLED.finditer(own)]
    if not starts:
        inline = [int(a or b) for a, b in _INLINE.findall(own)]
        disputed, evidence = _split_labelled(own)
        return [ObjectionText(tuple(dict.fromkeys(inline)), disputed or own, evidence)]
    out = []
    preface = own[:starts[0].start()].strip()
    for i, match in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(own)
        block = own[match.start():end]
        disputed, evidence = _split_labelled(block)
        if not disputed and not evidence and preface:
            disputed = preface
        out.append(ObjectionText(tuple(dict.fromkeys(_numbers(match.group(1)))), disputed or block.strip(), evidence))
    return out


# --------------------------------------------------------------------------- the lead assessor's opinion

_CORRECT = re.compile(r"(?<!不)同意(?:更正|调整|修改|采纳|改正)|(?:更正|调整|改)为\s*\d|予以(?:更正|采纳)|应得\s*\d")
_MAINTAIN = re.compile(r"维持|不同意|不予(?:更正|调整|采纳)|不应(?:更正|调整)|评分无误|原分无误")
_SCORE = re.compile(r"(?:更正|调整|修改|改|应得|应为)(?:为|成|到)?\s*(\d{1,3}(?:\.\d{1,4})?)\s*分?")


@dataclass(frozen=True)
class OpinionText:
    stance: str  # "maintain" (维持原分), "correct" (同意更正), "unclear" (neither, or both)
    score: Decimal | None  # the score it should be, when the lead assessor names one
    text: str  # the lead assessor's own words


def read_opinion(text: str) -> OpinionText:
    """A lead assessor's reply to an objection routed to it: “维持原分” (or 不同意…) or “同意更正为 4 分”,
    then the reason, in plain words; the quoted history left out, full-width digits folded."""
    own = own_text(text)
    first = next((line for line in own.split("\n") if line.strip()), "")
    stance = "unclear"
    for where in (first, own):  # the first line decides; else the whole own text, when it says one thing only
        correct, maintain = bool(_CORRECT.search(where)), bool(_MAINTAIN.search(where))
        if correct != maintain:
            stance = "correct" if correct else "maintain"
            break
    score = None
    if stance == "correct":
        found = _SCORE.search(own)
        score = Decimal(found.group(1)) if found else None
    return OpinionText(stance, score, own)
