"""第三方评估结果表: the evaluator's 0–100 score per unit (10% of the half-year score)."""

from __future__ import annotations

from kaoping.models import Component, FormKind
from kaoping.services.forms.kind import register
from kaoping.services.forms.results_sheet import ResultsSheet


@register
class ThirdParty(ResultsSheet):
    kind = FormKind.third_party
    component = Component.third_party
    filled_by = "第三方评估机构"
    recipient_setting = "third_party_email"
    email_template = "third_party_request"
