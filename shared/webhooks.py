"""Standard Webhooks (standardwebhooks.com) signing and verification for partner callbacks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time
from collections.abc import Mapping

WHSEC_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
SECRET_BYTES = 24

MISSING_HEADERS = "missing_headers"
INVALID_TIMESTAMP = "invalid_timestamp"
TIMESTAMP_TOO_OLD = "timestamp_too_old"
TIMESTAMP_TOO_NEW = "timestamp_too_new"
INVALID_SIGNATURE = "invalid_signature"

# No leading zeros: the header text is what was signed, and it must read back as one number.
_UNIX_SECONDS = re.compile(r"0|[1-9][0-9]{0,11}")


class WebhookVerificationError(Exception):
    """A request that must be answered 401; ``reason`` is one of the short codes above."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_webhook_headers(
    headers: Mapping[str, str],
    *,
    now: float | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> tuple[str, str, str]:
    """The checks that need neither the secret nor the body, so a receiver makes them before
    looking up the sender or reading the body: the three headers are there and the timestamp
    is at most ``tolerance_seconds`` away from ``now`` either way. Returns the headers' values
    (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)."""
    lowercase_headers = {name.lower(): value for name, value in headers.items()}
    webhook_id = lowercase_headers.get("webhook-id")
    timestamp = lowercase_headers.get("webhook-timestamp")
    signatures = lowercase_headers.get("webhook-signature")
    if not (webhook_id and timestamp and signatures):
        raise WebhookVerificationError(MISSING_HEADERS)

    if not _UNIX_SECONDS.fullmatch(timestamp):
        raise WebhookVerificationError(INVALID_TIMESTAMP)
    current_time = time.time() if now is None else now
    if int(timestamp) < current_time - tolerance_seconds:
        raise WebhookVerificationError(TIMESTAMP_TOO_OLD)
    if int(timestamp) > current_time + tolerance_seconds:
        raise WebhookVerificationError(TIMESTAMP_TOO_NEW)
    return webhook_id, timestamp, signatures


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> str:
    """Check a signed request and return its ``webhook-id``.

    The headers as ``check_webhook_headers`` checks them; the request passes when any ``v1``
    entry of ``webhook-signature`` matches.
    """
    key = _secret_key(secret)
    webhook_id, timestamp, signatures = check_webhook_headers(
        headers, now=now, tolerance_seconds=tolerance_seconds
    )
    expected = _mac(key, webhook_id, timestamp, body)
    for entry in signatures.split():
        version, _, encoded = entry.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(expected, candidate):
            return webhook_id
    raise WebhookVerificationError(INVALID_SIGNATURE)


def sign_webhook(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value for a request: ``v1,<base64 HMAC-SHA256>``."""
    signature = _mac(_secret_key(secret), webhook_id, str(timestamp), body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(signature).decode('ascii')}"


def generate_webhook_secret() -> str:
    """A fresh partner secret: ``whsec_`` and the base64 of 24 random bytes."""
    return WHSEC_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode("ascii")


def _mac(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> bytes:
    signed_content = f"{webhook_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed_content, hashlib.sha256).digest()


def _secret_key(secret: str) -> bytes:
    # A malformed secret is our configuration error, not the caller's, hence ValueError (500).
    if not secret.startswith(WHSEC_PREFIX):
        raise ValueError(f"webhook secret must start with {WHSEC_PREFIX!r}")
    encoded = secret[len(WHSEC_PREFIX) :]
    try:
        # Some senders strip the base64 padding; put it back before decoding.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("webhook secret is not valid base64 after 'whsec_'") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key
