"""民意调查结果表: the survey office's 0–100 public-opinion score per unit (10%)."""

from __future__ import annotations

from kaoping.models import Component, FormKind
from kaoping.services.forms.kind import register
from kaoping.services.forms.results_sheet import ResultsSheet


@register
class Opinion(ResultsSheet):
    kind = FormKind.opinion
    component = Component.opinion
    filled_by = "民意调查承办单位"
    recipient_setting = "opinion_email"
