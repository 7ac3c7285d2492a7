"""Production publishes nothing that carries a placeholder (签发人 ×××, 联系人 ×××, 0472-0000000,
the 报告 addressed to baotou.example …): the settings still at a shipped placeholder or example value
are found by ``kaoping.settings.placeholders`` — the same list `kaoping doctor` shows — and named in
the refusal, before a number is taken or a file written."""

from __future__ import annotations

from kaoping.domain.errors import Conflict
from kaoping.settings import DOCUMENT_SETTINGS, Environment, Settings, placeholders


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
