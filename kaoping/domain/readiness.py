"""What `kaoping doctor` reports: one line per thing a cycle needs, ✔ ready, ! worth a look,
✘ blocks a cycle — each with what is wrong and what to do. The checks themselves live where
what they look at lives (settings, database, mail, Prefect); this is their common shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    ok = "ok"
    warn = "warn"  # works, but worth a look (a weak secret, plain SMTP on the office network …)
    fail = "fail"  # the first real cycle would fail or publish something wrong

    @property
    def mark(self) -> str:
        return {"ok": "✔", "warn": "!", "fail": "✘"}[self.value]


@dataclass
class Check:
    """One line of the checklist: ``title`` — ``summary``; ``details`` under it; ``fix``: what to do."""

    area: str  # 设置 / 数据库 / 邮件 / Prefect / 本机
    title: str
    status: Status
    summary: str
    details: list[str] = field(default_factory=list)
    fix: str = ""

    @classmethod
    def ok(cls, area: str, title: str, summary: str, details: list[str] | None = None) -> Check:
        return cls(area, title, Status.ok, summary, list(details or []))

    @classmethod
    def warn(cls, area: str, title: str, summary: str, fix: str = "", details: list[str] | None = None) -> Check:
        return cls(area, title, Status.warn, summary, list(details or []), fix)

    @classmethod
    def fail(cls, area: str, title: str, summary: str, fix: str = "", details: list[str] | None = None) -> Check:
        return cls(area, title, Status.fail, summary, list(details or []), fix)


def blocking(checks: list[Check]) -> list[Check]:
    """The checks that stop a cycle (✘)."""
    return [c for c in checks if c.status is Status.fail]
