"""The only code of the gateway that speaks pymongo: partner hospitals and platforms."""

from __future__ import annotations

import time

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.config import Settings
from shared.crypto import PiiVault
from shared.events import now_shanghai

PARTNER_CACHE_SECONDS = 30.0


class PartnerExists(Exception):
    pass


class GatewayStore:
    def __init__(self, db: Database, settings: Settings):
        self.settings = settings
        self.partners = db["partners"]
        self._cache: dict[str, tuple[float, dict | None]] = {}
        # Partner secrets are sealed with the same vault as ID numbers: a database dump alone
        # does not let anyone sign bills.
        self.vault = PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)

    def ensure_indexes(self) -> None:
        pass  # partners are found by _id only

    def add_partner(
        self, *, code: str, kind: str, name: str, level: int | None, secret: str
    ) -> None:
        try:
            self.partners.insert_one(
                {
                    "_id": code,
                    "kind": kind,
                    "name": name,
                    "level": level,
                    "secret_enc": self.vault.encrypt(secret),
                    "created_at": now_shanghai().isoformat(timespec="milliseconds"),
                }
            )
        except DuplicateKeyError:
            raise PartnerExists(code) from None

    def partner(self, code: str) -> dict | None:
        """The partner with its clear secret. Kept in memory for PARTNER_CACHE_SECONDS: every
        signed request needs it, and a partner changes rarely (a new secret waits that long)."""
        now = time.monotonic()
        cached = self._cache.get(code)
        if cached is not None and now - cached[0] < PARTNER_CACHE_SECONDS:
            return cached[1]
        doc = self.partners.find_one({"_id": code})
        if doc is not None:
            doc["secret"] = self.vault.decrypt(doc.pop("secret_enc"))
        self._cache[code] = (now, doc)
        return doc
