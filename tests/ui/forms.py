"""How the browser test reads and fills the Prefect UI's forms: the cycle flow's start form and
the sign-off (Resume) dialog. The forms' shape follows the flow's parameters, so this is the
one place that changes when they do.

The Prefect UI renders a parameter schema as blocks ``.schema-form-property`` with the
field's title in ``.schema-form-property__label`` and its description underneath; its
``<label for=…>`` points at no input, so fields are found by their visible title."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

# The English parameter names a user must never meet as titles.
ENGLISH = re.compile(r"^(year|half|self_assessment_deadline|self_assessment_workdays|scoring_workdays|results_workdays|"
                     r"visit_start|visit_end|teams_file|accept_default_responsibilities|today|code|decision|comments|"
                     r"confirm_self_scored)\b")


def field(scope: Page | Locator, title: str) -> Locator:
    """The schema-form property whose own title is ``title`` (not a nested one's)."""
    return scope.locator(
        "xpath=.//div[contains(concat(' ', normalize-space(@class), ' '), ' schema-form-property ')]"
        f"[./div[contains(@class, 'p-label__header')]//span[contains(@class, 'schema-form-property__label')]"
        f"[normalize-space() = '{title}']]").first


def field_input(scope: Page | Locator, title: str) -> Locator:
    return field(scope, title).locator("xpath=./div[contains(@class, 'p-label__body')]").locator(
        "input, textarea").first


def titles(scope: Page | Locator) -> list[str]:
    """Every field title the user sees in a form, in order."""
    return [t.strip() for t in scope.locator(".schema-form-property__label").all_inner_texts()]


# --------------------------------------------------------------------------- the start form
# On main before issue 16 items 1–3 (branch ui-flows): flat parameters with English names.


def check_start_form(page: Page) -> None:
    seen = titles(page)
    assert seen[:2] == ["year", "half"], seen
    assert "Traceback" not in page.locator("body").inner_text()


def fill_start_form(page: Page) -> None:
    """Custom run of the cycle deployment: 2022, first half (the rest keeps its defaults)."""
    field_input(page, "year").fill("2022")
    field_input(page, "half").fill("1")


def check_run_name(name: str) -> None:
    """The run's name as the lists show it (random words such as "sigma2-amroth" before ui-flows)."""
    assert name


# --------------------------------------------------------------------------- the Resume dialog


def check_signoff_dialog(dialog: Locator, *, stage: str) -> None:
    text = dialog.inner_text()
    assert ("专班核实签字" if stage == "verification" else "分管领导审定签字") in text, text[:500]
    seen = titles(dialog)
    assert seen[:3] == ["验证码 (Optional)", "意见 (Optional)", "意见说明 (Optional)"], seen
    assert not [t for t in seen if ENGLISH.match(t)], seen
    assert "Traceback" not in text


def fill_signoff(dialog: Locator, *, code: str, stage: str) -> None:
    """The code from the signer's email; 意见 keeps its default 同意; the verifier also confirms
    the lead assessors' self-scored items (the switch below the comments)."""
    field_input(dialog, "验证码 (Optional)").fill(code)
    if stage == "verification":
        switch = field(dialog, "同时确认牵头考核单位自评项 (Optional)").locator(".p-toggle__control").first
        if "p-toggle__control--checked" not in (switch.get_attribute("class") or ""):
            switch.click()
        expect(switch).to_have_class(re.compile(r"p-toggle__control--checked"))
