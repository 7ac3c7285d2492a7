"""Fixtures the abuse tests share (besides tests/conftest.py's): a real, small, full disk."""

from __future__ import annotations

import subprocess

import pytest


@pytest.fixture
def full_disk(tmp_path):
    """A real file system of 3 MB (tmpfs), filled to the last few KB: writes fail with ENOSPC."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
