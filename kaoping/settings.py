"""The one settings object of kaoping (pydantic-settings, env prefix ``KAOPING_``).

Everything that reads configuration receives a :class:`Settings`; nothing else reads
``os.environ``. A ``.env`` file in the working directory is read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

#: The installed package: shipped data (catalogs, registry, policies) and the migrations travel with it.
PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"

#: The secret a fresh checkout runs with. Fine for the demo and the tests, never for
#: production: forms signed with it could be forged by anyone who read this file.
DEFAULT_SECRET_KEY = "kaoping-development-secret-do-not-use-in-production"
OFFICE_TIMEZONE = "Asia/Shanghai"  # KAOPING_TIMEZONE; every date and time a person reads is in this zone


class Environment(StrEnum):
    development = "development"
    production = "production"


class TaskRunner(StrEnum):
    serial = "serial"
    dask = "dask"


class SmtpSecurity(StrEnum):
    none = "none"
    starttls = "starttls"
    ssl = "ssl"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KAOPING_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Environment = Field(
        Environment.development,
        description="development | production; production refuses the default secret",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of kaoping's database; default: a SQLite file under var_dir",
    )
    var_dir: Path = Field(
        Path("var"),
        description="where kaoping keeps its own files: the SQLite database, received files",
    )
    data_dir: Path = Field(
        DATA_DIR,
        description="shipped reference data: catalogs, the unit registry, scoring policies",
    )
    inbox_dir: Path | None = Field(
        None, description="folder the office saves returned files into (default var_dir/inbox)"
    )
    prefect_deployment: str = Field(
        "半年考评/半年考评",
        description="the cycle flow's deployment, which the intake and reminder flows start when a cycle can move on",
    )
    timezone: str = Field(OFFICE_TIMEZONE, description="the office's time zone")
    secret_key: SecretStr = Field(
        SecretStr(DEFAULT_SECRET_KEY),
        description="HMAC key that signs outgoing documents; must be set in production",
    )
    previous_secret_keys: SecretStr = Field(
        SecretStr(""),
        description="keys used before a rotation (comma-separated): forms they signed are still recognised",
    )
    office_name: str = Field(
        "包头市人民政府办公室数字政府专班", description="the specialist team, as it signs forms and letters"
    )
    # The issuer of every 公文 (通报, 报告, 反馈函): one organ with a seal, its mark, number and signature agree.
    issuer_mark: str = Field("包头市人民政府办公室文件", description="发文机关标志 (red, at the head of the 通报 and 报告)")
    issuer_name: str = Field("包头市人民政府办公室", description="发文机关署名 (above the seal and the date)")
    issuer_aliases: list[str] = Field(["市政府办公室", "市人民政府办公室", "市政府办"],
                                      description="other names of the issuer, never listed in 抄送")
    doc_number_prefix: str = Field("包政办", description="代字 of the 通报 and 报告: 包政办〔2022〕5号")
    letter_number_prefix: str = Field("包政办函", description="代字 of the 反馈函 (函): 包政办函〔2022〕12号")
    report_signer: str = Field("×××", description="签发人 of the 报告 (上行文)")
    contact_office: str = Field("市政府办公室数字政府专班", description="联系人's office (附注 of every document)")
    contact_name: str = Field("×××", description="联系人 (附注)")
    contact_phone: str = Field("0472-0000000", description="联系电话 (附注)")
    tongbao_to: list[str] = Field(["各旗县区人民政府", "稀土高新区管委会", "市直各部门、各单位"],
                                  description="主送 of the 通报")
    tongbao_copy: list[str] = Field(["市委办公室", "市人大常委会办公室", "市政协办公室", "市纪委监委"],
                                    description="抄送 of the 通报 (the issuer and a 主送 are left out)")
    report_to: list[str] = Field(["市委", "市政府", "市纪委监委"], description="主送 of the 报告")
    report_copy: list[str] = Field(["市人大常委会办公室", "市政协办公室"],
                                   description="抄送 of the 报告 (the issuer and a 主送 are left out)")
    rectification_workdays: int = Field(20, description="working days after publication to report 整改情况 (反馈函)")
    form_deadline_days: int = Field(15, description="default days from issuing a form to its deadline")
    smtp_host: str = Field("localhost", description="SMTP server kaoping sends through")
    smtp_port: int = Field(25, description="SMTP port (587 for STARTTLS, 465 for SSL, 25 plain)")
    smtp_security: SmtpSecurity = Field(SmtpSecurity.none, description="none | starttls | ssl")
    smtp_user: str = Field("", description="SMTP AUTH user (empty: no AUTH)")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP AUTH password")
    smtp_timeout: float = Field(30.0, description="seconds before an SMTP call is given up and retried")
    smtp_verify_tls: bool = Field(True, description="verify the server certificate (STARTTLS/SSL)")
    smtp_ca_file: Path | None = Field(None, description="CA bundle for a server with a private certificate")
    smtp_attempts: int = Field(5, description="tries per message before it waits for the next run")
    smtp_retry_initial: float = Field(1.0, description="first backoff in seconds (doubles, with jitter)")
    smtp_retry_max: float = Field(60.0, description="longest backoff in seconds")
    smtp_connections: int = Field(2, ge=1, le=16, description="SMTP connections one sender keeps open at once "
                                  "(a bounded pool; the Prefect concurrency limit kaoping-smtp bounds the senders)")
    smtp_senders: int = Field(1, ge=1, le=16, description="senders at once across every worker and flow: the slots "
                              "of the Prefect global concurrency limit kaoping-smtp, made with this many if missing")
    smtp_claim_seconds: int = Field(900, ge=30, description="how long a sender's claim on the messages it delivers "
                                    "holds without news (a sender that died lets go after it)")
    mail_from: str = Field("kaoping@baotou.example", description="From address of every message")
    # The office mailbox (IMAP): when imap_host is set, the intake fetches returns from it instead of the folder.
    imap_host: str = Field("", description="IMAP server of the office mailbox (empty: the inbox folder is used)")
    imap_port: int | None = Field(None, description="IMAP port (default 143, or 993 with ssl)")
    imap_security: SmtpSecurity = Field(SmtpSecurity.starttls, description="none | starttls | ssl")
    imap_user: str = Field("", description="IMAP login")
    imap_password: SecretStr = Field(SecretStr(""), description="IMAP password")
    imap_folder: str = Field("INBOX", description="the folder returns arrive in")
    imap_processed_folder: str = Field("考评已录入", description="where a message goes once everything in it was recorded")
    imap_refused_folder: str = Field("考评未录入", description="where a message goes when something in it was refused, "
                                     "held, or it carried no form")
    imap_timeout: float = Field(30.0, description="seconds before an IMAP call is given up")
    imap_verify_tls: bool = Field(True, description="verify the IMAP server certificate (STARTTLS/SSL)")
    imap_ca_file: Path | None = Field(None, description="CA bundle for an IMAP server with a private certificate")
    imap_batch: int = Field(200, description="messages taken per run at most (the rest wait for the next run)")
    mail_authserv_id: str = Field(
        "", description="the authserv-id the office's receiving mail server writes in Authentication-Results (usually its "
                        "host name): set, a message it does not vouch for (SPF/DKIM/DMARC) is held for the team")
    verifier_name: str = Field("专班负责人", description="who signs the verification for the specialist team")
    verifier_email: str = Field("zhuanban-fzr@baotou.example", description="where the verification code is sent")
    approver_name: str = Field("分管领导", description="who approves the results (分管领导)")
    approver_email: str = Field("fenguan@baotou.example", description="where the approval code is sent")
    signoff_code_hours: int = Field(72, description="hours a sign-off code stays valid")
    signoff_requests_per_day: int = Field(3, description="sign-off requests (codes sent) per cycle and stage in 24 hours")
    leadership_emails: Annotated[list[str], NoDecode] = Field(
        ["shiwei@baotou.example", "shizhengfu@baotou.example", "jiwei@baotou.example"],
        description="市委、市政府、市纪委监委: who receives the 报告 and 通报",
    )
    remind_before: Annotated[list[int], NoDecode] = Field([3, 1, 0], description="working days before a deadline to remind (0 = the day)")
    escalate_every: int = Field(2, description="after a deadline: overdue notice and escalation every N working days")
    third_party_email: str = Field("pinggu@evaluator.example", description="the third-party evaluator")
    opinion_email: str = Field("minyi@survey.example", description="who runs the public-opinion survey")
    third_party_name: str = Field("第三方评估机构", description="the evaluator's name: how its emails open (XX公司：)")
    opinion_name: str = Field("民意调查承办单位", description="the survey office's name: how its emails open")
    office_email: str = Field("zhuanban@baotou.example", description="the specialist team, copied on escalations")
    audit_anchor_copy: Path | None = Field(
        None, description="a second place every audit anchor is appended to, off this machine (a folder or file on a "
                          "share or another server): a log cut or re-sealed here still differs from it")
    actor: str = Field(
        "",
        description="who is operating the CLI, recorded in the audit log (default: OS user)",
    )
    # Issue 29: the pure work of a stage (building forms and letters, reading returned files) on Dask through
    # prefect-dask (``pip install kaoping[scale]``); database writes, numbers and the audit chain stay in the run.
    task_runner: TaskRunner = Field(TaskRunner.serial, description="serial | dask: where the cycle's and the intake's pure "
                                    "work runs (dask needs the extra kaoping[scale])")
    dask_address: str = Field("", description="address of an existing Dask scheduler (tcp://host:8786); empty: a "
                              "LocalCluster of dask_workers processes for each flow run")
    dask_workers: int = Field(2, ge=1, le=64, description="worker processes of the LocalCluster (without dask_address)")
    dask_batch: int = Field(20, ge=1, le=1000, description="items (forms, letters, files) per Dask task")

    @property
    def form_keys(self) -> list[bytes]:
        """The current key first, then the keys of before a rotation (KAOPING_PREVIOUS_SECRET_KEYS)."""
        previous = [k.strip() for k in self.previous_secret_keys.get_secret_value().replace("，", ",").split(",")]
        return [self.secret_key.get_secret_value().encode("utf-8"), *(k.encode("utf-8") for k in previous if k)]

    @property
    def audit_keys(self) -> list[bytes]:
        """The keys an audit entry may be sealed with: the current one, then those of before a rotation —
        never the public development key unless it is the current one (anyone could re-seal with it)."""
        public = DEFAULT_SECRET_KEY.encode("utf-8")
        current, *previous = self.form_keys
        return [current, *(k for k in previous if k != public)]

    @field_validator("remind_before", "leadership_emails", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        """Lists from the environment as ``3,1,0`` (or JSON ``[3, 1, 0]``; full-width commas too)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                try:
                    return json.loads(text)
                except ValueError:
                    pass
            return [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_kaoping_can_use(cls, value: str) -> str:
        """A URL kaoping can open: SQLite, or PostgreSQL through psycopg (version 3, installed with
        kaoping). Each other shape is refused naming what to write instead (never with the password)."""
        return check_database_url(value)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if (
            self.environment is Environment.production
            and self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
        ):
            raise ValueError(
                "生产环境不能使用默认密钥：请设置环境变量 KAOPING_SECRET_KEY 为一个足够长的随机字符串"
                "（例如 `python -c 'import secrets; print(secrets.token_urlsafe(48))'` 的输出）。"
                " / Refusing to start in production with the default secret key: set KAOPING_SECRET_KEY."
            )
        if len(self.secret_key.get_secret_value()) < 16:
            raise ValueError(
                "KAOPING_SECRET_KEY 太短（至少 16 个字符）。 / KAOPING_SECRET_KEY must have at least 16 characters."
            )
        self._check_imap()
        try:
            ZoneInfo(self.timezone)
        except Exception as exc:  # ZoneInfoNotFoundError or ValueError
            raise ValueError(f"未知时区 KAOPING_TIMEZONE={self.timezone!r}，例如应为 Asia/Shanghai。") from exc
        return self

    def _check_imap(self) -> None:
        """The office mailbox's settings, checked together when KAOPING_IMAP_HOST is set."""
        if not self.imap_enabled:
            return
        if self.imap_port is not None and not 0 < self.imap_port < 65536:
            raise ValueError(f"KAOPING_IMAP_PORT={self.imap_port} 无效：应为 1–65535 的端口号（通常 143 或 993）。")
        if not self.imap_user.strip():
            raise ValueError("设置了 KAOPING_IMAP_HOST 但没有 KAOPING_IMAP_USER：请填写专用邮箱的登录名（及 KAOPING_IMAP_PASSWORD）。"
                             " / KAOPING_IMAP_USER is required with KAOPING_IMAP_HOST.")
        folders = {"KAOPING_IMAP_FOLDER": self.imap_folder, "KAOPING_IMAP_PROCESSED_FOLDER": self.imap_processed_folder,
                   "KAOPING_IMAP_REFUSED_FOLDER": self.imap_refused_folder}
        for name, value in folders.items():
            if not value.strip():
                raise ValueError(f"{name} 不能为空：请填写邮箱中的文件夹名。")
        if len({v.strip().lower() for v in folders.values()}) < 3:
            raise ValueError("KAOPING_IMAP_FOLDER、KAOPING_IMAP_PROCESSED_FOLDER 和 KAOPING_IMAP_REFUSED_FOLDER 必须是三个不同的文件夹"
                             "（处理过的邮件要移出收件文件夹）。 / The three IMAP folders must differ.")

    @property
    def uses_development_secret(self) -> bool:
        return self.secret_key.get_secret_value() == DEFAULT_SECRET_KEY

    @property
    def development_declared(self) -> bool:
        """``KAOPING_ENVIRONMENT=development`` set explicitly (not the default)."""
        return self.environment is Environment.development and "environment" in self.model_fields_set

    @property
    def development_secret_refused(self) -> bool:
        """The built-in secret may sign nothing that leaves the machine (forms, emails) unless
        development was declared explicitly: anyone who read this file could forge with it."""
        return self.uses_development_secret and not self.development_declared

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'kaoping.sqlite3').resolve()}"

    @property
    def received_dir(self) -> Path:
        """Every file anyone sends kaoping is kept here, by content hash."""
        return self.var_dir / "received"

    @property
    def forms_dir(self) -> Path:
        """A copy of every form kaoping issued, by form number."""
        return self.var_dir / "forms"

    @property
    def effective_inbox_dir(self) -> Path:
        return self.inbox_dir or self.var_dir / "inbox"

    @property
    def imap_enabled(self) -> bool:
        """Returns come in over IMAP (``KAOPING_IMAP_HOST`` set), else through the inbox folder."""
        return bool(self.imap_host.strip())

    @property
    def effective_imap_port(self) -> int:
        return self.imap_port or (993 if self.imap_security is SmtpSecurity.ssl else 143)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _without_password(url: str) -> str:
    """``user:***@host``: the password of a URL (or of something meant as one) is never printed."""
    return re.sub(r"^((?:[A-Za-z][A-Za-z0-9+.\-]*://)?[^:/@]*):[^@/]*@", r"\1:***@", url)


def check_database_url(value: str) -> str:
    """``KAOPING_DATABASE_URL`` as given, if kaoping can use it; else a ``ValueError`` in one line
    naming the shape that is wrong and the one to write (see ``database_url``)."""
    url = value.strip()
    if not url:
        return ""
    shown = _without_password(url)
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*)://", url)
    if match is None:
        raise ValueError(f"KAOPING_DATABASE_URL=“{shown}”不是数据库地址：应写成 postgresql+psycopg://用户名:密码@主机:5432/数据库名"
                         "（或留空，使用 var/ 下的 SQLite 文件）。")
    scheme = match.group(1).lower()
    dialect, _, driver = scheme.partition("+")
    rest = url[match.end():]
    if dialect == "sqlite" and driver in ("", "pysqlite"):
        return url
    if dialect in ("postgresql", "postgres", "pgsql") and driver != "psycopg":
        fixed = _without_password(f"postgresql+psycopg://{rest}")
        why = (f"驱动 {driver} 没有随 kaoping 安装" if driver else "没有写明驱动") if dialect != "postgres" else "“postgres://”不是 SQLAlchemy 的写法"
        raise ValueError(f"KAOPING_DATABASE_URL 以“{scheme}://”开头：{why}；kaoping 通过 psycopg（第 3 版）连接 PostgreSQL，"
                         f"请写成 {fixed}")
    if dialect == "postgresql":
        return url
    raise ValueError(f"KAOPING_DATABASE_URL 指向 {dialect} 数据库（{shown}）：kaoping 只支持 PostgreSQL（及兼容的 KingbaseES、"
                     "openGauss）和 SQLite。请写成 postgresql+psycopg://用户名:密码@主机:5432/数据库名。")


# --------------------------------------------------------------------------- placeholders

#: Domains reserved for examples and tests (RFC 2606, RFC 6761): no mailbox a person reads is on them.
EXAMPLE_DOMAINS = ("example", "example.com", "example.net", "example.org", "test", "invalid", "localhost")
#: What a setting still at a shipped placeholder looks like: ×××, a phone of zeros.
_PLACEHOLDER_TEXT = re.compile(r"×{2,}|X{3,}|x{3,}|某某|0{7}|<[^<>]+>")  # … and the <…> of deploy/env/*.example
#: What the 公文 themselves print (通报, 报告, 反馈函), and where the 报告 goes: publishing refuses
#: placeholders among these (``placeholders(settings, DOCUMENT_SETTINGS)``).
DOCUMENT_SETTINGS = ("office_name", "issuer_mark", "issuer_name", "doc_number_prefix", "letter_number_prefix",
                     "report_signer", "contact_office", "contact_name", "contact_phone", "tongbao_to", "tongbao_copy",
                     "report_to", "report_copy", "leadership_emails")
#: What each setting is, as people call it (for the refusal and `kaoping doctor`).
SETTING_LABELS = {
    "secret_key": "密钥", "report_signer": "报告的签发人", "contact_name": "公文附注的联系人", "contact_phone": "公文附注的联系电话",
    "contact_office": "公文附注的联系处室", "office_name": "专班名称", "issuer_name": "发文机关署名", "issuer_mark": "发文机关标志",
    "mail_from": "发件地址，即专用邮箱", "office_email": "专班邮箱", "verifier_email": "专班负责人（核实签字人）的邮箱",
    "approver_email": "分管领导（审定签字人）的邮箱", "leadership_emails": "市委、市政府、市纪委监委的收件邮箱",
    "third_party_email": "第三方评估机构的邮箱", "opinion_email": "民意调查机构的邮箱", "third_party_name": "第三方评估机构的名称",
    "opinion_name": "民意调查承办单位的名称", "verifier_name": "专班负责人",
    "approver_name": "分管领导", "imap_user": "专用邮箱的登录名",
}


def is_example_address(address: str) -> bool:
    """An address on a domain reserved for examples (baotou.example, evaluator.example, x.test …)."""
    domain = address.strip().lower().rpartition("@")[2].rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in EXAMPLE_DOMAINS)


@dataclass(frozen=True)
class Placeholder:
    """A setting still at a placeholder or example value: which variable, what it holds, what it is."""

    name: str  # the field, e.g. report_signer
    value: str  # what it holds, shown (never a secret)
    why: str  # 仍是占位符 / 示例地址 / 内置开发密钥

    @property
    def variable(self) -> str:
        return f"KAOPING_{self.name.upper()}"

    @property
    def label(self) -> str:
        return SETTING_LABELS.get(self.name, self.name)

    def __str__(self) -> str:
        return f"{self.variable}（{self.label}）{self.why}：{self.value}"


def placeholders(settings: "Settings", names: tuple[str, ...] | None = None) -> list[Placeholder]:
    """Every setting (or every one of ``names``) still at a placeholder or example value — ×××,
    0472-0000000, an address on baotou.example or another reserved domain, the built-in development
    secret. What `kaoping doctor` lists and what production's publishing refuses."""
    found: list[Placeholder] = []
    chosen = names or tuple(type(settings).model_fields)
    if "secret_key" in chosen and settings.uses_development_secret:
        found.append(Placeholder("secret_key", "（内置开发密钥，公开在源代码中）", "仍是内置开发密钥"))
    for name in chosen:
        value = getattr(settings, name, None)
        if name == "secret_key" or "password" in name or "secret" in name:
            continue
        values = value if isinstance(value, list) else [value]
        texts = [v for v in values if isinstance(v, str)]
        if not texts:
            continue
        examples = [t for t in texts if "@" in t and is_example_address(t)]
        if examples:
            found.append(Placeholder(name, "、".join(examples), "仍是示例地址"))
        elif any(_PLACEHOLDER_TEXT.search(t) for t in texts):
            found.append(Placeholder(name, "、".join(texts), "仍是占位符"))
    return found


#: How a setting is written, for the refusal that names a variable set wrongly.
EXPECTED = {
    "environment": "development 或 production",
    "smtp_port": "端口号（整数），例如 KAOPING_SMTP_PORT=587",
    "smtp_security": "none、starttls 或 ssl",
    "smtp_timeout": "秒数，例如 KAOPING_SMTP_TIMEOUT=30",
    "smtp_verify_tls": "true 或 false",
    "smtp_attempts": "整数，例如 5",
    "smtp_connections": "1 到 16 的整数，例如 2",
    "smtp_claim_seconds": "不少于 30 的秒数，例如 900",
    "smtp_senders": "1 到 16 的整数，例如 1",
    "imap_port": "端口号（整数），例如 KAOPING_IMAP_PORT=993",
    "imap_security": "none、starttls 或 ssl",
    "imap_timeout": "秒数，例如 KAOPING_IMAP_TIMEOUT=30",
    "imap_verify_tls": "true 或 false",
    "imap_batch": "整数，例如 200",
    "smtp_retry_initial": "秒数，例如 1.0",
    "smtp_retry_max": "秒数，例如 60",
    "remind_before": "逗号分隔的工作日数，例如 KAOPING_REMIND_BEFORE='3,1,0'",
    "leadership_emails": "逗号分隔的邮箱，例如 KAOPING_LEADERSHIP_EMAILS='a@x.gov.cn,b@x.gov.cn'",
    "escalate_every": "整数（工作日），例如 2",
    "form_deadline_days": "整数（天），例如 15",
    "signoff_code_hours": "整数（小时），例如 72",
    "signoff_requests_per_day": "整数，例如 3",
    "database_url": "SQLAlchemy 地址，例如 postgresql+psycopg://user:pw@host/db",
    "timezone": "时区名，例如 Asia/Shanghai",
}


def describe_settings_error(exc: Exception) -> str:
    """A refusal that names each ``KAOPING_…`` variable set wrongly, what it holds and how it is written."""
    if isinstance(exc, SettingsError):
        match = re.search(r'field "(\w+)"', str(exc))
        name = match.group(1) if match else ""
        hint = EXPECTED.get(name, "")
        return (f"环境变量 KAOPING_{name.upper()} 的值无法解析" + (f"：应为{hint}" if hint else "") +
                f"。 / KAOPING_{name.upper()} cannot be parsed.")
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            loc = [str(x) for x in error.get("loc", ())]
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            if not loc:  # a model-level rule (secret, time zone): its message names the variable
                parts.append(message)
                continue
            name = loc[0]
            if message.startswith(f"KAOPING_{str(name).upper()}"):  # the rule's own message names it (and hides secrets)
                parts.append(message)
                continue
            shown = error.get("input")
            hint = EXPECTED.get(name, "")
            parts.append(f"环境变量 KAOPING_{name.upper()}" + (f"（第 {int(loc[1]) + 1} 项）" if len(loc) > 1 and loc[1].isdigit() else "")
                         + (f"={shown!r}" if isinstance(shown, str | int | float) and "secret" not in name
                            and "password" not in name else "")
                         + f" 无效（{message}）" + (f"：应为{hint}" if hint else "") + "。")
        return "；".join(parts)
    return str(exc)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process (read once). Tests build their own ``Settings(...)``."""
    return Settings()
