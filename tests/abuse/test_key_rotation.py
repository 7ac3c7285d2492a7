"""A changed KAOPING_SECRET_KEY is a key matter, not a forgery: forms signed with a key listed in
KAOPING_PREVIOUS_SECRET_KEYS are recognised; an issued form whose signature no known key makes is
held for the team (no refusal to the unit), and released once the old key is listed."""

from __future__ import annotations

from kaoping.models import FormKind
from pydantic import SecretStr

from kaoping.services.returns.intake import receive_path, release_held
from tests.factories import build, fill_all_progress

OLD = "the-key-the-forms-were-signed-with-0001"
NEW = "the-key-after-the-rotation-000000000002"
LIAISON = "liaison@150202.baotou.example"


def test_forms_signed_before_a_rotation(initialized, settings, tmp_path):
    assert initialized("cycle", "open", "2022H1", "--accept-default-responsibilities", "测试").exit_code == 0
    old = settings.model_copy(update={"secret_key": SecretStr(OLD)})
    [path] = build(old, FormKind.self_assessment, tmp_path, "150202")
    filled = fill_all_progress(path, tmp_path / "dh.docx")

    rotated = settings.model_copy(update={"secret_key": SecretStr(NEW)})
    held = receive_path(rotated, filled, sender=LIAISON)
    assert not held.accepted and held.held
    assert "签名与当前密钥不符" in held.reason and "KAOPING_PREVIOUS_SECRET_KEYS" in held.reason

    # The team lists the old key and releases the file: recognised and recorded.
    listed = rotated.model_copy(update={"previous_secret_keys": SecretStr(f"{OLD}, another-old-key")})
    released = release_held(listed, held.received_file_id, actor="test:运维")
    assert released.accepted, released.reason
    again = receive_path(listed, filled, sender=LIAISON)
    assert again.accepted  # an identical re-send: recognised, nothing changes
