"""Reading a plain email reply: what the person wrote themselves, apart from the quoted history.

Mail clients quote the message they answer in their own ways. What counts as the person's own
text is everything before the first of these, minus lines quoted with ">":

- a separator line: "-----原始邮件-----", "------------------ Original ------------------",
  "-----Original Message-----", "----- 转发的邮件 -----", a line of underscores (Outlook);
- a "wrote" line: "在 2022年7月9日 10:00，专班 <…> 写道：", "On Sat, Jul 9, 2022 … wrote:" (also when
  the client breaks it over two lines);
- a header block: "发件人：" / "From:" followed within a few lines by "发送时间/日期/收件人/主题" or
  "Sent/Date/To/Subject" (Outlook, Foxmail, QQ and NetEase mail, full-width colons included).

The general-purpose parsers on PyPI were tried first: mail-parser-reply 1.36's Chinese rules
miss the QQ/Foxmail "原始邮件" block, full-width colons and NetEase's "在 2022-07-09 …写道：",
and email-reply-parser knows English only; so the separators are listed here, each one tested.

Then a sign-off reply is read (``read_signoff_reply``): the decision from the first own lines
that carry one — "同意" approves; "退回修改：意见……" (or 退回 / 不同意 with comments) sends back —
and the 6-digit code (full-width digits folded).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SEPARATOR = re.compile(
    r"^\s*(?:[-—_=＿]{2,}\s*(?:原始邮件|原邮件|Original(?:\s+Message)?|转发的邮件|Forwarded message)\s*[-—_=＿]{2,}"
    r"|_{8,}|—{4,})\s*$", re.IGNORECASE)
_WROTE = re.compile(r"^\s*(?:在\s*.{0,120}写道\s*[:：]?|On\s.{0,200}\bwrote\s*:)\s*$", re.IGNORECASE)
_WROTE_START = re.compile(r"^\s*(?:在\s*\d{4}|On\s.*\d)", re.IGNORECASE)  # "On Sat, Jul 9, 2022 at 10:00, 专班" ⏎ "<…> wrote:"
_WROTE_END = re.compile(r"(?:写道|wrote)\s*[:：]?\s*$", re.IGNORECASE)
_FROM = re.compile(r"^\s*[*>]*\s*(?:发件人|From)\s*[:：]", re.IGNORECASE)
_HEADER = re.compile(r"^\s*[*>]*\s*(?:发送时间|发送日期|日期|时间|收件人|抄送|主题|Sent|Date|To|Cc|Subject)\s*[:：]",
                     re.IGNORECASE)
_QUOTED = re.compile(r"^\s*[>＞]")


@dataclass(frozen=True)
class ReplyText:
    own: str  # what the person wrote themselves
    quoted: str  # the quoted history (everything after the separator, and ">" lines)


def split_reply(text: str) -> ReplyText:
    """The person's own text and the quoted history of a plain-text reply."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line) or _WROTE.match(line):
            cut = i
            break
        if _WROTE_START.match(line) and i + 1 < len(lines) and _WROTE_END.search(lines[i + 1]) and len(line) < 200:
            cut = i
            break
        if _FROM.match(line) and any(_HEADER.match(following) for following in lines[i + 1:i + 5]):
            cut = i
            break
    own = [line for line in lines[:cut] if not _QUOTED.match(line)]
    quoted = [line for line in lines[:cut] if _QUOTED.match(line)] + lines[cut:]
    return ReplyText("\n".join(own).strip(), "\n".join(quoted).strip())


# --------------------------------------------------------------------------- a sign-off by reply

_REJECT = re.compile(r"退回修改|退回|不同意|不予同意")
_APPROVE = re.compile(r"同意")
_CODE = re.compile(r"(?<![0-9])([0-9]{3})[ \-]?([0-9]{3})(?![0-9])")
_LABELLED_CODE = re.compile(r"验证码\s*[:：]?\s*([0-9]{3})[ \-]?([0-9]{3})(?![0-9])")
_PHONE_SIGNATURE = re.compile(r"^\s*(?:发自我的|来自|Sent from|Get Outlook|从我的).{0,40}$", re.IGNORECASE)
_LEAD = " \t:：,，.。;；、!！-—"


@dataclass(frozen=True)
class SignoffReplyText:
    decision: str  # "approve", "reject", "" (none found) or "ambiguous" (both 同意 and 退回)
    comments: str  # what follows 退回修改 (the code and the label 验证码 taken out)
    code: str  # the 6-digit code in the own text, "" if none; "many" if several different ones
    quoted_code: str  # the code shown in the quoted email ("验证码：123456"), "" if none
    own: str


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _codes(text: str, *, labelled_only: bool = False) -> list[str]:
    found = [a + b for a, b in _LABELLED_CODE.findall(text)]
    if not labelled_only:
        found += [a + b for a, b in _CODE.findall(text)]
    return list(dict.fromkeys(found))


def _without_code(text: str, code: str) -> str:
    if code and code != "many":
        text = re.sub(r"(?:一次性)?验证码\s*[:：]?\s*" + code[:3] + r"[ \-]?" + code[3:], "", text)
        text = re.sub(r"(?<![0-9])" + code[:3] + r"[ \-]?" + code[3:] + r"(?![0-9])", "", text)
    return text


def read_signoff_reply(text: str) -> SignoffReplyText:
    """The decision and code of a reply to a sign-off email (see the module's docstring)."""
    parts = split_reply(text)
    own = parts.own.translate(_DIGITS)  # comments keep the signer's own punctuation; digits are folded
    codes = _codes(_fold(own))
    code = codes[0] if len(codes) == 1 else ("many" if codes else "")
    if code == "many":  # "验证码：123456" wins over other 6-digit numbers (a date, a unit code)
        labelled = _codes(_fold(own), labelled_only=True)
        code = labelled[0] if len(labelled) == 1 else code
    quoted = _codes(_fold(parts.quoted), labelled_only=True)
    lines = [line for line in own.split("\n") if line.strip() and not _PHONE_SIGNATURE.match(line)]
    decision, comments = "", ""
    for i, line in enumerate(lines):
        rejects, approves = _REJECT.search(line), _APPROVE.search(_REJECT.sub("", line))
        if not rejects and not approves:
            continue
        if rejects and approves:
            decision = "ambiguous"
        elif rejects:
            decision = "reject"
            rest = [line[rejects.end():].lstrip(_LEAD)] + lines[i + 1:]  # 退回修改：意见……
            rest = [_without_code(r, code).strip() for r in rest]
            comments = "\n".join(r for r in rest if r.strip(_LEAD)).strip()
            comments = re.sub(r"^(?:意见|修改意见|理由)\s*[:：]?\s*", "", comments).strip()
        else:
            later = "\n".join(lines[i + 1:])
            decision = "ambiguous" if _REJECT.search(later) else "approve"
        break
    return SignoffReplyText(decision, comments, code, quoted[0] if quoted else "", own)
