"""What every command shares: the settings, the schema check, who acts, turning a refusal into a
message and an exit code, the option parsers, and one transaction on a cycle.

A command reads like::

    @refusals_exit
    def points_show(cycle: CycleOpt) -> None:
        with cycle_session(cycle) as (s, session, c):
            points = cycles.points_in_force(session, c)
        ...print...
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Annotated

import typer
from kaoping.models.types import utcnow
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlmodel import Session

from kaoping import db
from kaoping.adapters.console import err, out
from kaoping.adapters.files import disk_problem, is_disk_problem
from kaoping.adapters.spreadsheets import parse_score
from kaoping.domain.errors import KaopingError, Unavailable
from kaoping.models import Cycle, FormKind
from kaoping.records import audit
from kaoping.services.cycles import cycle as cycles
from kaoping.settings import Settings, describe_settings_error, get_settings

__all__ = [
    "CycleOpt", "actor_of", "cycle_session", "err", "out", "parse_day", "parse_form_kind", "parse_number",
    "ready", "refusals_exit", "require_schema", "schema_session", "settings", "local_today",
]

CycleOpt = Annotated[str, typer.Option("--cycle", help="考评周期，例如 2022H1")]


#: ``kaoping --debug …``: let foreseeable errors through with their traceback (for operators).
DEBUG = {"on": False}


def _database_hint(exc: DBAPIError) -> str:
    words = str(getattr(exc, "orig", exc)).strip().splitlines()
    return (f"无法连接或使用数据库（{words[0] if words else exc.__class__.__name__}）：请确认数据库服务已启动、"
            "KAOPING_DATABASE_URL 的主机、端口、用户名和密码正确，然后重试（加 --debug 可查看详细信息）。"
            " / The database cannot be reached; check KAOPING_DATABASE_URL.")


def _constraint_hint(exc: DBAPIError) -> str:
    words = str(getattr(exc, "orig", exc)).strip().splitlines()
    return (f"数据库拒绝了这次写入（{words[0][:160] if words else exc.__class__.__name__}），未作任何改动："
            "输入中可能有重复或过长的内容，请检查后重试（加 --debug 可查看详细信息）。 / The database refused the change.")


def refusals_exit(func: Callable) -> Callable:
    """Print a refusal for people and exit non-zero (the data is as it was). Foreseeable
    trouble — a bad setting, the database unreachable — is a refusal too, never a traceback
    (unless ``--debug``)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except KaopingError as exc:
            if DEBUG["on"]:
                raise
            err.print(f"[bold red]错误[/bold red]：{exc}", markup=True)
            raise typer.Exit(exc.exit_code) from None
        except (ValidationError, SettingsError) as exc:
            if DEBUG["on"]:
                raise
            err.print(f"[bold red]配置错误[/bold red]：{describe_settings_error(exc)}", markup=True, highlight=False)
            raise typer.Exit(2) from None
        except Unavailable as exc:
            if DEBUG["on"]:
                raise
            err.print(f"[bold red]暂时无法完成[/bold red]：{exc.message}", markup=True, highlight=False)
            raise typer.Exit(exc.exit_code) from None
        except (OperationalError, DBAPIError) as exc:
            if DEBUG["on"]:
                raise
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                err.print(f"[bold red]数据库错误[/bold red]：{_database_hint(exc)}", markup=True, highlight=False)
                raise typer.Exit(3) from None
            if isinstance(exc, IntegrityError | DataError):  # a rule of the database the command did not foresee
                err.print(f"[bold red]错误[/bold red]：{_constraint_hint(exc)}", markup=True, highlight=False)
                raise typer.Exit(2) from None
            raise
        except OSError as exc:
            if DEBUG["on"] or not is_disk_problem(exc) and not isinstance(exc, PermissionError):
                raise
            message = disk_problem(exc) if is_disk_problem(exc) else (
                f"没有权限读写 {exc.filename or '文件'}（{exc.strerror}）：请以运行 kaoping 的用户执行，或检查该文件夹的权限。"
                " / Permission denied.")
            err.print(f"[bold red]错误[/bold red]：{message}", markup=True, highlight=False)
            raise typer.Exit(5) from None

    return wrapper


_NOTICE = {"shown": False}


def development_notice(s: Settings) -> None:
    """Say once per command that the built-in development secret signs forms and emails."""
    if s.uses_development_secret and s.development_declared and not _NOTICE["shown"]:
        _NOTICE["shown"] = True
        err.print("[yellow]开发模式[/yellow]：KAOPING_ENVIRONMENT=development，正在使用内置开发密钥——"
                  "它签发的表单和邮件任何人都能伪造，切勿用于真实考评（生产环境请设置 KAOPING_SECRET_KEY）。"
                  " / Development mode: the built-in secret is in use.", markup=True, highlight=False)


def settings() -> Settings:
    s = get_settings()
    development_notice(s)
    return s


def actor_of(s: Settings) -> str:
    return audit.actor_of(s)


def require_schema(s: Settings) -> None:
    current, head = db.schema_status(s)
    if current != head:
        hint = "kaoping init" if current is None else "kaoping db upgrade"
        raise KaopingError(
            f"数据库结构不是最新（当前 {current or '未初始化'}，应为 {head}）：请先运行 `{hint}`。"
            f" / The database schema is not up to date; run `{hint}`."
        )


def ready() -> Settings:
    """The settings, once the database schema is known to be current (else a refusal)."""
    s = settings()
    require_schema(s)
    return s


@contextmanager
def schema_session(s: Settings | None = None) -> Iterator[tuple[Settings, Session]]:
    """``with schema_session() as (s, session):`` — settings, schema check, one transaction.
    Pass ``s`` when the command has already checked."""
    s = s or ready()
    with db.session_scope(s) as session:
        yield s, session


@contextmanager
def cycle_session(code: str, s: Settings | None = None) -> Iterator[tuple[Settings, Session, Cycle]]:
    """``with cycle_session(code) as (s, session, cycle):`` — settings, schema check, one transaction,
    and the cycle (a refusal if there is none). Pass ``s`` when the command has already checked."""
    s = s or ready()
    with db.session_scope(s) as session:
        yield s, session, cycles.get_cycle(session, code)


def local_today(s: Settings) -> date:
    """Today where the office is (KAOPING_TIMEZONE)."""
    return utcnow().astimezone(s.tz).date()


def parse_day(text: str | None, what: str = "日期") -> date | None:
    """A YYYY-MM-DD option, or a refusal that shows the format."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise KaopingError(f"{what}“{text}”格式不对，应为 YYYY-MM-DD，例如 2022-07-10。") from None


def parse_form_kind(kind: str) -> FormKind:
    try:
        return FormKind(kind)
    except ValueError:
        raise KaopingError(
            f"未知的表单类型 {kind!r}：应为 self_assessment、lead_scoring、field_visit、third_party 或 opinion。"
        ) from None


def parse_number(text: str, refusal: str) -> Decimal:
    """A score or points option as written (full-width digits too), or the refusal given."""
    try:
        return parse_score(text)
    except ValueError:
        raise KaopingError(refusal) from None
