"""Settings (kaoping/settings.py): from the environment and .env, validated; production refuses the
built-in secret. (A command run with it: tests/cli/test_setup.py.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kaoping.settings import DEFAULT_SECRET_KEY, Settings


def test_production_refuses_the_default_secret(tmp_path):
    with pytest.raises(ValidationError, match="KAOPING_SECRET_KEY"):
        Settings(environment="production", _env_file=None)
    ok = Settings(environment="production", secret_key="x" * 40, _env_file=None)
    assert ok.secret_key.get_secret_value() != DEFAULT_SECRET_KEY


def test_settings_from_env_and_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("KAOPING_TIMEZONE=Asia/Urumqi\nKAOPING_VAR_DIR=/srv/kaoping\n", encoding="utf-8")
    monkeypatch.setenv("KAOPING_VAR_DIR", str(tmp_path / "from-env"))
    s = Settings()
    assert s.timezone == "Asia/Urumqi"  # from .env
    assert s.var_dir == tmp_path / "from-env"  # the environment wins over .env
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'from-env' / 'kaoping.sqlite3'}"
    with pytest.raises(ValidationError, match="时区"):
        Settings(timezone="Mars/Olympus", _env_file=None)
