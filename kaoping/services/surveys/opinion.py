"""Public opinion (民意调查) and third-party (第三方评估) results from outside spreadsheets.

Outside firms and survey platforms send their own xlsx/csv, not kaoping's signed forms. The
columns are recognised by what their headers mean (``kaoping.adapters.spreadsheets_columns``:
问卷星's "1、您评价的单位是？", 腾讯问卷's "Q2. 总体满意度（1-5分）", platform columns such as
序号 or 来自IP ignored), or named by the operator (``unit=G,rating=H``); a doubt about them is
refused with the mapping found. Unit names are reconciled through names, short names, aliases
and codes; unknown names are refused, each once with its rows and the closest matches; units
missing from the results are listed.

Opinion exports come in two shapes, told apart by their columns:

* per respondent — one row per answer with the unit and a rating (a number or a word such
  as 满意, from the policy's table): aggregated per unit by the policy's rule (mean rating
  mapped linearly onto 0–100, two decimals; the scale is the policy's unless the rating
  header states one, "（1-10分）", or the operator gives it), units with fewer respondents
  than the policy's minimum flagged; skipped answers ("(跳过)", empty) are not counted;
* aggregate — one row per unit with a 0–100 score, or a satisfied share ("95%", 0.95),
  optionally the number of respondents.

Several sources for one unit are combined by the policy's ``source_weights``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from sqlmodel import Session

from kaoping.adapters.spreadsheets import Row, parse_score
from kaoping.adapters.spreadsheets_columns import SurveyTable, read_survey
from kaoping.adapters.uploads import Upload
from kaoping.domain.errors import InvalidInput
from kaoping.domain.policy import OpinionPolicy
from kaoping.domain.text import fold, name_key
from kaoping.models import Component, Cycle
from kaoping.services.cycles.cycle import policy_of, require_open
from kaoping.services.scoring.entry import (
    ComponentScoreEntry,
    CycleContext,
    EntrySummary,
    missing_units,
    record_component_scores,
    validate_component_entries,
)

FLAG = "※"
# What platforms write for a question the respondent did not answer.
NOT_ANSWERED = frozenset({"", "(跳过)", "(空)", "-", "--", "—", "n/a", "未填写", "未作答", "(未作答)", "跳过"})
SHOWN_LINES = 10


@dataclass
class OutsideImport:
    summary: EntrySummary
    shape: str  # per_respondent | aggregate
    rows: int
    missing: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)
    mapping: str = ""  # which header became which role
    not_answered: int = 0  # per-respondent rows without a unit or a rating, not counted
    scale: str = ""  # the rating scale used, e.g. "1–5 分制（计分规则）"

    @property
    def created(self) -> bool:
        return self.summary.changed


def _two_places(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _lines(lines: list[int]) -> str:
    shown = "、".join(str(n) for n in lines[:SHOWN_LINES])
    return f"第 {shown} 行" if len(lines) <= SHOWN_LINES else f"第 {shown} 行等 {len(lines)} 行"


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"


def parse_scale(text: str | None) -> tuple[Decimal, Decimal] | None:
    """"1-10" → (1, 10): the scale of a survey's numeric ratings, as the operator gives it."""
    if not text:
        return None
    low, sep, high = fold(text).replace(" ", "").replace("~", "-").replace("–", "-").partition("-")
    try:
        scale = (parse_score(low), parse_score(high)) if sep else None
    except ValueError:
        scale = None
    if scale is None or scale[1] <= scale[0]:
        raise InvalidInput(f"评分分制“{text}”看不懂：应写成 最低分-最高分，例如 1-5、1-10 或 0-100。")
    return scale


def _resolve_units(ctx: CycleContext, table: SurveyTable, *, per_respondent: bool,
                   problems: list[str]) -> tuple[dict[int, int], int]:
    """Each row's unit (row line → unit id); every unknown name is refused once, with its rows.
    A respondent who did not answer the unit question is not counted (their number is returned)."""
    column = table.header_of("unit")
    found: dict[int, int] = {}
    unknown: dict[str, tuple[str, list[int]]] = {}  # name key → (first spelling, rows)
    outside: dict[str, list[int]] = defaultdict(list)
    empty: list[int] = []
    for row in table.rows:
        written = row.values.get("unit", "")
        if fold(written).lower() in NOT_ANSWERED:
            empty.append(row.line)
            continue
        unit = ctx.directory.find(written)
        if unit is None:
            unknown.setdefault(name_key(written), (written, []))[1].append(row.line)
        elif unit.id not in ctx.units:
            outside[unit.short_name].append(row.line)
        else:
            found[row.line] = unit.id
    for written, lines in unknown.values():
        problems.append(f"{_lines(lines)}“{column}”列：{ctx.directory.unknown_message(written)}")
    for name, lines in outside.items():
        problems.append(f"{_lines(lines)}“{column}”列：{name} 不是 {ctx.cycle.code} 的考评对象。")
    if empty and not per_respondent:
        problems.append(f"{_lines(empty)}“{column}”列：为空。")
    return found, len(empty) if per_respondent else 0


def _as_rating_column(table: SurveyTable, policy: OpinionPolicy) -> None:
    """A bare “满意度” header is a satisfied share in a summary table, but a rating in an export of
    answers: it holds the policy's words (满意 …) or one unit on several rows."""
    column = table.roles.get("satisfied")
    if column is None or column.named or "rating" in table.roles or "score" in table.roles:
        return
    values = [r.values.get("satisfied", "") for r in table.rows]
    units = [name_key(r.values.get("unit", "")) for r in table.rows]
    if any(v in policy.rating_labels for v in values) or len(set(units)) < len(units):
        column.role = "rating"
        for row in table.rows:
            row.values["rating"] = row.values.pop("satisfied", "")


def _ratings(table: SurveyTable, units: dict[int, int], policy: OpinionPolicy, scale, stated: str,
             problems: list[str]) -> tuple[dict[int, list[Decimal]], int]:
    """Each unit's ratings from an export of answers, on ``scale``; words by the policy's table."""
    column = table.header_of("rating")
    low, high = scale
    by_policy = (low, high) == (policy.rating_min, policy.rating_max)
    labels = "、".join(f"{k}={_plain(v)}" for k, v in policy.rating_labels.items())
    unknown: dict[str, list[int]] = defaultdict(list)
    outside: dict[Decimal, list[int]] = defaultdict(list)
    words_off_scale: dict[str, list[int]] = defaultdict(list)
    ratings: dict[int, list[Decimal]] = defaultdict(list)
    not_answered = 0
    for row in table.rows:
        if fold(row.values.get("unit", "")).lower() in NOT_ANSWERED:
            continue  # counted by _resolve_units
        written = fold(row.values.get("rating", ""))
        if written.lower() in NOT_ANSWERED:
            not_answered += 1
            continue
        if written in policy.rating_labels:
            if not by_policy:
                words_off_scale[written].append(row.line)
                continue
            rating = policy.rating_labels[written]
        else:
            try:
                rating = parse_score(written)
            except ValueError:
                unknown[written].append(row.line)
                continue
        if not low <= rating <= high:
            outside[rating].append(row.line)
        elif row.line in units:  # a row with an unknown unit is refused there; its rating is checked all the same
            ratings[units[row.line]].append(rating)
    for written, lines in unknown.items():
        problems.append(
            f"{_lines(lines)}“{column}”列：“{written}”无法识别，应为 {_plain(low)}–{_plain(high)} 的数字或计分规则的选项"
            f"（{labels}）。本周期计分规则的选项表（opinion.rating_labels）中没有它的分值：请核对导出的是否为满意度题；"
            "如问卷确用此选项，须由专班在计分规则中规定其分值。"
        )
    for rating, lines in outside.items():
        hint = "；问卷如为其他分制，请指明（命令行 --scale，如 --scale 1-10）" if not stated else ""
        problems.append(f"{_lines(lines)}“{column}”列：{rating} 超出 {_plain(low)}–{_plain(high)} 的范围（{stated or '计分规则'}）{hint}。")
    for written, lines in words_off_scale.items():
        problems.append(
            f"{_lines(lines)}“{column}”列：选项“{written}”的分值按计分规则的 {_plain(policy.rating_min)}–"
            f"{_plain(policy.rating_max)} 分制，与本问卷的 {_plain(low)}–{_plain(high)} 分制不同，不能混用。"
        )
    return ratings, not_answered


def import_outside_results(session: Session, cycle: Cycle, component: Component, upload: Upload, *, source: str,
                           actor: str, received_file_id: int | None = None, columns: dict[str, str] | None = None,
                           rating_scale: tuple[Decimal, Decimal] | None = None) -> OutsideImport:
    """Record one outside source's results. ``columns`` names columns by role where the headers
    are not recognised (``{"unit": "G", "rating": "总体满意度"}``); ``rating_scale`` is the survey's
    scale when neither the policy's nor stated in the header."""
    require_open(cycle)
    if component not in (Component.opinion, Component.third_party, Component.field):
        raise ValueError(component)
    table = read_survey(upload, columns)
    if not table.rows:
        raise table.refusal(f"文件 {upload.name} 只有表头，没有数据行。", how_to_name=False)
    ctx = CycleContext(session, cycle)
    policy = policy_of(session, cycle).opinion
    _as_rating_column(table, policy)
    roles = table.roles
    shape = "per_respondent" if "rating" in roles else "aggregate"
    if shape == "aggregate" and "score" not in roles and "satisfied" not in roles:
        raise table.refusal(
            f"文件 {upload.name} 缺少得分列：应有“得分”（0–100）或“满意率”（如 95%），"
            "或逐条答卷的满意度列（表头含“满意度”“评价”“评分”等）。"
        )
    problems: list[str] = []
    units, not_answered = _resolve_units(ctx, table, per_respondent=shape == "per_respondent", problems=problems)
    names = {unit_id: ctx.name(unit_id) for unit_id in set(units.values())}
    entries: list[ComponentScoreEntry] = []
    flagged: list[str] = []
    scale_text = ""
    if shape == "per_respondent":
        if rating_scale:
            scale, stated = rating_scale, "按指定的分制"
        elif table.rating_scale:
            scale, stated = table.rating_scale, "据表头"
        else:
            scale, stated = (policy.rating_min, policy.rating_max), ""
        scale_text = f"{_plain(scale[0])}–{_plain(scale[1])} 分制（{stated or '计分规则'}）"
        ratings, skipped = _ratings(table, units, policy, scale, stated, problems)
        not_answered += skipped
        low, span = Fraction(scale[0]), Fraction(scale[1] - scale[0])
        for unit_id, given in ratings.items():
            mean = sum((Fraction(r) for r in given), Fraction(0)) / len(given)
            score = _two_places(100 * (mean - low) / span)
            note = f"样本 {len(given)} 份，平均 {_two_places(mean)} 分（{_plain(scale[0])}–{_plain(scale[1])} 分制）"
            if len(given) < policy.min_respondents:
                note = f"{FLAG}样本不足：{note}，少于 {policy.min_respondents} 份"
                flagged.append(names[unit_id])
            entries.append(ComponentScoreEntry(unit_id, score, note, f"{names[unit_id]}的答卷"))
    else:
        entries = _aggregate_entries(table, units, names, policy, problems, flagged)
    problems += validate_component_entries(component, ctx, entries)[0]
    if problems:
        raise table.refusal(f"文件 {upload.name} 有 {len(problems)} 处问题，未录入任何分数。", problems, how_to_name=False)
    summary = record_component_scores(session, cycle, component, entries, source=source, actor=actor,
                                      file_name=upload.name, received_file_id=received_file_id, context=ctx)
    return OutsideImport(summary, shape, len(table.rows), missing_units(ctx, entries), flagged, table.summary(),
                         not_answered, scale_text)


def _aggregate_entries(table: SurveyTable, units: dict[int, int], names: dict[int, str], policy: OpinionPolicy,
                       problems: list[str], flagged: list[str]) -> list[ComponentScoreEntry]:
    """One row per unit: a 0–100 score or a satisfied share, perhaps the number of respondents."""
    by_unit: dict[int, list[Row]] = defaultdict(list)
    for row in table.rows:
        if row.line in units:
            by_unit[units[row.line]].append(row)
    entries = []
    for unit_id, unit_rows in by_unit.items():
        if len(unit_rows) > 1:
            distinct = {(r.values.get("score"), r.values.get("satisfied"), r.values.get("respondents")) for r in unit_rows}
            if len(distinct) > 1:
                lines = "、".join(str(r.line) for r in unit_rows)
                problems.append(f"第 {lines} 行：{names[unit_id]} 出现多次且数值不同，请只保留一行。")
                continue
        row = unit_rows[0]
        where = f"第 {row.line} 行"
        try:
            if row.values.get("score"):
                score = parse_score(row.values["score"], percent_ok=True)
            else:
                text = fold(row.values.get("satisfied", "")).replace(" ", "")
                share = parse_score(text, percent_ok=True)
                score = share * 100 if not text.endswith("%") and share <= 1 else share
        except ValueError:
            problems.append(f"{where}“得分/满意率”列：“{row.values.get('score') or row.values.get('satisfied')}”不是数字。")
            continue
        note = ""
        if row.values.get("respondents"):
            try:
                n = int(parse_score(row.values["respondents"]))
            except ValueError:
                problems.append(f"{where}“样本数”列：“{row.values['respondents']}”不是整数。")
                continue
            note = f"样本 {n} 份"
            if n < policy.min_respondents:
                note = f"{FLAG}样本不足：样本 {n} 份，少于 {policy.min_respondents} 份"
                flagged.append(names[unit_id])
        entries.append(ComponentScoreEntry(unit_id, score.normalize() if score == score.to_integral() else score,
                                           note, where))
    return entries
