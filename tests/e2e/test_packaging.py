"""What `pip install .` (not editable) puts into site-packages, and that it runs without the checkout.

flows/, models/, notifications/ and templates/ sit at the repository's top level but install inside
``kaoping`` (setup.py); a wheel must carry them, the shipped data, the migrations and prefect.yaml,
and nothing else at the top level (no ``models`` or ``flows`` of ours to clash with another project's).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # A copy of the tracked files, so the build leaves nothing (build/, *.egg-info) in the checkout.
    source = tmp_path_factory.mktemp("source")
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((REPO / name).read_bytes())
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("kaoping-*.whl")
    return built


def test_the_wheel_holds_only_kaoping_with_its_templates_data_migrations_and_deployments(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("kaoping-")}
    assert top == {"kaoping"}, top
    for expected in ("kaoping/flows/cycle.py", "kaoping/models/cycle.py", "kaoping/notifications/delivery.py",
                     "kaoping/notifications/mail/smtp.py", "kaoping/templates/email/reminder.txt.j2",
                     "kaoping/templates/reports/tongbao.txt.j2", "kaoping/data/catalogs/2022.json",
                     "kaoping/data/policies/default.yaml", "kaoping/data/registry/baotou.yaml",
                     "kaoping/migrations/alembic.ini", "kaoping/migrations/versions/0001_foundation.py",
                     "kaoping/prefect.yaml", "kaoping/services/returns/intake.py", "kaoping/records/audit.py"):
        assert expected in names, expected
    # Every package of the checkout is in the wheel (a folder forgotten by setup.py would be missing here).
    for folder, package in (("flows", "kaoping/flows"), ("models", "kaoping/models"),
                            ("notifications", "kaoping/notifications"), ("kaoping", "kaoping")):
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.relative_to(REPO / folder).as_posix()
            assert f"{package}/{relative}" in names, f"{folder}/{relative} is not in the wheel"


def test_the_installed_package_initialises_a_database_away_from_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "office"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAOPING_")}
    env |= {"PYTHONPATH": str(target), "KAOPING_VAR_DIR": str(work / "var")}
    script = ("import kaoping, kaoping.flows, kaoping.templates\n"
              "from kaoping.adapters.prefect_server import deployment_home\n"
              "print(kaoping.__file__); print(kaoping.templates.EMAIL); print(deployment_home())\n"
              "from kaoping.cli import app\n"
              "app(['init'])\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    package, templates, home = done.stdout.splitlines()[:3]
    assert package.startswith(str(target)) and templates.startswith(str(target)), done.stdout
    assert (Path(home) / "prefect.yaml").is_file() and (Path(home) / "flows" / "cycle.py").is_file()
    assert "已装入 2022 年考评指标：90 项" in done.stdout
    assert (work / "var" / "kaoping.sqlite3").is_file()
