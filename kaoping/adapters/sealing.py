"""Sealing a short secret at rest (封存): the one-time sign-off code waits in the outbox encrypted.

A row of the outbox lives in the database — its pages, its write-ahead log, its backups — from
the moment the request is made until the message is handed to the SMTP server. What sits there
is never the code itself: it is AES-256-GCM ciphertext under a key derived from
``KAOPING_SECRET_KEY`` (HMAC-SHA256 of a fixed label), bound to the row it belongs to (the
associated data), so it can be neither read nor moved to another row. It is opened at the moment
of sending and the ciphertext is dropped after the attempt, sent or failed.

The keys tried to open it are the current secret and those of before a rotation
(``Settings.form_keys``): a message queued just before the secret changed still goes out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_LABEL = b"kaoping outbox seal v1"
_PREFIX = "v1:"


class SealBroken(Exception):
    """No key this process knows opens the seal (the secret changed, or the row was altered)."""


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, _LABEL, hashlib.sha256).digest()


def seal(secret: bytes, plaintext: str, *, bound_to: str) -> str:
    """``plaintext`` encrypted under ``secret``, bound to ``bound_to`` (e.g. the row's idempotency key)."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret)).encrypt(nonce, plaintext.encode("utf-8"), bound_to.encode("utf-8"))
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(secrets: list[bytes], token: str, *, bound_to: str) -> str:
    """The plaintext of ``token`` under the first of ``secrets`` that opens it; ``SealBroken`` if none does."""
    if not token.startswith(_PREFIX):
        raise SealBroken("not a sealed value")
    try:
        raw = base64.urlsafe_b64decode(token[len(_PREFIX):].encode("ascii"))
    except ValueError as exc:
        raise SealBroken("unreadable") from exc
    for secret in secrets:
        try:
            return AESGCM(_key(secret)).decrypt(raw[:12], raw[12:], bound_to.encode("utf-8")).decode("utf-8")
        except InvalidTag:
            continue
    raise SealBroken("no key opens it")
