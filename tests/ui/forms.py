"""How the browser test reads and fills the Prefect UI's forms: the cycle flow's start form and
the sign-off (Resume) dialog. The forms' shape follows the flow's parameters, so this is the
one place that changes when they do.

The Prefect UI renders a parameter schema as blocks ``.schema-form-property`` with the
field's title in ``.schema-form-property__label`` (" (Optional)" appended when the field has a
default) and its description underneath; its ``<label for=…>`` points at no input, so fields
are found by their visible title.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Locator, Page, expect

# The English parameter names a user must never meet as titles.
ENGLISH = re.compile(r"^(year|half|self_assessment_deadline|self_assessment_workdays|scoring_workdays|results_workdays|"
                     r"visit_start|visit_end|visit_early_reason|teams_file|accept_default_responsibilities|today|code|decision|comments|"
                     r"confirm_self_scored|confirm_groups)\b")
OPTIONAL = " (Optional)"


def log_in(page: Page, url: str, auth: str) -> None:
    """The Prefect UI's login page (the server requires its credential, as production does): the
    credential in its one field, then Login; the browser keeps it for the rest of the test."""
    page.goto(url)
    box = page.locator("input[type=password]")
    box.wait_for()
    box.fill(auth)
    page.get_by_role("button", name="Login").click()
    box.wait_for(state="detached")


def field(scope: Page | Locator, title: str) -> Locator:
    """The schema-form property whose own title is ``title`` (with or without " (Optional)")."""
    return scope.locator(
        "xpath=.//div[contains(concat(' ', normalize-space(@class), ' '), ' schema-form-property ')]"
        "[./div[contains(@class, 'p-label__header')]//span[contains(@class, 'schema-form-property__label')]"
        f"[normalize-space() = '{title}' or normalize-space() = '{title}{OPTIONAL}']]").first


def field_input(scope: Page | Locator, title: str) -> Locator:
    return field(scope, title).locator("xpath=./div[contains(@class, 'p-label__body')]").locator(
        "input, textarea").first


def choose(page: Page, scope: Page | Locator, title: str, option: str) -> None:
    """A choice (an enum in the schema, Prefect's p-select): a mouse click does not open its list
    in headless Chromium, the keyboard does (focus, ArrowDown); then the option is clicked."""
    button = field(scope, title).locator(".p-select-button__control")
    button.focus()
    page.keyboard.press("ArrowDown")
    page.locator("[role=listbox] .p-select-option").filter(has_text=re.compile(f"^{option}$")).first.click()
    expect(button).to_have_text(option)


def pick_date(page: Page, title: str, day: str) -> None:
    """A date field: its button opens Prefect's date picker, whose "Selected Date" box takes the
    date typed (a native date input: ISO in, shown mm/dd/yyyy), then Apply."""
    box = field(page, title)
    box.scroll_into_view_if_needed()
    box.locator(".p-date-button__control").click()
    picker = page.locator(".p-date-picker").last
    picker.locator("input").last.fill(day)
    picker.get_by_role("button", name="Apply").click()
    expect(box.locator(".p-date-button__value")).not_to_have_text("Select date")


def titles(scope: Page | Locator) -> list[str]:
    """Every field title the user sees in a form, in order."""
    return [t.strip() for t in scope.locator(".schema-form-property__label").all_inner_texts()]


# --------------------------------------------------------------------------- the start form


def check_start_form(page: Page) -> None:
    """The form 开启半年考评 with Chinese titles in order; 年度 and 半年 required (no "(Optional)"),
    no English parameter name, not even the parameter's own ("Start")."""
    seen = titles(page)
    assert seen[:3] == ["开启半年考评", "年度", "半年"], seen
    bare = [t.removesuffix(OPTIONAL) for t in seen]
    for title in ("自评表截止日期", "实地调研开始日期", "调研组", "承担关系说明", "按哪一天推进"):
        assert title in bare, seen
    assert not [t for t in seen if ENGLISH.match(t) or t.lower().startswith("start")], seen
    assert "Traceback" not in page.locator("body").inner_text()


#: 按哪一天推进 of the test's run: a 2022 day after every return is in (the cycle is 2022H1), so the
#: objection window the verification opens has long closed by the real date of the approval.
TODAY = "2022-07-11"


def fill_start_form(page: Page, *, year: str = "2022") -> None:
    """Custom run of the cycle deployment: 2022, 上半年 (a choice), 按哪一天推进 a date picked; the
    rest keeps its defaults."""
    field_input(page, "年度").fill(year)
    choose(page, page, "半年", "上半年")
    pick_date(page, "按哪一天推进", TODAY)


# --------------------------------------------------------------------------- the Resume dialog


#: What a signer must not meet: a command line, a file path on the server, a Python traceback.
NOT_FOR_READERS = re.compile(r"kaoping [a-z]|prefect [a-z]|(?<![\w.])/(?:work|tmp|var|home|srv|opt|etc)/|\.venv|Traceback")


def plain_words_only(text: str) -> None:
    found = NOT_FOR_READERS.search(text)
    assert not found, text[max(0, found.start() - 300):found.end() + 300]


def check_signoff_dialog(dialog: Locator, *, stage: str) -> None:
    text = dialog.inner_text()
    assert ("专班核实签字" if stage == "verification" else "分管领导审定签字") in text, text[:500]
    seen = titles(dialog)
    assert [t.removesuffix(OPTIONAL) for t in seen[:3]] == ["验证码", "意见", "意见说明"], seen
    # What decides the outcome is not labelled "(Optional)": the code, 意见, the self-scored switch.
    assert seen[:2] == ["验证码", "意见"], seen
    assert not [t for t in seen if t.startswith("同时确认") and t.endswith(OPTIONAL)], seen
    assert "提交后如何确认结果" in text, text[:800]  # the top says how to see the outcome
    # The code is one line: the field shows a single row.
    box = field_input(dialog, "验证码")
    assert box.evaluate("e => e.tagName === 'INPUT' || e.rows === 1"), box.evaluate("e => e.outerHTML")
    plain_words_only(text)
    assert not [t for t in seen if ENGLISH.match(t)], seen
    assert "Traceback" not in text


def scroll_to_tables(dialog: Locator) -> list[dict]:
    """Scroll the dialog's description to its first table; each table's width and the width of the
    box that shows it (the description's own scroll box)."""
    return dialog.evaluate("""(root) => {
        const tables = [...root.querySelectorAll('table')];
        if (tables.length) tables[0].scrollIntoView({block: 'start'});
        return tables.map(t => {
            let box = t.parentElement;
            while (box && box !== root && !['auto', 'scroll'].includes(getComputedStyle(box).overflowY)) box = box.parentElement;
            box = box || root;
            // A box that holds this table alone is the table's own: it must show it whole (no inner scroll).
            const own = box.querySelectorAll('table').length === 1;
            return {table: t.scrollWidth, box: box.clientWidth, hidden: own ? box.scrollHeight - box.clientHeight : 0};
        });
    }""")


#: Prefect's toast when an API call fails. With the Prefect server on SQLite (the demo's; production
#: and CI use PostgreSQL), a resume that meets another write can fail with "database is locked" (its
#: resume endpoint reads, then writes, in a deferred transaction): the whole answer is rolled back,
#: the dialog stays open, and a person submits again.
OOPS = "Something went wrong"


def submit_answer(page: Page, dialog: Locator) -> int:
    """Submit the Resume dialog as a person does — once more if Prefect's failure toast shows instead
    of the dialog closing (said in the output); returns how many submits it took."""
    oops = page.get_by_text(OOPS).first
    for attempt in (1, 2):
        dialog.get_by_role("button", name="Submit").click()
        deadline = time.monotonic() + 60
        while dialog.is_visible():
            if attempt == 1 and oops.is_visible():
                break
            assert time.monotonic() < deadline, f"the Resume dialog did not close after Submit (attempt {attempt})"
            page.wait_for_timeout(500)
        else:
            return attempt
        print(f"Prefect answered Submit with “{OOPS}” (the server's log says why); submitting again")
        try:
            oops.wait_for(state="hidden", timeout=15_000)
        except Exception:  # noqa: BLE001 - a toast still showing does not stop a second submit
            pass
    raise AssertionError("unreachable")


def switch_on(scope: Page | Locator, title: str) -> bool:
    switch = field(scope, title).locator(".p-toggle__control").first
    return "p-toggle__control--checked" in (switch.get_attribute("class") or "")


def submit_start(page: Page, made_run=lambda: False) -> None:
    """Submit the start form as a person does: once more if the server answered with Prefect's failure toast
    (a busy server's 503) instead of the toast saying the run is scheduled — unless the run was made all the
    same (``made_run``: seen in the run list, as a person would look before starting a second one)."""
    scheduled, oops = page.get_by_text("scheduled to start").first, page.get_by_text(OOPS).first
    for attempt in (1, 2, 3):
        page.get_by_role("button", name="Submit").click()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if scheduled.is_visible():
                return
            if oops.is_visible():
                page.wait_for_timeout(2_000)
                if made_run():
                    print(f"Prefect showed “{OOPS}” but the run was made (attempt {attempt})")
                    return
                break
            page.wait_for_timeout(300)
        else:
            raise AssertionError("neither the run scheduled nor a failure after Submit")
        print(f"Prefect answered Submit with “{OOPS}” (attempt {attempt}); submitting again")
        try:
            oops.wait_for(state="hidden", timeout=15_000)
        except Exception:  # noqa: BLE001 - a toast still showing does not stop another submit
            pass
    raise AssertionError("the start form was refused three times")


def fill_signoff(dialog: Locator, *, code: str, stage: str) -> None:
    """The code from the signer's email; 意见 keeps its default 同意; where the dialog has it,
    the verifier also confirms the lead assessors' self-scored items (the switch)."""
    field_input(dialog, "验证码").fill(code)
    confirm = field(dialog, "同时确认牵头考核单位自评项")
    if stage == "verification" and confirm.count():
        switch = confirm.locator(".p-toggle__control").first
        if "p-toggle__control--checked" not in (switch.get_attribute("class") or ""):
            switch.click()
        expect(switch).to_have_class(re.compile(r"p-toggle__control--checked"))
