"""Production publishes nothing that carries a placeholder (签发人 ×××, 联系人 ×××, 0472-0000000,
the 报告 addressed to baotou.example …): the settings still at a shipped placeholder or example value
are found by ``kaoping.settings.placeholders`` — the same list `kaoping doctor` shows — and named in
the refusal, before a number is taken or a file written. Drafts and emails print a setting through
``filled``: its value; still at a placeholder, a plain 【待填：联系人】 in development (the demo, a trial)
and, in production, a refusal naming the setting to fill."""

from __future__ import annotations

from kaoping.domain.errors import Conflict
from kaoping.settings import DOCUMENT_SETTINGS, Environment, Settings, placeholders

#: What a draft prints where a setting is not filled in yet (development only): 【待填：联系人】.
BLANK_LABELS = {"contact_name": "联系人", "contact_phone": "联系电话", "contact_office": "联系处室", "report_signer": "签发人",
                "office_email": "专班邮箱", "issuer_name": "发文机关署名", "issuer_mark": "发文机关标志", "office_name": "专班名称"}
#: What the draft documents (通报, 报告, 反馈函 before publication) print of the settings.
DRAFT_SETTINGS = ("office_name", "issuer_mark", "issuer_name", "report_signer", "contact_office", "contact_name",
                  "contact_phone", "office_email", "tongbao_to", "tongbao_copy", "report_to", "report_copy")


def refuse_placeholders(settings: Settings, what: str, names: tuple[str, ...] = DOCUMENT_SETTINGS) -> None:
    """In production, a refusal naming every setting among ``names`` still at a placeholder, which
    ``what`` (e.g. 印发通报、报告和反馈函) would print or send. Development (the demo) goes on."""
    if settings.environment is not Environment.production:
        return
    found = placeholders(settings, names)
    if found:
        raise Conflict(f"{what}会带出尚未填写的设置，未作任何处理：" + "；".join(str(p) for p in found)
                       + "。请在 kaoping 的环境变量（或 .env）中填写真实内容后重试；`kaoping doctor` 列出所有仍为示例的设置。"
                       " / Settings still at a placeholder: " + ", ".join(p.variable for p in found))


def filled(settings: Settings, name: str, what: str = "发出") -> str:
    """The setting ``name`` as a draft or an email prints it: its value when filled in; still at a
    placeholder (×××, 0472-0000000, an example address), 【待填：联系人】 in development, and in
    production a refusal naming the variable (``what``: what would have printed it)."""
    if placeholders(settings, (name,)):
        refuse_placeholders(settings, what, (name,))
        return f"【待填：{BLANK_LABELS.get(name, name)}】"
    value = getattr(settings, name)
    return "、".join(map(str, value)) if isinstance(value, list) else str(value)
