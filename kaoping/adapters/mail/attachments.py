"""Where the outbox keeps the bytes of attachments: by content hash, written once."""

from __future__ import annotations

from pathlib import Path

from kaoping.settings import Settings


def attachment_path(settings: Settings, sha256: str) -> Path:
    return settings.var_dir / "outbox" / sha256[:2] / sha256
