"""Reading a plain email reply: what the person wrote themselves, apart from the quoted history.

Mail clients quote the message they answer in their own ways. The quoted history starts at the
first of these, and ">" (or "＞") lines are quoted wherever they are:

- a separator line: "-----原始邮件-----", "------------------ Original ------------------",
  "-----Original Message-----", "----- 转发的邮件 -----", a line of underscores (Outlook);
- an attribution ("wrote") line: "在 2022年7月9日 10:00，专班 <…> 写道：", "On Sat, Jul 9, 2022 … wrote:"
  (also when the client breaks it over two lines), and s-nail's / mailx's "专班 <kaoping@…> wrote:"
  without "On" — whose quoted lines are indented with a TAB, not ">";
- a header block: "发件人：" / "From:" followed within a few lines by "发送时间/日期/收件人/主题" or
  "Sent/Date/To/Subject" (Outlook, Foxmail, QQ, Coremail and NetEase mail, full-width colons included);
- a line of the email being answered, recognised by its own text (``known``: what kaoping sent —
  the caller passes the bodies), for the client that pastes the original without any marker.

Text written *below* a quote that is marked line by line (">" or TAB: mutt, s-nail, Thunderbird set to
answer below) is the person's own too; below a separator or a header block everything is quoted.

The general-purpose parsers on PyPI were tried first: mail-parser-reply 1.36's Chinese rules
miss the QQ/Foxmail "原始邮件" block, full-width colons and NetEase's "在 2022-07-09 …写道：",
and email-reply-parser knows English only; so the separators are listed here, each one tested.

A sign-off reply is then read strictly (``read_signoff_reply``): it decides only when the first
line of the person's own text (after a salutation such as "专班：" or "您好！", and lines holding
only the code) is "同意" — or "同意，并确认自评项" — with nothing but closing punctuation and the
code, and no later line of their own negates, hedges or asks; or when that line starts with
"退回修改" followed by the 意见. Every other wording is ``ambiguous``: "不能同意，数据有误",
"我不太同意这个排名", "同意？这些自评分不对吧", "先别同意" must never be read as a signature.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_SEPARATOR = re.compile(
    r"^\s*(?:[-—_=＿]{2,}\s*(?:原始邮件|原邮件|Original(?:\s+Message)?|转发的邮件|Forwarded message)\s*[-—_=＿]{2,}"
    r"|_{8,}|—{4,})\s*$", re.IGNORECASE)
_WROTE = re.compile(r"^\s*(?:在\s*.{0,120}写道\s*[:：]?|On\s.{0,200}\bwrote\s*:)\s*$", re.IGNORECASE)
# s-nail, mailx, Alpine: "专班 <kaoping@baotou.example> wrote:" — an address or a date, then "wrote:".
_WROTE_BARE = re.compile(r"^\s*\S.{0,200}(?:@|\d{1,2}:\d{2}|\d{4}).{0,200}\b(?:wrote|writes)\s*:\s*$", re.IGNORECASE)
_WROTE_START = re.compile(r"^\s*(?:在\s*\d{4}|On\s.*\d)", re.IGNORECASE)  # "On Sat, Jul 9, 2022 at 10:00, 专班" ⏎ "<…> wrote:"
_WROTE_END = re.compile(r"(?:写道|wrote)\s*[:：]?\s*$", re.IGNORECASE)
_FROM = re.compile(r"^\s*[*>]*\s*(?:发件人|From)\s*[:：]", re.IGNORECASE)
_HEADER = re.compile(r"^\s*[*>]*\s*(?:发送时间|发送日期|日期|时间|收件人|抄送|主题|Sent|Date|To|Cc|Subject)\s*[:：]",
                     re.IGNORECASE)
_MARKED = re.compile(r"^(?:\s*[>＞]|\t)")  # a line quoted line by line: ">" (any client) or a TAB (s-nail, mailx)
_ANGLE = re.compile(r"^\s*[>＞]")
#: A line of the answered email is recognised by its text when it is at least this long (normalized):
#: short lines ("同意", "专班负责人：") could be the person's own.
KNOWN_MIN = 8


@dataclass(frozen=True)
class ReplyText:
    own: str  # what the person wrote themselves (above the quote, and below a line-by-line quote)
    quoted: str  # the quoted history
    below: bool = False  # some of the own text was written below the quote (bottom-posted)
    marker: str = ""  # how the quote began: "separator", "wrote", "header", "known", "marked" or "" (no quote)


def _normalized(line: str) -> str:
    """A line as compared with what kaoping sent: folded, without quote markers, spaces or codes."""
    text = unicodedata.normalize("NFKC", line)
    text = re.sub(r"^[\s>＞]+", "", text)
    text = re.sub(r"[0-9]{3}[ \-]?[0-9]{3}|●{6}", "#", text)
    return re.sub(r"\s+", "", text)


def _known_lines(known: Iterable[str]) -> set[str]:
    lines = set()
    for body in known:
        for line in (body or "").splitlines():
            normalized = _normalized(line)
            if normalized:
                lines.add(normalized)
    return lines


def _is_attribution(lines: list[str], i: int) -> str:
    """How the quote begins at line ``i`` ("" if it does not)."""
    line = lines[i]
    if _SEPARATOR.match(line):
        return "separator"
    if _WROTE.match(line) or (_WROTE_BARE.match(line) and len(line) < 300):
        return "wrote"
    if _WROTE_START.match(line) and i + 1 < len(lines) and _WROTE_END.search(lines[i + 1]) and len(line) < 200:
        return "wrote"
    if _FROM.match(line) and any(_HEADER.match(following) for following in lines[i + 1:i + 5]):
        return "header"
    return ""


def split_reply(text: str, known: Iterable[str] = ()) -> ReplyText:
    """The person's own text and the quoted history of a plain-text reply; ``known``: the bodies of
    the emails it may answer, whose lines are quoted wherever they appear (see the module's docstring)."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    known_lines = _known_lines(known)
    cut, marker = len(lines), ""
    for i, line in enumerate(lines):
        marker = _is_attribution(lines, i)
        if not marker and known_lines:
            normalized = _normalized(line)
            if len(normalized) >= KNOWN_MIN and normalized in known_lines:
                marker = "known"
                while i > 0 and (not lines[i - 1].strip() or _normalized(lines[i - 1]) in known_lines):
                    i -= 1  # the greeting and blank lines just above the first line recognised are quoted too
        if marker:
            cut = i
            break
    above = [line for line in lines[:cut] if not _ANGLE.match(line)]
    quoted = [line for line in lines[:cut] if _ANGLE.match(line)]
    below: list[str] = []
    rest = lines[cut:]
    if marker == "wrote":
        # A quote marked line by line (">" or a TAB) after the attribution: what follows it unmarked
        # is the person's own (written below the quote).
        start = 2 if len(rest) > 1 and not _WROTE_END.search(rest[0]) else 1  # the attribution over two lines
        body = rest[start:]
        if any(_MARKED.match(line) for line in body):
            quoted += rest[:start]
            for line in body:
                recognised = known_lines and len(_normalized(line)) >= KNOWN_MIN and _normalized(line) in known_lines
                (quoted if _MARKED.match(line) or recognised else below).append(line)
            rest = []
    elif not marker and quoted:
        marker = "marked"
        first_quoted = next(i for i, line in enumerate(lines) if _ANGLE.match(line))
        below = [line for line in lines[first_quoted:] if not _ANGLE.match(line)]
        above = [line for line in lines[:first_quoted]]
    quoted += rest
    own = "\n".join(above + below).strip()
    return ReplyText(own, "\n".join(quoted).strip(), below=bool("\n".join(below).strip()), marker=marker)


# --------------------------------------------------------------------------- a sign-off by reply

_CODE = re.compile(r"(?<![0-9])([0-9]{3})[ \-]?([0-9]{3})(?![0-9])")
_LABELLED_CODE = re.compile(r"验证码\s*[:：]?\s*([0-9]{3})[ \-]?([0-9]{3})(?![0-9])")
_CODE_WORDS = re.compile(r"(?:一次性)?验证码(?:是|为)?\s*[:：]?")
_PHONE_SIGNATURE = re.compile(r"^\s*(?:发自我的|来自|Sent from|Get Outlook|从我的).{0,40}$", re.IGNORECASE)
_SALUTATION = re.compile(r"^(?:[\w·]{1,12}[：:]|(?:[\w·]{1,12}[，,])?(?:您好|你好)[!！。.,，~～]*)$")
_CONFIRM = r"(?:并且|并|同时)?(?:同时)?确认(?:牵头考核单位)?(?:的)?(?:[\w·、，,]{0,200}?)(?:的)?(?:自评项|自评分|自评)"
#: The lead assessors named in a confirmation ("并确认市工信局、市审批服务局自评项"); none named: every listed group.
_CONFIRM_NAMES = re.compile(r"确认(?:牵头考核单位)?(?:的)?([\w·、，,]*?)(?:的)?(?:自评项|自评分|自评)")
_ALL_GROUPS = {"", "各牵头考核单位", "全部", "所有", "各单位", "全部牵头考核单位", "所有牵头考核单位"}
_APPROVE = re.compile(r"^同意(?:[，,、；;]?" + _CONFIRM + r")?[，,、；;。.!！~～]*$")
_CONFIRM_LINE = re.compile(r"^" + _CONFIRM + r"[，,、；;。.!！~～]*$")
_REJECT_START = re.compile(r"^\s*退回修改")
#: What may not follow an approval in the person's own text: a negation, a hedge, a condition, a question.
_HEDGE = re.compile(r"不|无法|没|别|暂|先|再|待|等|但|却|可是|除|保留|商榷|意见|问题|有误|错|[？?]|吗|吧|呢|么|是否|能否|可否|"
                    r"如何|为何|怎|请问|退回|修改")
_LEAD = " \t:：,，.。;；、!！-—"
_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

APPROVE, REJECT, AMBIGUOUS = "approve", "reject", "ambiguous"


@dataclass(frozen=True)
class SignoffReplyText:
    decision: str  # "approve", "reject", "" (no decision found) or "ambiguous" (not exactly one of the two)
    comments: str  # what follows 退回修改 (the code and the label 验证码 taken out)
    code: str  # the 6-digit code in the own text, "" if none; "many" if several different ones
    quoted_code: str  # the code shown in the quoted email ("验证码：123456"), "" if none
    own: str
    read: str = ""  # the line the decision was read from, as written (what the refusal quotes back)
    problem: str = ""  # why a reply is ambiguous, in the signer's words
    confirm_self_scored: bool = False  # "同意，并确认自评项"
    confirm_groups: tuple[str, ...] = ()  # "同意，并确认市工信局、市审批服务局自评项": only these groups
    below: bool = False  # written below the quoted email
    quote: str = ""  # how the quoted email was recognised ("" when nothing was quoted)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def codes_in(text: str, *, labelled_only: bool = False) -> list[str]:
    """The 6-digit codes in ``text`` (full-width digits folded): "验证码：123 456" first."""
    text = _fold(text or "").translate(_DIGITS)
    found = [a + b for a, b in _LABELLED_CODE.findall(text)]
    if not labelled_only:
        found += [a + b for a, b in _CODE.findall(text)]
    return list(dict.fromkeys(found))


def _without_codes(text: str, *, fold: bool = True) -> str:
    """``text`` without any 6-digit code and its label (验证码：), nor the brackets left empty; folded
    (NFKC) to be read, or as written (``fold=False``: the 意见 keep the signer's punctuation)."""
    text = _CODE.sub("", (_fold(text) if fold else text).translate(_DIGITS))
    text = _CODE_WORDS.sub("", text)
    return re.sub(r"[(（【\[]\s*[)）】\]]", "", text)


def _bare(line: str) -> str:
    """A line as the grammar reads it: no code, no spaces."""
    return re.sub(r"\s+", "", _without_codes(line))


def _problem(first: str, rest: list[str]) -> str:
    """Why ``first`` (and the lines after it) is not exactly 同意 or 退回修改, in the signer's words."""
    bare = _bare(first)
    before = bare.split("同意")[0] if "同意" in bare else ""
    if "同意" in bare and ("退回" in bare or any("退回" in line for line in rest)):
        return "回复中同时有“同意”和“退回”"
    if re.search(r"不|无法|没|别|未|非|难", before):
        return f"“同意”前面有“{before[-6:]}”，是否定或保留的意思"
    if re.search(r"[？?]|吗|吧|呢|是否|能否|可否|请问|怎么", bare):
        return "回复是一个问句"
    if re.search(r"暂|先|再|待|等", bare):
        return "回复中有“暂、先、再、等”之类的词，意见尚未确定"
    if before:
        return "第一行不是以“同意”开头"
    if bare.startswith("同意"):
        return "“同意”后面还有别的内容"
    return "退回须写成“退回修改：意见……”"


def read_signoff_reply(text: str, known: Iterable[str] = ()) -> SignoffReplyText:
    """The decision and code of a reply to a sign-off email (see the module's docstring).
    ``known``: the bodies of the emails it may answer (the sign-off email, its reminders), whose
    lines are recognised as quoted even without a quote marker."""
    parts = split_reply(text, known)
    own = parts.own.translate(_DIGITS)  # comments keep the signer's own punctuation; digits are folded
    codes = codes_in(own)
    code = codes[0] if len(codes) == 1 else ("many" if codes else "")
    if code == "many":  # "验证码：123456" wins over other 6-digit numbers (a date, a unit code)
        labelled = codes_in(own, labelled_only=True)
        code = labelled[0] if len(labelled) == 1 else code
    quoted = codes_in(parts.quoted, labelled_only=True)
    base = dict(code=code, quoted_code=quoted[0] if quoted else "", own=parts.own, below=parts.below, quote=parts.marker)
    lines = [line.strip() for line in own.split("\n") if line.strip() and not _PHONE_SIGNATURE.match(line)]
    lines = [line for line in lines if _bare(line).strip(_LEAD)]  # a line holding only the code says nothing
    while lines and _SALUTATION.match(_bare(lines[0])) and not re.search(r"同意|退回|确认", lines[0]):
        lines = lines[1:]
    if not lines:
        return SignoffReplyText("", "", **base)
    first, rest = lines[0], lines[1:]
    if _REJECT_START.match(_fold(first)):
        after = first.lstrip()[len("退回修改"):]
        body = [after.lstrip(_LEAD)] + rest
        body = [_without_codes(line, fold=False).strip() for line in body]
        comments = "\n".join(line for line in body if line.strip(_LEAD)).strip()
        comments = re.sub(r"^(?:意见如下|修改意见|意见|理由)\s*[:：]?\s*", "", comments).strip()
        return SignoffReplyText(REJECT, comments, read=first, **base)
    bare = _bare(first)
    if _APPROVE.fullmatch(bare):
        confirms = [line for line in rest if _CONFIRM_LINE.fullmatch(_bare(line))]  # "同意" ⏎ "并确认自评项"
        doubt = next((line for line in rest if line not in confirms and _HEDGE.search(_bare(line))), None)
        named = [m for line in [bare, *map(_bare, confirms)] for m in _CONFIRM_NAMES.findall(line)]
        if doubt is None and any(_HEDGE.search(n) for n in named):
            doubt = next(n for n in named if _HEDGE.search(n))
        if doubt is None:
            groups = tuple(dict.fromkeys(g for n in named if n.strip("、，,") not in _ALL_GROUPS
                                         for g in re.split(r"[、，,]", n) if g))
            return SignoffReplyText(APPROVE, "", read=first, confirm_self_scored=bool(named) and not groups,
                                    confirm_groups=groups, **base)
        return SignoffReplyText(AMBIGUOUS, "", read=f"{first}\n{doubt}",
                                problem=f"“同意”之后又写了“{doubt[:40]}”，意见不明确", **base)
    if "同意" in bare or "退回" in bare:
        return SignoffReplyText(AMBIGUOUS, "", read=first, problem=_problem(first, rest) or "写法不明确", **base)
    return SignoffReplyText("", "", read=first, **base)
