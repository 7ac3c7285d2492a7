"""The signed identity every outgoing form carries (表单标识).

Stored as custom document properties (File → Properties → Custom in Word; kept when the
file is edited and saved in Word or WPS) and signed with HMAC-SHA256 under the
deployment's secret, so a returned file is recognised without anyone retyping anything,
and a forged or altered identity is refused. The signature also covers a digest of the
form's identity cells (indicator numbers, unit names, points), so rows added, removed,
reordered or edited are noticed even before the stored copy is consulted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass

from docxcompose.properties import CustomProperties

from kaoping.adapters.word.writer import add_custom_properties

PREFIX = "kaoping."


@dataclass(frozen=True)
class FormIdentity:
    cycle: str
    kind: str
    subject: str
    version: int
    form_no: str
    rows_digest: str

    def payload(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def rows_digest(rows: list[list[str]]) -> str:
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def sign(identity: FormIdentity, key: bytes) -> str:
    return hmac.new(key, identity.payload(), hashlib.sha256).hexdigest()


def verify(identity: FormIdentity, signature: str, key: bytes) -> bool:
    return hmac.compare_digest(sign(identity, key), signature or "")


def write_identity(document, identity: FormIdentity, key: bytes) -> None:
    values = {PREFIX + name: str(value) for name, value in asdict(identity).items()}
    values[PREFIX + "signature"] = sign(identity, key)
    if add_custom_properties(document, values):  # a new form: the part written at once
        return
    props = CustomProperties(document)
    for name, value in values.items():
        props[name] = value


def read_identity(document) -> tuple[FormIdentity | None, str]:
    """The identity and signature found in a document (None when it carries none)."""
    try:
        props = dict(CustomProperties(document).items())
    except Exception:  # a damaged custom.xml part
        return None, ""
    return identity_from_properties(props)


def identity_from_properties(props: dict) -> tuple[FormIdentity | None, str]:
    """The identity and signature among a document's custom properties (name → value)."""
    values = {k.removeprefix(PREFIX): v for k, v in props.items() if str(k).startswith(PREFIX)}
    try:
        identity = FormIdentity(
            cycle=str(values["cycle"]), kind=str(values["kind"]), subject=str(values["subject"]),
            version=int(values["version"]), form_no=str(values["form_no"]), rows_digest=str(values["rows_digest"]),
        )
    except (KeyError, ValueError, TypeError):
        return None, ""
    return identity, str(values.get("signature", ""))
