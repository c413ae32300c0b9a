"""Field encryption and keyed lookup hashes for ID numbers, as PIPL asks of sensitive data."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from shared.config import Settings

FORMAT_VERSION = "v1"
ENCRYPTION_KEY_BYTES = 32
MINIMUM_HASH_KEY_BYTES = 32
NONCE_BYTES = 12
_GCM_TAG_BYTES = 16

# Key ids sit inside tokens and settings strings, so they may not contain ".", ":" or ",".
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class PiiDecryptionError(Exception):
    """A token that is malformed, tampered with, or sealed under a key this vault lacks."""


class PiiVault:
    """Encrypts ID numbers with AES-256-GCM and hashes them for equality lookups.

    New tokens are sealed under the active key; every key given can still open old tokens,
    which is what lets keys rotate without rewriting the whole collection at once.
    """

    def __init__(self, encryption_keys: dict[str, bytes], active_key_id: str, hash_key: bytes):
        if not encryption_keys:
            raise ValueError("at least one encryption key is required")
        for key_id, key in encryption_keys.items():
            if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
                raise ValueError(
                    "encryption key ids must be 1-32 characters of letters, digits, '_' or '-'"
                )
            if not isinstance(key, bytes) or len(key) != ENCRYPTION_KEY_BYTES:
                raise ValueError(
                    f"encryption key {key_id!r} must be {ENCRYPTION_KEY_BYTES} bytes (AES-256)"
                )
        if active_key_id not in encryption_keys:
            raise ValueError(f"active key id {active_key_id!r} is not among the encryption keys")
        if not isinstance(hash_key, bytes) or len(hash_key) < MINIMUM_HASH_KEY_BYTES:
            raise ValueError(f"hash key must be at least {MINIMUM_HASH_KEY_BYTES} bytes")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in encryption_keys.items()}
        self._active_key_id = active_key_id
        self._hash_key = hash_key

    @classmethod
    @functools.cache  # built once per process: every store and provider shares the one vault
    def from_settings(cls, encryption_keys_spec: str, hash_key_b64: str) -> PiiVault:
        """Build a vault from ``kid1:base64key,kid2:base64key``; the first key is the active one."""
        encryption_keys: dict[str, bytes] = {}
        for entry in encryption_keys_spec.split(","):
            key_id, separator, key_b64 = entry.strip().partition(":")
            if not separator or not key_id or not key_b64:
                raise ValueError("encryption keys must be written 'kid1:base64key,kid2:base64key'")
            if key_id in encryption_keys:
                raise ValueError(f"encryption key id {key_id!r} appears twice")
            encryption_keys[key_id] = _decode_key(key_b64, f"encryption key {key_id!r}")
        active_key_id = next(iter(encryption_keys))
        hash_key = _decode_key(hash_key_b64.strip(), "hash key")
        return cls(encryption_keys, active_key_id, hash_key)

    def encrypt(self, plaintext: str) -> str:
        """Seal ``plaintext`` as ``v1.<key_id>.<urlsafe base64 of nonce + ciphertext>``."""
        header = f"{FORMAT_VERSION}.{self._active_key_id}"
        nonce = os.urandom(NONCE_BYTES)
        # The header is associated data, so a token cannot be relabelled with another key id.
        sealed = self._ciphers[self._active_key_id].encrypt(
            nonce, plaintext.encode("utf-8"), header.encode("ascii")
        )
        return f"{header}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str) -> str:
        """Open a token sealed under any key of this vault."""
        if not isinstance(token, str):
            raise PiiDecryptionError("token must be a string")
        version, key_id, payload = _split_token(token)
        if version != FORMAT_VERSION:
            raise PiiDecryptionError(f"token version is not supported, expected {FORMAT_VERSION}")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PiiDecryptionError(f"token was sealed under unknown key id {key_id[:32]!r}")
        try:
            nonce_and_sealed = base64.b64decode(payload, altchars=b"-_", validate=True)
        except binascii.Error:
            raise PiiDecryptionError("token payload is not urlsafe base64") from None
        if len(nonce_and_sealed) < NONCE_BYTES + _GCM_TAG_BYTES:
            raise PiiDecryptionError("token payload is too short")
        nonce, sealed = nonce_and_sealed[:NONCE_BYTES], nonce_and_sealed[NONCE_BYTES:]
        try:
            plaintext = cipher.decrypt(nonce, sealed, f"{version}.{key_id}".encode("ascii"))
        except InvalidTag:
            raise PiiDecryptionError(
                "token failed authentication (tampered or wrong key)"
            ) from None
        return plaintext.decode("utf-8")

    def lookup_hash(self, id_number: str) -> str:
        """Deterministic HMAC-SHA256 (hex) of the upper-cased number, for indexes and lookups."""
        normalized = id_number.strip().upper()
        return hmac.new(self._hash_key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()

    def opaque_id(self, purpose: str, *parts: str) -> str:
        """A stable id for ``parts`` that reveals none of them to whoever lacks the hash key:
        HMAC-SHA256 (128 bits, hex) of the purpose and parts joined by a unit separator, so it
        never equals a lookup hash (no ID number holds that separator) nor another purpose's id."""
        message = "\x1f".join((purpose, *parts))
        return hmac.new(self._hash_key, message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _split_token(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3:
        raise PiiDecryptionError("token must have the form v1.<key_id>.<payload>")
    version, key_id, payload = parts
    return version, key_id, payload


def _decode_key(key_b64: str, what: str) -> bytes:
    try:
        return base64.b64decode(key_b64, validate=True)
    except binascii.Error:
        raise ValueError(f"{what} is not valid base64") from None


def generate_key_b64() -> str:
    """A fresh random 32-byte key in base64, fit for an encryption key or the hash key."""
    return base64.b64encode(os.urandom(ENCRYPTION_KEY_BYTES)).decode("ascii")


def vault_of(settings: Settings) -> PiiVault:
    """The process's vault for the configured keys (built once, see ``from_settings``)."""
    return PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)
