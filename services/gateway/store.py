"""The only code of the gateway that speaks pymongo: partner hospitals and platforms, and the
audit log of their re-registrations."""

from __future__ import annotations

import uuid

from cachetools import TTLCache
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.config import Settings
from shared.crypto import vault_of
from shared.events import now_shanghai

PARTNER_CACHE_SECONDS = 30.0


class PartnerExists(Exception):
    pass


class GatewayStore:
    def __init__(self, db: Database, settings: Settings):
        self.partners = db["partners"]
        self.audit_log = db["audit_log"]
        self._cache: TTLCache[str, dict] = TTLCache(
            maxsize=settings.partner_cache_size, ttl=PARTNER_CACHE_SECONDS
        )
        # Partner secrets are sealed with the same vault as ID numbers: a database dump alone
        # does not let anyone sign bills.
        self.vault = vault_of(settings)

    def ensure_indexes(self) -> None:
        self.audit_log.create_index([("target", 1), ("at", 1)], name="audit_target_idx")

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
        signed request needs it, and a partner changes rarely (a new secret waits that long).
        The cache is bounded and holds found partners only: unknown codes cannot fill it, and a
        partner registered a moment after a miss is found at once."""
        cached = self._cache.get(code)
        if cached is not None:
            return cached
        doc = self.partners.find_one({"_id": code})
        if doc is None:
            return None
        doc["secret"] = self.vault.decrypt(doc.pop("secret_enc"))
        self._cache[code] = doc
        return doc

    def codes_of_kind(self, kind: str, limit: int) -> list[str]:
        """The codes of the partners of one kind, at most ``limit``, in code order."""
        found = self.partners.find({"kind": kind}, {"_id": 1}).sort("_id", 1).limit(limit)
        return [doc["_id"] for doc in found]

    def set_partner_level(self, code: str, level: int, actor: dict) -> dict | None:
        """Re-register a hospital at another level, with an audit entry naming who did it and
        the level before. Returns the partner as it was, or None when no such hospital."""
        before = self.partners.find_one_and_update(
            {"_id": code, "kind": "hospital"}, {"$set": {"level": level}}, {"secret_enc": 0}
        )
        if before is None:
            return None
        # This process stops serving the old level at once; other gateway processes within
        # PARTNER_CACHE_SECONDS.
        self._cache.pop(code, None)
        if before["level"] != level:
            self.audit_log.insert_one(
                {
                    "_id": uuid.uuid4().hex,
                    "at": now_shanghai().isoformat(timespec="milliseconds"),
                    "actor": actor["sub"],
                    "role": actor["role"],
                    "actor_org": actor["org"],
                    "action": "partner_reregistered",
                    "target": code,
                    "detail": {"level_from": before["level"], "level_to": level},
                }
            )
        return before

    def audit_entries(self, target: str) -> list[dict]:
        return list(self.audit_log.find({"target": target}).sort("at", 1))
