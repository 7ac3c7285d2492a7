"""Columns recognised by what their headers mean, for the exports of survey platforms.

问卷星 (wjx.cn), 腾讯问卷 and the like export one row per respondent with their own
headers: a question number, the question as it was asked and a trailing "？" or "（单选）"
("1、您评价的单位是？", "Q2. 总体满意度（1-5分）"), among platform columns nobody asked
for (序号, 提交答卷时间, 来源, 来自IP …). A header is read for its meaning: the keyword it
ends on decides (Chinese puts the head noun last: "您评价的单位是" is the unit question,
"您对该单位的总体满意度" the rating). When the guess is not certain (two candidate unit
columns, or none), the refusal shows the whole mapping found and how to name the columns
(``unit=G,rating=H``: a header's text, its column letter or its number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl.utils import column_index_from_string, get_column_letter

from kaoping.adapters.spreadsheets import Row, read_matrix
from kaoping.adapters.uploads import Upload
from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import fold

# What each role is called in the mapping shown to people: (name, what kind of table).
ROLE_LABELS = {
    "unit": ("单位", ""),
    "rating": ("满意度评分", "逐条答卷"),
    "score": ("得分", "0–100，汇总表"),
    "satisfied": ("满意率", "汇总表"),
    "respondents": ("样本数", "汇总表"),
}
# The names accepted on the left of ``--columns unit=…,rating=…``.
ROLE_NAMES = {
    "unit": "unit", "单位": "unit",
    "rating": "rating", "评分": "rating", "满意度": "rating", "满意程度": "rating",
    "score": "score", "得分": "score",
    "satisfied": "satisfied", "满意率": "satisfied",
    "respondents": "respondents", "样本数": "respondents",
}

# Headers that name a column exactly (kaoping's own results sheets, the spreadsheets offices
# make by hand): these win over any reading for meaning.
EXACT: dict[str, str] = {
    **{w: "unit" for w in ("unit", "单位", "单位名称", "考评对象", "被考评单位")},
    **{w: "score" for w in ("score", "得分", "分数", "评分", "得分(0-100)")},
    **{w: "note" for w in ("note", "说明", "扣分说明", "备注", "评分说明")},
    **{w: "respondents" for w in ("respondents", "样本数", "有效样本", "受访人数", "参与人数")},
    **{w: "satisfied" for w in ("satisfied", "满意率", "满意度", "满意比例")},
    **{w: "rating" for w in ("rating", "评分等级", "满意程度", "满意度评价")},
    # columns of other imports (monitoring scores), not of results from outside
    **{w: "unused" for w in ("lead", "牵头考核单位", "牵头单位", "考核单位", "indicator", "指标", "指标编号", "指标序号")},
}

# Columns survey platforms add to every export (问卷星, 腾讯问卷, 金数据, 问卷网 …), compared
# after folding, without spaces, in lower case.
PLATFORM_NOISE = frozenset({
    "序号", "编号", "答卷编号", "答卷序号", "id", "总分", "用户id", "外部用户id", "用户名", "昵称", "微信昵称", "openid",
    "unionid", "提交答卷时间", "提交时间", "答题时间", "所用时间", "答题时长", "填写时长", "用时", "开始时间", "结束时间",
    "开始答题时间", "结束答题时间", "填写时间", "来源", "来源详情", "来源渠道", "渠道", "答题渠道", "来自ip", "ip", "ip地址",
    "ip属地", "地理位置", "位置", "省份", "城市", "设备", "浏览器", "操作系统", "状态", "答卷状态", "审核状态", "标签",
})

# Keywords by meaning, longest first so that 满意率 is not read as 满意.
_KEYWORDS: list[tuple[str, str]] = sorted([
    ("满意率", "satisfied"), ("满意比例", "satisfied"), ("满意占比", "satisfied"),
    ("满意度", "rating"), ("满意程度", "rating"), ("满意", "rating"), ("评价", "rating"), ("打分", "rating"),
    ("评分", "rating"), ("评星", "rating"), ("星级", "rating"),
    ("得分", "score"),
    ("旗县区", "unit"), ("考评对象", "unit"), ("对象", "unit"), ("单位", "unit"), ("部门", "unit"), ("地区", "unit"),
    ("样本", "respondents"), ("人数", "respondents"), ("份数", "respondents"), ("答卷数", "respondents"),
    ("意见", "note"), ("建议", "note"), ("说明", "note"), ("备注", "note"), ("原因", "note"), ("理由", "note"),
], key=lambda kv: -len(kv[0]))
_KEYWORD_RE = re.compile("|".join(re.escape(word) for word, _ in _KEYWORDS))
_ROLE_OF = dict(_KEYWORDS)

# "1、" "1." "Q1." "Q1 " "第1题：" before the question.
_QUESTION_NUMBER = re.compile(r"^(?:第\s*\d+\s*题|[Qq]\s*\d+|\d+)\s*(?:[、.:)\]]\s*|\s+)")
# "（单选）" "[必答]" "*" "？" ":" after the question.
_TRAILER = re.compile(r"(?:\s*[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]|\s*[?？:：*])+\s*$")
# A scale the rating header states: "（1-5分）", "(0~10)", "1至10分", "百分制".
_SCALE = re.compile(r"(\d+)\s*分?\s*[-~–—至到]\s*(\d+)\s*分|[(\[]\s*(\d+)\s*[-~–—至到]\s*(\d+)\s*[)\]]")

MAX_HEADER_ROW = 10


def header_key(header: str) -> str:
    """A header as compared: folded, without the question number, trailer and spaces, lower case."""
    text = fold(header or "")
    text = _QUESTION_NUMBER.sub("", text)
    text = _TRAILER.sub("", text)
    return re.sub(r"\s+", "", text).lower()


def guess_role(header: str) -> tuple[str | None, str]:
    """(role, why) for one header: a role of ROLE_LABELS, "note", "noise" or None (not recognised)."""
    key = header_key(header)
    exact = re.sub(r"\s+", "", fold(header or "")).lower()
    if not key:
        return None, "表头为空"
    if exact in EXACT or key in EXACT:
        role = EXACT.get(exact) or EXACT[key]
        return role, "表头"
    if key in PLATFORM_NOISE or key.startswith("ip") or (key.endswith(("时间", "时长")) and not _KEYWORD_RE.search(key)):
        return "noise", "平台字段"
    found = list(_KEYWORD_RE.finditer(key))
    if not found:
        return None, "未识别"
    word = found[-1].group(0)  # the head noun comes last
    return _ROLE_OF[word], f"含“{word}”"


def stated_scale(header: str) -> tuple[Decimal, Decimal] | None:
    """The rating scale a header states, e.g. "总体满意度（1-5分）" → (1, 5); "百分制" → (0, 100)."""
    text = fold(header or "")
    if "百分制" in text:
        return Decimal(0), Decimal(100)
    match = _SCALE.search(text)
    if not match:
        return None
    low, high = (g for g in match.groups() if g is not None)
    low, high = Decimal(low), Decimal(high)
    return (low, high) if high > low else None


@dataclass
class Column:
    index: int  # 0-based
    header: str
    role: str | None  # unit, rating, score, satisfied, respondents when used; None when ignored
    why: str = ""
    named: bool = False
    doubt: str = ""  # why this column cannot be told apart from another of the same role

    @property
    def letter(self) -> str:
        return get_column_letter(self.index + 1)

    def describe(self) -> str:
        header = self.header if len(self.header) <= 40 else self.header[:39] + "…"
        if self.role in ROLE_LABELS:
            name, detail = ROLE_LABELS[self.role]
            how = "按 --columns 指定" if self.named else f"按表头{self.why}识别" if self.why.startswith("含") else "按表头识别"
            if self.doubt:
                return f"{self.letter} 列“{header}” → {name}？（{self.doubt}）"
            return f"{self.letter} 列“{header}” → {name}（{self.role}{'，' + detail if detail else ''}；{how}）"
        return f"{self.letter} 列“{header}” → 忽略（{self.why}）"


@dataclass
class SurveyTable:
    """A survey export read by meaning: which column plays which role, and the data rows."""

    source: str
    header_line: int  # as people see it (row 1 is the first)
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    rating_scale: tuple[Decimal, Decimal] | None = None

    @property
    def roles(self) -> dict[str, Column]:
        return {c.role: c for c in self.columns if c.role in ROLE_LABELS}

    def header_of(self, role: str) -> str:
        column = self.roles.get(role)
        return column.header if column else ROLE_LABELS[role][0]

    def preview(self) -> list[str]:
        return [f"表头在第 {self.header_line} 行，各列识别如下："] + [f"    {c.describe()}" for c in self.columns if c.header]

    def summary(self) -> str:
        """One line for the operator: which header became which role."""
        used = "；".join(f"{ROLE_LABELS[r][0]} ← {c.letter} 列“{c.header}”" for r, c in self.roles.items())
        ignored = [c for c in self.columns if c.header and c.role not in ROLE_LABELS]
        return f"识别的列：{used}" + (f"；忽略 {len(ignored)} 列（{'、'.join(c.header for c in ignored[:8])}"
                                    f"{' 等' if len(ignored) > 8 else ''}）" if ignored else "")

    def how_to_name(self) -> str:
        """How to name the columns, with this file's own letters in the example."""
        def letter(*roles: str, default: str) -> str:
            found = [c.letter for role in roles for c in self.columns if c.role == role]
            return found[0] if found else default
        value = "rating" if any(c.role == "rating" for c in self.columns) or not any(
            c.role in ("score", "satisfied") for c in self.columns) else "score"
        example = f"unit={letter('unit', default='B')},{value}={letter(value, 'satisfied', default='C')}"
        return HOW_TO_NAME.format(example=example)

    def refusal(self, message: str, problems: list[str] | None = None, *, how_to_name: bool = True) -> InvalidInput:
        """A refusal that shows the mapping found (and, for a doubt about the columns, how to name them)."""
        return InvalidInput("\n".join([message, *self.preview(), *([self.how_to_name()] if how_to_name else [])]), problems)


HOW_TO_NAME = (
    "如识别有误，请用 --columns 指明各列，例如 --columns {example}（等号右边写表头文字、列字母或第几列；"
    "逐条答卷用 unit 和 rating，汇总表用 unit 和 score 或 satisfied，可加 respondents）。"
    " / Name the columns with --columns unit=…,rating=… (header text, column letter or number)."
)


def parse_column_names(text: str | None) -> dict[str, str]:
    """``unit=G,rating=2、总体满意度`` → {"unit": "G", "rating": "2、总体满意度"}."""
    if not text or not text.strip():
        return {}
    named: dict[str, str] = {}
    for part in re.split(r"[,，;；](?=\s*[^,，;；=＝]+\s*[=＝])", text):
        key, sep, value = fold(part).partition("=")
        role = ROLE_NAMES.get(key.strip().lower())
        if not sep or role is None or not value.strip():
            raise InvalidInput(
                f"--columns 中的“{part.strip()}”看不懂：应写成 角色=列，角色为 unit（单位）、rating（满意度评分）、"
                "score（得分）、satisfied（满意率）或 respondents（样本数），例如 --columns unit=G,rating=H。"
            )
        if role in named:
            raise InvalidInput(f"--columns 中 {role} 出现了两次：每个角色只能指定一列。")
        named[role] = value.strip()
    return named


def _find_named(written: str, headers: list[str]) -> int | None:
    """The column a ``--columns`` value names: its header text (as written, or without the question
    number and trailer), else its letter or number, else the one header that contains the text."""
    wanted, key = re.sub(r"\s+", "", fold(written)).lower(), header_key(written)
    for i, h in enumerate(headers):
        if h and (re.sub(r"\s+", "", fold(h)).lower() == wanted or header_key(h) == key):
            return i
    if re.fullmatch(r"[A-Za-z]{1,3}", wanted):
        index = column_index_from_string(wanted.upper()) - 1
        return index if index < len(headers) else None
    if re.fullmatch(r"\d{1,4}", wanted):
        index = int(wanted) - 1
        return index if 0 <= index < len(headers) else None
    partial = [i for i, h in enumerate(headers) if h and key and key in header_key(h)]
    return partial[0] if len(partial) == 1 else None


def _header_row(matrix: list[list[str]], named: dict[str, str]) -> int:
    """The row of headers among the first rows: the first with a unit column (guessed or named by
    its text) and another filled cell; else the one with the most recognised headers."""
    best, best_count = 0, -1
    for index, raw in enumerate(matrix[:MAX_HEADER_ROW]):
        cells = [fold(c or "") for c in raw]
        if sum(1 for c in cells if c) < 2:
            continue
        roles = [guess_role(c)[0] for c in cells]
        texts = {i for role, value in named.items() if not re.fullmatch(r"[A-Za-z]{1,3}|\d{1,4}", value)
                 for i in [_find_named(value, cells)] if i is not None}
        if "unit" in roles or texts:
            return index
        count = sum(1 for r in roles if r is not None)
        if count > best_count:
            best, best_count = index, count
    return best


def recognise(matrix: list[list[str]], *, source: str, named: dict[str, str] | None = None) -> SurveyTable:
    """Map the columns of a table to their roles; refuse, showing the mapping, when it is not certain."""
    named = named or {}
    if not any(any(fold(c or "") for c in row) for row in matrix):
        raise InvalidInput(f"文件 {source} 是空的：没有表头，也没有数据。")
    index = _header_row(matrix, named)
    headers = [(c or "").strip() for c in matrix[index]]
    columns = []
    for i, header in enumerate(headers):
        role, why = guess_role(header)
        if role == "noise":
            role = None
        elif role == "note":
            role, why = None, "意见、说明，不计分"
        elif role == "unused":
            role, why = None, "本导入不用"
        elif role is None:
            why = why if header else "表头为空"
        columns.append(Column(i, header, role, why))
    table = SurveyTable(source, index + 1, columns)

    problems = []
    for role, written in named.items():
        at = _find_named(written, headers)
        if at is None:
            problems.append(f"--columns {role}={written}：第 {index + 1} 行的表头中没有这一列。")
            continue
        for column in columns:
            if column.role == role and column.index != at:
                column.role, column.why = None, f"已用 --columns 指定 {role} 为另一列"
        columns[at].role, columns[at].named, columns[at].why = role, True, "--columns"
    if problems:
        raise table.refusal(f"文件 {source}：--columns 指定的列找不到。", problems)

    for role in ROLE_LABELS:
        candidates = [c for c in columns if c.role == role]
        if len(candidates) <= 1:
            continue
        overall = [c for c in candidates if re.search("总体|整体|综合|总的", c.header)]
        if role == "rating" and len(overall) == 1:
            for c in candidates:
                if c is not overall[0]:
                    c.role, c.why = None, "另有“总体”满意度列"
            continue
        listed = "、".join(f"{c.letter} 列“{c.header}”" for c in candidates)
        for c in candidates:
            others = "、".join(f"{o.letter}" for o in candidates if o is not c)
            c.doubt = f"{c.why}，与 {others} 列同为{ROLE_LABELS[role][0]}列的候选"
        raise table.refusal(f"文件 {source} 中有 {len(candidates)} 列都像“{ROLE_LABELS[role][0]}”列：{listed}，无法确定用哪一列。")
    if "unit" not in table.roles:
        raise table.refusal(
            f"文件 {source} 中没有找到“单位”列：前 {MAX_HEADER_ROW} 行中没有表头含“单位”“部门”“地区”“旗县区”或“对象”的列。"
        )

    used = table.roles
    for offset, raw in enumerate(matrix[index + 1:], start=index + 2):
        values = {role: fold(raw[c.index]) if c.index < len(raw) and raw[c.index] is not None else ""
                  for role, c in used.items()}
        if not any(values.values()):
            continue
        if values["unit"] == fold(used["unit"].header):
            continue  # the second row of a two-row (merged) header
        table.rows.append(Row(offset, values))
    if "rating" in used:
        table.rating_scale = stated_scale(used["rating"].header)
    return table


def read_survey(upload: Upload, named: dict[str, str] | None = None) -> SurveyTable:
    """A CSV (UTF-8, UTF-8 with BOM, GB18030/GBK) or XLSX export, its columns recognised by meaning."""
    return recognise(read_matrix(upload), source=upload.name, named=named)
