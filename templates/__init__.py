"""Jinja2 templates (package data: they install with kaoping): ``email/`` — one text and one HTML
template per kind of message; ``reports/`` — the words of the 通报, 报告 and 反馈函."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
EMAIL = HERE / "email"
REPORTS = HERE / "reports"
