"""The checks of `kaoping doctor` that look at kaoping itself, the way the first real cycle will use
it: its settings (production, the secret, nothing left at a placeholder, the office's time zone),
its database (reachable, at the newest migration, a unit registry with real addresses, the
field-visit teams, a calendar that covers the year) and the disk its files go to. The mail servers
and Prefect are checked where they are spoken to (``notifications.mail``, ``adapters.prefect_check``).
"""

from __future__ import annotations

import stat
import uuid
from kaoping.models.types import utcnow
from pathlib import Path

from sqlmodel import Session, select

from kaoping import db
from kaoping.adapters.files import free_bytes
from kaoping.domain.readiness import Check
from kaoping.models import Contact, Unit
from kaoping.services.reference.setup import database_label
from kaoping.services.reference.workdays import check_year
from kaoping.settings import (
    OFFICE_TIMEZONE,
    SETTING_LABELS,
    Environment,
    Settings,
    is_example_address,
    placeholders,
)

SETTINGS, DATABASE, HOST = "设置", "数据库", "本机"
#: The settings people read in the documents and emails, in groups of the checklist; each group is ✘
#: while one of its settings is still a placeholder, and shows its values for the IT staff to confirm.
GROUPS = (
    ("公文的发文机关、签发人和联系人", ("issuer_mark", "issuer_name", "office_name", "doc_number_prefix", "letter_number_prefix",
                           "report_signer", "contact_office", "contact_name", "contact_phone")),
    ("公文的主送和抄送", ("tongbao_to", "tongbao_copy", "report_to", "report_copy")),
    ("签字人（专班负责人、分管领导）", ("verifier_name", "verifier_email", "approver_name", "approver_email")),
    ("市委、市政府、市纪委监委的收件邮箱", ("leadership_emails",)),
    ("专班、发件地址和外部机构的邮箱", ("office_email", "mail_from", "third_party_email", "opinion_email")),
)
LABELS = {**SETTING_LABELS, "issuer_mark": "发文机关标志", "doc_number_prefix": "通报、报告的发文代字",
          "letter_number_prefix": "反馈函的发文代字", "tongbao_to": "通报主送", "tongbao_copy": "通报抄送", "report_to": "报告主送",
          "report_copy": "报告抄送"}
#: Free space below which a cycle's files (received forms, 36+ documents, backups) may not fit.
DISK_FAIL, DISK_WARN = 200 * 1024 * 1024, 2 * 1024 * 1024 * 1024


def _shown(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    return "、".join(map(str, value)) if isinstance(value, list) else str(value)


def settings_checks(settings: Settings, env_files: list[Path]) -> list[Check]:
    """The environment, the secret (and who can read it), every group of settings people read, the time zone."""
    checks = [_environment(settings), _secret(settings, env_files)]
    found = {p.name: p for p in placeholders(settings)}
    grouped = {n for _, names in GROUPS for n in names} | {"secret_key"}
    others = tuple(n for n in found if n not in grouped)
    for title, names in (*GROUPS, *((("其他设置", others),) if others else ())):
        bad = [found[n] for n in names if n in found]
        if bad:
            checks.append(Check.fail(SETTINGS, title, f"{len(bad)} 项仍是占位符或示例地址",
                                     fix="在 kaoping 的环境文件中填写：" + "、".join(p.variable for p in bad),
                                     details=[str(p) for p in bad]))
        else:
            checks.append(Check.ok(SETTINGS, title, "已填写（请核对）",
                                   details=[f"{LABELS.get(n, n)}（KAOPING_{n.upper()}）：{_shown(settings, n)}" for n in names]))
    checks.append(_timezone(settings))
    return checks


def _environment(settings: Settings) -> Check:
    if settings.environment is Environment.production:
        return Check.ok(SETTINGS, "运行环境", "KAOPING_ENVIRONMENT=production")
    return Check.fail(SETTINGS, "运行环境", "KAOPING_ENVIRONMENT 不是 production：这是试用（演示）设置，占位符会照样印发",
                      fix="在环境文件中设置 KAOPING_ENVIRONMENT=production")


def _secret(settings: Settings, env_files: list[Path]) -> Check:
    if settings.uses_development_secret:
        return Check.fail(SETTINGS, "密钥", "仍是内置开发密钥（公开在源代码中，任何人都能伪造表单和签名）",
                          fix="设置 KAOPING_SECRET_KEY 为 `python -c 'import secrets; print(secrets.token_urlsafe(48))'` 的输出，"
                              "并妥善保存（它核验交回的表格和审计日志）")
    readable = [f for f in env_files if f.exists() and stat.S_IMODE(f.stat().st_mode) & 0o077]
    if readable:
        return Check.fail(SETTINGS, "密钥", "环境文件其他用户也能读取（其中有密钥和邮箱密码）",
                          fix="；".join(f"chmod 600 {f}（并 chown 给运行 kaoping 的用户）" for f in readable))
    if len(settings.secret_key.get_secret_value()) < 32:
        return Check.warn(SETTINGS, "密钥", "已设置，但少于 32 个字符", fix="换用更长的随机密钥（更换方法见 README“更换密钥”）")
    return Check.ok(SETTINGS, "密钥", "已设置（不是内置开发密钥）" + ("，环境文件仅本用户可读" if env_files else ""))


def _timezone(settings: Settings) -> Check:
    now = utcnow().astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    if settings.timezone == OFFICE_TIMEZONE:
        return Check.ok(SETTINGS, "时区", f"{settings.timezone}（现在是 {now}）")
    return Check.warn(SETTINGS, "时区", f"KAOPING_TIMEZONE={settings.timezone}（现在是 {now}）",
                      fix=f"催报和收件的定时（prefect.yaml）按 {OFFICE_TIMEZONE} 安排；如办公室不在该时区，请一并修改 prefect.yaml")


# --------------------------------------------------------------------------- the database


def database_checks(settings: Settings, today) -> list[Check]:
    """Reachable and at the newest migration; then, on it, the registry, the teams and the calendar."""
    label = "数据库"
    try:
        current, head = db.schema_status(settings)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is this line of the checklist
        outage = db.unavailable(exc)
        words = outage.message if outage else f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}"
        return [Check.fail(DATABASE, label, f"无法连接 {database_label(settings)}（{words}）",
                           fix="确认数据库服务已启动，KAOPING_DATABASE_URL 的主机、端口、用户名和密码正确")]
    if current is None:
        return [Check.fail(DATABASE, label, f"{database_label(settings)} 尚未初始化", fix="运行 kaoping init")]
    if current != head:
        return [Check.fail(DATABASE, label, f"结构版本 {current}，最新为 {head}", fix="运行 kaoping db upgrade（先备份：kaoping backup）")]
    checks = [Check.ok(DATABASE, label, f"{database_label(settings)}，结构为最新（{head}）")]
    with db.session_scope(settings) as session:
        checks += [_registry(session), _teams(session), *_calendar(session, today)]
    return checks


def _registry(session: Session) -> Check:
    title = "考评对象名录"
    units = list(session.exec(select(Unit).where(Unit.active)))
    if not units:
        return Check.fail(DATABASE, title, "名录为空", fix="运行 kaoping init，或 kaoping units import 名录.yaml")
    names = {u.id: u.short_name for u in units}
    contacts = [c for c in session.exec(select(Contact)) if c.unit_id in names]
    examples = sorted({c.unit_id for c in contacts if is_example_address(c.email)})
    no_liaison = [u for u in units if not any(c.unit_id == u.id and c.role == "liaison" for c in contacts)]
    details = []
    if examples:
        shown = "、".join(names.get(i, str(i)) for i in examples[:6]) + (f" 等 {len(examples)} 个单位" if len(examples) > 6 else "")
        details.append(f"联系人邮箱仍是示例地址（baotou.example 等保留域名）：{shown}")
    if no_liaison:
        details.append(f"没有联络员邮箱：{'、'.join(u.short_name for u in no_liaison[:6])}"
                       + (f" 等 {len(no_liaison)} 个单位" if len(no_liaison) > 6 else ""))
    if details:
        return Check.fail(DATABASE, title, f"{len(units)} 个单位，其中 {len(set(examples) | {u.id for u in no_liaison})} 个的联系人需要填写",
                          fix="按 README“考评对象名录”整理真实的联络员和负责人邮箱，用 kaoping units import 名录.yaml 导入",
                          details=details)
    return Check.ok(DATABASE, title, f"{len(units)} 个单位，联系人邮箱都已填写")


def _teams(session: Session) -> Check:
    from kaoping.services.visits.schedule import current_teams

    teams = current_teams(session)
    if teams is None:
        return Check.fail(DATABASE, "实地调研组", "尚未导入：开启半年考评时会被拒绝",
                          fix="kaoping visits teams import 调研组.yaml（格式见 README“实地调研”）")
    members = [m for t in (teams.content or {}).get("teams", []) for m in t.get("members", [])]
    examples = [f"{m.get('name', '')}（{m.get('email', '')}）" for m in members if is_example_address(str(m.get("email", "")))]
    if examples:
        return Check.fail(DATABASE, "实地调研组", f"第 {teams.version} 版中 {len(examples)} 名成员的邮箱仍是示例地址",
                          fix="改正调研组名单后重新导入：kaoping visits teams import 调研组.yaml", details=["、".join(examples[:8])])
    return Check.ok(DATABASE, "实地调研组", f"已导入（第 {teams.version} 版，{len(members)} 名成员）")


def _calendar(session: Session, today) -> list[Check]:
    """This year's working days, and next year's from November (the second half is assessed in January)."""
    years = [today.year] + ([today.year + 1] if today.month >= 11 else [])
    checks = []
    for year in years:
        found = check_year(session, year)
        if found.covered:
            checks.append(Check.ok(DATABASE, f"{year} 年工作日历", f"{found.workdays} 个工作日（法定节假日和调休已收录）"))
        elif found.overrides:
            checks.append(Check.warn(DATABASE, f"{year} 年工作日历", f"按办公室录入的 {found.overrides} 天和周末计算，共 {found.workdays} 个工作日",
                                     fix=f"请确认已用 kaoping calendar set 录入 {year} 年全部法定节假日和调休（kaoping calendar check {year}）"))
        else:
            checks.append(Check.fail(DATABASE, f"{year} 年工作日历", "法定节假日和调休安排尚未收录：只能按周末计算，催报和期限会算错",
                                     fix="国务院办公厅发布安排后升级 chinese-calendar（make install），或逐日 kaoping calendar set"))
    return checks


# --------------------------------------------------------------------------- the machine


def disk_checks(settings: Settings) -> list[Check]:
    """Where kaoping writes (received files, reports, backups) and, without a mailbox, the inbox folder:
    writable by this user, and room left."""
    folders = [("kaoping 的文件（KAOPING_VAR_DIR：收到的文件、报告）", settings.var_dir)]
    if not settings.imap_enabled:
        folders.append(("收件文件夹（KAOPING_INBOX_DIR）", settings.effective_inbox_dir))
    return [_folder(title, Path(folder)) for title, folder in folders]


def _folder(title: str, folder: Path) -> Check:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".kaoping-doctor-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check.fail(HOST, title, f"{folder} 不能写入（{exc.strerror}）",
                          fix=f"创建该文件夹并交给运行 kaoping 的用户：chown -R kaoping: {folder}")
    free = free_bytes(folder)
    shown = f"{folder.resolve()}，剩余 {free / 1024 ** 3:.1f} GB"
    if free < DISK_FAIL:
        return Check.fail(HOST, title, shown, fix="清理或扩容该磁盘：一期考评收到的文件和生成的公文需要数百 MB")
    if free < DISK_WARN:
        return Check.warn(HOST, title, shown, fix="磁盘余量不多：备份（kaoping backup）另存他处后清理，或扩容")
    return Check.ok(HOST, title, shown + "，可写入")


#: the environment file the shipped systemd units read (deploy/systemd/)
SYSTEMD_ENV_FILE = Path("/etc/kaoping/kaoping.env")


def env_files(cwd: Path | None = None, extra: list[Path] = ()) -> list[Path]:
    """The environment files kaoping may be reading: ``.env`` in the working folder, the one the
    shipped systemd units name, and any named on the command line."""
    chosen = [*extra, Path(cwd or Path.cwd()) / ".env", SYSTEMD_ENV_FILE]
    return [p for p in dict.fromkeys(chosen) if p.exists()]
