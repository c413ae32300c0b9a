"""An HTTP client for the gateway that speaks only the public contract (API.md)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date

import requests

from shared.auth import mint_staff_token
from shared.identity import make_id_number
from shared.webhooks import sign_webhook


def new_id_number(seq: int | None = None) -> str:
    """A valid ID number, unique enough for a test run: each part drawn from other bits."""
    n = seq if seq is not None else uuid.uuid4().int
    birth = date(1960 + n % 40, 1 + (n // 40) % 12, 1 + (n // 480) % 28)
    return make_id_number("350802", birth, (n // 13_440) % 1000)


class Gateway:
    def __init__(self, base_url: str, jwt_secret: str):
        self.base_url = base_url
        self.jwt_secret = jwt_secret
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def token(self, role: str = "city_admin", org: str = "LY", sub: str | None = None) -> str:
        return mint_staff_token(self.jwt_secret, sub=sub or f"test-{role}", role=role, org=org)

    def staff(
        self, method: str, path: str, body=None, role="city_admin", org="LY", sub=None, **kwargs
    ):
        """A request as a staff member; ``sub`` tells two staff of one role apart."""
        headers = {"Authorization": f"Bearer {self.token(role, org, sub)}"}
        return self.http.request(
            method, self.base_url + path, json=body, headers=headers, timeout=15, **kwargs
        )

    def signed(
        self,
        path: str,
        body,
        secret: str,
        webhook_id: str | None = None,
        timestamp: int | None = None,
        raw: bytes | None = None,
        headers: dict | None = None,
    ):
        data = raw if raw is not None else json.dumps(body).encode()
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        timestamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_webhook(secret, webhook_id, timestamp, data),
            "content-type": "application/json",
            **(headers or {}),
        }
        return self.http.post(self.base_url + path, data=data, headers=headers, timeout=15)
