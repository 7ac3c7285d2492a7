"""What the CLI tests share besides the fixtures of tests/conftest.py (`cli`, `initialized`, `cycle_cli`):
how a refusal looks. These tests run on SQLite only unless their module names some in ``BOTH_BACKENDS``
(``SQLITE_ONLY_FOLDERS`` in tests/conftest.py)."""

from __future__ import annotations


def refused(result, *words: str) -> bool:
    """A refusal as people see it: non-zero exit, the words given, no traceback."""
    return result.exit_code != 0 and all(w in result.output for w in words) and "Traceback" not in result.output
