"""The ``kaoping`` command: what operators of the 数字政府专班 type.

Every command reads the one settings object, runs its service in one transaction, and
turns a refusal into a message and a non-zero exit code — never a traceback
(``kaoping.cli.common``). One module per group of commands; this one only builds ``app``.
The order of registration is the order ``kaoping --help`` lists them in.
"""

from __future__ import annotations

from typing import Annotated

import typer

from kaoping.cli import (
    audit,
    backup,
    catalog,
    cycle,
    demo,
    doctor,
    forms,
    mail,
    objections,
    responsibilities,
    results,
    scores,
    setup,
    signoff,
    units,
    verify,
    visits,
)

app = typer.Typer(
    name="kaoping",
    help="kaoping 数字政府建设考评 — half-yearly digital-government assessment, end to end.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)



@app.callback()
def _options(debug: Annotated[bool, typer.Option("--debug", help="出错时显示完整的 traceback（运维排查用）")] = False) -> None:
    """kaoping 数字政府建设考评 — half-yearly digital-government assessment, end to end."""
    from kaoping.cli import common

    common.DEBUG["on"] = debug
    common._NOTICE["shown"] = False


app.command()(setup.init)
app.command()(doctor.doctor)
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
app.command("archive")(backup.archive_command)
app.command()(results.check)
app.command("results")(results.results_command)
app.command("annual")(results.annual_command)
app.command()(results.explain)
app.command("intake")(forms.intake_command)
app.command("report")(forms.report_command)
app.command("status")(signoff.status_command)
app.command("mailsink")(mail.mailsink_command)
app.command()(demo.demo)
app.command()(demo.serve)

app.add_typer(setup.db_app, name="db")
app.add_typer(catalog.catalog_app, name="catalog")
app.add_typer(units.units_app, name="units")
app.add_typer(responsibilities.resp_app, name="responsibilities")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(cycle.cycle_app, name="cycle")
app.add_typer(cycle.points_app, name="points")
app.add_typer(scores.scores_app, name="scores")
app.add_typer(verify.verify_app, name="verify")
app.add_typer(forms.forms_app, name="forms")
app.add_typer(mail.mail_app, name="mail")
app.add_typer(mail.outbox_app, name="outbox")
app.add_typer(mail.calendar_app, name="calendar")
app.add_typer(mail.reminders_app, name="reminders")
app.add_typer(visits.visits_app, name="visits")
app.add_typer(visits.opinion_app, name="opinion")
app.add_typer(visits.thirdparty_app, name="thirdparty")
app.add_typer(signoff.signoff_app, name="signoff")
app.add_typer(objections.objections_app, name="objections")


def main() -> None:  # pragma: no cover - console entry point
    app()
