"""Fixtures for the CLI smoke tests: an initialized database (tests/conftest.py) with 2022H1 open."""

from __future__ import annotations

import pytest

from kaoping import db


@pytest.fixture
def database_url(tmp_path):
    """SQLite only: these tests are about the commands (arguments, output, exit codes); the
    services they call are tested on both backends in tests/services."""
    url = f"sqlite:///{tmp_path / 'kaoping.sqlite3'}"
    yield url
    db.dispose_engine(url)


@pytest.fixture
def opened(initialized):
    """`kaoping init` then `kaoping cycle open 2022H1`."""
    result = initialized("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试：沿用默认承担规则")
    assert result.exit_code == 0, result.output
    return initialized


def refused(result, *words: str) -> bool:
    """A refusal as people see it: non-zero exit, the words given, no traceback."""
    return result.exit_code != 0 and all(w in result.output for w in words) and "Traceback" not in result.output
