"""Issue 25 item 2: the deployment kit (deploy/) is checked here, not only read.

The systemd units pass `systemd-analyze verify` (with the install prefix /opt/kaoping pointed at
this checkout's virtual environment: the commands they run must exist); every service runs as an
unprivileged user of its own with its environment file and cannot gain privileges; the example
environment files name only settings that exist, and — until filled in — are what `kaoping doctor`
flags, while the same files filled in are accepted."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kaoping.settings import Settings, placeholders

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
ENV = ROOT / "deploy" / "env"
SERVICES = ("prefect-server.service", "kaoping-worker@.service", "kaoping-backup.service")


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name, encoding="utf-8")
    return parser


@pytest.fixture
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed: apt-get install systemd (.ci/run does)")
    probe = subprocess.run([found, "--version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"systemd-analyze cannot run in this container: {probe.stderr.strip()}")
    return found


def test_the_units_pass_systemd_analyze_verify(systemd_analyze, tmp_path):
    prefix = tmp_path / "opt-kaoping"
    (prefix / ".venv" / "bin").mkdir(parents=True)
    for command in ("prefect", "kaoping"):
        (prefix / ".venv" / "bin" / command).symlink_to(Path(sys.executable).parent / command)
    folder = tmp_path / "units"
    folder.mkdir()
    for path in UNITS.iterdir():
        (folder / path.name).write_text(path.read_text(encoding="utf-8").replace("/opt/kaoping", str(prefix)),
                                        encoding="utf-8")
    names = ["prefect-server.service", "kaoping-worker@1.service", "kaoping-worker@2.service", "kaoping-backup.service",
             "kaoping-backup.timer"]
    result = subprocess.run([systemd_analyze, "verify", *names], cwd=folder, capture_output=True, text=True, timeout=120)
    ours = [line for line in (result.stdout + result.stderr).splitlines()
            if any(n.split("@")[0] in line for n in names)]
    assert result.returncode == 0 and ours == [], result.stdout + result.stderr

    broken = folder / "kaoping-worker@.service"  # the check itself bites: a mistyped option is reported
    broken.write_text(broken.read_text(encoding="utf-8").replace("ProtectSystem=strict", "ProtectSystem=strictly"),
                      encoding="utf-8")
    again = subprocess.run([systemd_analyze, "verify", "kaoping-worker@1.service"], cwd=folder, capture_output=True,
                           text=True, timeout=120)
    assert "kaoping-worker@.service:" in again.stderr and "strictly" in again.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_runs_unprivileged_with_its_environment_file(name):
    service = unit(name)["Service"]
    assert service.get("User") not in (None, "", "root") and service.get("Group") not in (None, "", "root")
    assert service.get("EnvironmentFile", "").startswith("/etc/kaoping/")
    assert service.get("NoNewPrivileges") == "yes" and service.get("ProtectSystem") == "strict"
    assert service.get("CapabilityBoundingSet") == "" and service.get("UMask") == "0077"
    assert service.get("ReadWritePaths")  # the only places it may write


def test_the_prefect_server_listens_on_loopback_only():
    command = unit("prefect-server.service")["Service"]["ExecStart"]
    assert "--host 127.0.0.1" in command  # reached through the TLS reverse proxy, never directly


def test_the_workers_python_is_the_one_its_pool_command_starts():
    """The pool's job runs ``python -m prefect.engine`` (kaoping-work-pool.json): the first ``python`` on the worker's
    PATH must be the interpreter of the virtual environment its ``prefect`` comes from."""
    from kaoping.adapters.prefect_server import ENGINE_COMMAND, WORK_POOL_TEMPLATE

    assert json.loads(WORK_POOL_TEMPLATE.read_text())["job_configuration"]["command"] == ENGINE_COMMAND
    # On the command line (``env PATH=…``): a PATH in the environment file would override an ``Environment=`` line.
    env, path, executable, *_ = unit("kaoping-worker@.service")["Service"]["ExecStart"].split()
    assert env == "/usr/bin/env" and path.startswith("PATH=") and executable.endswith("/prefect")
    assert ENGINE_COMMAND.split()[0] == "python" and path.removeprefix("PATH=").split(":")[0] == str(Path(executable).parent)


def _variables(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_the_example_environment_files_name_only_real_settings():
    import prefect.settings

    fields = set(Settings.model_fields)
    for path in ENV.glob("*.example"):
        for variable in _variables(path):
            if variable.startswith("KAOPING_"):
                assert variable.removeprefix("KAOPING_").lower() in fields, f"{path.name}: {variable}"
            else:
                assert variable.startswith("PREFECT_") and hasattr(prefect.settings, variable), f"{path.name}: {variable}"


def _settings(values: dict[str, str]) -> Settings:
    return Settings(_env_file=None, **{k.removeprefix("KAOPING_").lower(): v for k, v in values.items()
                                       if k.startswith("KAOPING_")})


def test_the_worker_example_is_flagged_until_filled_in_and_accepted_once_filled():
    values = _variables(ENV / "kaoping.env.example")
    found = {p.variable for p in placeholders(_settings(values))}
    for variable in ("KAOPING_REPORT_SIGNER", "KAOPING_CONTACT_NAME", "KAOPING_VERIFIER_EMAIL", "KAOPING_APPROVER_EMAIL",
                     "KAOPING_LEADERSHIP_EMAILS", "KAOPING_SMTP_HOST", "KAOPING_MAIL_FROM"):
        assert variable in found, variable
    filled = {k: re.sub(r"<[^<>]*>", lambda m: _a_value(k), v) for k, v in values.items()}
    settings = _settings(filled)
    assert placeholders(settings) == []
    assert settings.environment.value == "production" and settings.imap_enabled


def _a_value(variable: str) -> str:
    if variable.endswith(("EMAIL", "EMAILS", "MAIL_FROM", "_USER")):
        return "kaopingshoujian@baotou.gov.cn"
    if variable == "KAOPING_SECRET_KEY":
        return "s" * 48
    if variable == "KAOPING_CONTACT_PHONE":
        return "0472-5123456"
    return "filled"
