"""Public opinion (民意调查) and third-party (第三方评估) results from outside spreadsheets.

Outside firms send their own xlsx/csv, not kaoping's signed forms. Unit names are
reconciled through names, short names, aliases and codes; an unknown name is refused by
row with the closest matches; units missing from the results are listed.

Opinion exports come in two shapes, told apart by their columns:

* per respondent — one row per answer with the unit and a rating (a number or a word such
  as 满意): aggregated per unit by the policy's rule (mean rating mapped linearly onto
  0–100, two decimals), units with fewer respondents than the policy's minimum flagged;
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

from kaoping.adapters.spreadsheets import parse_score, read_table
from kaoping.adapters.uploads import Upload
from kaoping.domain.errors import InvalidInput
from kaoping.domain.text import fold
from kaoping.models import Component, Cycle
from kaoping.services.cycles import policy_of, require_open
from kaoping.services.score_entry import (
    ComponentScoreEntry,
    CycleContext,
    EntrySummary,
    missing_units,
    record_component_scores,
    validate_component_entries,
)

FLAG = "※"


@dataclass
class OutsideImport:
    summary: EntrySummary
    shape: str  # per_respondent | aggregate
    rows: int
    missing: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.summary.changed


def _two_places(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def import_outside_results(session: Session, cycle: Cycle, component: Component, upload: Upload, *, source: str,
                           actor: str, received_file_id: int | None = None) -> OutsideImport:
    require_open(cycle)
    if component not in (Component.opinion, Component.third_party, Component.field):
        raise ValueError(component)
    columns, rows = read_table(upload)
    if not rows:
        raise InvalidInput(f"文件 {upload.name} 只有表头，没有数据行。")
    ctx = CycleContext(session, cycle)
    policy = policy_of(session, cycle).opinion
    problems: list[str] = []
    units: dict[int, list] = defaultdict(list)
    names: dict[int, str] = {}
    shape = "per_respondent" if "rating" in columns else "aggregate"
    if shape == "aggregate" and "score" not in columns and "satisfied" not in columns:
        raise InvalidInput(
            f"文件 {upload.name} 缺少得分列：应有“得分”（0–100）或“满意率”（如 95%），"
            "或逐条答卷的“满意程度/评分等级”列。"
        )
    for row in rows:
        where = f"第 {row.line} 行"
        unit_id = ctx.cycle_unit(row.values.get("unit", ""), where, "单位", problems)
        if unit_id is None:
            continue
        names[unit_id] = ctx.name(unit_id)
        if shape == "per_respondent":
            written = fold(row.values.get("rating", ""))
            if written in policy.rating_labels:
                rating = policy.rating_labels[written]
            else:
                try:
                    rating = parse_score(written)
                except ValueError:
                    labels = "、".join(policy.rating_labels)
                    problems.append(f"{where}“满意程度”列：“{written}”无法识别，应为 {policy.rating_min}–{policy.rating_max} 的数字或{labels}。")
                    continue
            if not policy.rating_min <= rating <= policy.rating_max:
                problems.append(f"{where}“满意程度”列：{rating} 超出 {policy.rating_min}–{policy.rating_max} 的范围。")
                continue
            units[unit_id].append(rating)
        else:
            units[unit_id].append(row)
    entries: list[ComponentScoreEntry] = []
    flagged: list[str] = []
    if shape == "per_respondent":
        span = Fraction(policy.rating_max - policy.rating_min)
        for unit_id, ratings in units.items():
            mean = sum((Fraction(r) for r in ratings), Fraction(0)) / len(ratings)
            score = _two_places(100 * (mean - Fraction(policy.rating_min)) / span)
            note = f"样本 {len(ratings)} 份，平均 {_two_places(mean)} 分（{policy.rating_min}–{policy.rating_max} 分制）"
            if len(ratings) < policy.min_respondents:
                note = f"{FLAG}样本不足：{note}，少于 {policy.min_respondents} 份"
                flagged.append(names[unit_id])
            entries.append(ComponentScoreEntry(unit_id, score, note, f"{names[unit_id]}的答卷"))
    else:
        for unit_id, unit_rows in units.items():
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
    problems += validate_component_entries(component, ctx, entries)[0]
    if problems:
        raise InvalidInput(f"文件 {upload.name} 有 {len(problems)} 处问题，未录入任何分数：", problems)
    summary = record_component_scores(session, cycle, component, entries, source=source, actor=actor,
                                      file_name=upload.name, received_file_id=received_file_id, context=ctx)
    return OutsideImport(summary, shape, len(rows), missing_units(ctx, entries), flagged)
