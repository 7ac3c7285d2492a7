"""What people fill in, in the Prefect UI: the form that starts a half-year cycle (Run → Custom
run) and the sign-off forms of the Resume dialog. Every field has a Chinese title and says
what it is for; nothing a civil servant reads names a file path or a Python type.

Two rules follow from how Prefect uses these schemas:
- The start form carries its ranges in the schema (年度 2000–2100, the working days): the UI
  refuses a year out of range before any run exists (Prefect words that refusal itself, in
  English; the field's description says the range in Chinese). The Python model keeps no such
  constraint, so a run started through the API without the schema's check still refuses in
  Chinese (``CycleStart.problems``) instead of failing on a pydantic error.
- An answer to a sign-off that fails the schema fails the run instead of asking again, so the
  sign-off schemas carry types, choices and the code's one-line pattern only (a pattern the UI
  checks as the signer types; a run never sees an answer that breaks it); everything else is
  checked in the run, which refuses in Chinese (``services.signoff``).
- An optional date is shown as a plain date field (left empty: kaoping computes it), not as
  the "date | None" pair of tabs the UI draws for a nullable type.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from prefect.input import RunInput
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

#: A date the form may leave empty (``None`` in Python), drawn as one date field.
OptionalDate = Annotated[date | None, WithJsonSchema({"type": "string", "format": "date"})]

HALVES = {"上半年": 1, "下半年": 2}


def _no_null_default(schema: dict) -> None:
    schema.pop("default", None)  # a null default would be sent back as null, which the schema refuses


def optional_date(title: str, description: str):
    return Field(None, title=title, description=description, json_schema_extra=_no_null_default)


def _range(low: int, high: int):
    """A range the UI's form enforces, in the schema only (see the module's docstring)."""
    return {"minimum": low, "maximum": high}


def _in_order(schema: dict) -> None:
    """Each field's ``position``, which the UI orders a form's fields by: a Prefect server on
    PostgreSQL keeps the schema as JSONB, which does not keep the order of keys (seen in Chromium:
    半年 before 年度, the dates shuffled)."""
    for place, field in enumerate(schema.get("properties", {}).values()):
        field["position"] = place


class CycleStart(BaseModel):
    """开启半年考评：年度、半年、各项期限、调研组、承担关系。"""

    model_config = ConfigDict(title="开启考评", json_schema_extra=_in_order)

    year: int = Field(title="年度", json_schema_extra=_range(2000, 2100),
                      description="考评所属年度（2000–2100），例如 2022（下半年考评在次年年初进行时，仍填所属年度）")
    half: Literal["上半年", "下半年"] = Field(title="半年", description="考评上半年还是下半年")
    self_assessment_deadline: OptionalDate = optional_date(
        "自评表截止日期", "各单位交回自评表的最后一天，须为工作日；留空则按下一项的工作日数计算")
    self_assessment_workdays: int = Field(
        10, title="自评表期限（工作日）", json_schema_extra=_range(1, 60),
        description="未填写截止日期时：自评表下发后第几个工作日截止（1–60）")
    scoring_workdays: int = Field(5, title="评分表期限（工作日）", json_schema_extra=_range(1, 60),
                                  description="牵头考核单位评分表下发后第几个工作日截止（1–60）")
    visit_start: OptionalDate = optional_date(
        "实地调研开始日期", "留空则为自评表截止后的第 1 个工作日（计分规则 visits 所定）：调研组对照各单位报送的自评内容实地核实；"
        "早于这一天的须在下面写明理由")
    visit_end: OptionalDate = optional_date("实地调研结束日期", "留空则为开始后的第 10 个工作日")
    visit_early_reason: str = Field(
        "", title="调研提前的理由",
        description="实地调研在自评表截止之前开始时必填（记入审计日志并在报告中说明）；按默认日程的不必填写")
    results_workdays: int = Field(
        20, title="第三方评估和民意调查期限（工作日）", json_schema_extra=_range(1, 120),
        description="委托发出后第几个工作日截止（1–120；不早于实地调研结束后 2 个工作日）")
    teams: str = Field(
        "", title="调研组",
        description="留空：派出已导入的全部实地调研组。只派其中几组时，填写组名，用顿号或逗号分开（如：调研一组、调研三组）")
    accept_default_responsibilities: str = Field(
        "", title="承担关系说明",
        description="尚未导入本年度承担清单时，如确定按默认规则计分（旗县区承担全部指标、市直部门承担其牵头的指标），"
                    "请写明理由（记入审计日志并在报告中说明）；已导入清单的不必填写")
    today: OptionalDate = optional_date("按哪一天推进", "补录、演示时填写；留空为今天（北京时间）")

    @property
    def half_number(self) -> int:
        return HALVES[self.half]

    @property
    def code(self) -> str:
        return f"{self.year}H{self.half_number}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.half}考评"

    def problems(self) -> list[str]:
        """What is wrong with the form, in words the team reads (the run refuses it with these)."""
        out = []
        if not 2000 <= self.year <= 2100:
            out.append(f"年度“{self.year}”不在 2000 到 2100 之间：请填写考评所属的年度，例如 2022。")
        for name, low, high in (("self_assessment_workdays", 1, 60), ("scoring_workdays", 1, 60),
                                ("results_workdays", 1, 120)):
            value = getattr(self, name)
            if not low <= value <= high:
                out.append(f"“{type(self).model_fields[name].title}”为 {value}：应在 {low} 到 {high} 个工作日之间。")
        if self.visit_start and self.visit_end and self.visit_end < self.visit_start:
            out.append(f"实地调研结束日期 {self.visit_end} 早于开始日期 {self.visit_start}：请重新填写调研时间。")
        return out

    def parameters(self) -> dict:
        """As a deployment's parameters: the empty fields left out (the schema has no null)."""
        return {"start": self.model_dump(mode="json", exclude_none=True)}

    @classmethod
    def resume(cls, code_year: int, half: int, today: date | None = None) -> CycleStart:
        """The form of a run started by the intake or reminders flow (the dates are fixed already)."""
        return cls(year=code_year, half="上半年" if half == 1 else "下半年", today=today)


# --------------------------------------------------------------------------- sign-offs (Resume dialog)


#: The fields that decide what a sign-off answer does: required in the schema (the UI labels them without
#: "(Optional)") though they start from a default (同意; the switch off), which the UI fills in.
DECISIVE = ("code", "decision", "confirm_self_scored")
#: Six digits (full-width ones and a space or dash in the middle too: ``signatures.normalize_code`` folds them),
#: or nothing: the UI never submits an empty field (it is required), a release after a signature given
#: outside the dialog does (``adapters.prefect_runs.release_answer``).
CODE_PATTERN = r"^\s*([0-9０-９]{3}[ -]?[0-9０-９]{3})?\s*$"


def _signoff_schema(schema: dict) -> None:
    _in_order(schema)
    schema["required"] = [name for name in schema.get("properties", {}) if name in DECISIVE]


class SignoffInput(RunInput):
    """签字：填写邮件中的验证码，选择同意或退回修改。"""

    model_config = ConfigDict(json_schema_extra=_signoff_schema)

    # One line of six digits: the UI checks the pattern as the signer types; the run checks the code.
    code: str = Field(title="验证码", description="签字人邮箱收到的 6 位数字一次性验证码（只发给签字人本人）",
                      json_schema_extra={"pattern": CODE_PATTERN, "maxLength": 12})
    decision: Literal["同意", "退回修改"] = Field("同意", title="意见", description="同意：签字确认；退回修改：须在下面写明意见")
    comments: str = Field("", title="意见说明", description="退回修改时必填，写明需要修改的内容；同意时可留空")


class VerificationInput(SignoffInput):
    confirm_self_scored: bool = Field(
        False, title="同时确认牵头考核单位自评项",
        description="勾选：确认自评项核实清单所列全部牵头考核单位的自评分核实无误（按单位分组记录：谁、何时、经签字对话框）；"
                    "不勾选也不填写下一项的，自评项仍为待核实，签字不生效")
    confirm_groups: str = Field(
        "", title="确认的牵头考核单位",
        description="只确认其中几个单位的自评项时填写单位简称，用顿号分开（如：市工信局、市审批服务局）；"
                    "未确认的仍为待核实")
