"""`kaoping audit …` (kaoping/cli/audit.py)."""

from __future__ import annotations


def test_verify_and_log(initialized):
    verified = initialized("audit", "verify")
    assert verified.exit_code == 0 and "审计日志完整" in verified.output
    log = initialized("audit", "log", "--limit", "2")
    assert log.exit_code == 0 and "catalog" in log.output
