"""The only code of the gateway that speaks pymongo: partners and their webhook receipts."""

from __future__ import annotations

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.config import Settings
from shared.crypto import PiiVault
from shared.events import now_shanghai


class PartnerExists(Exception):
    pass


class GatewayStore:
    def __init__(self, db: Database, settings: Settings):
        self.settings = settings
        self.partners = db["partners"]
        self.receipts = db["webhook_receipts"]
        # Partner secrets are sealed with the same vault as ID numbers: a database dump alone
        # does not let anyone sign bills.
        self.vault = PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)

    def ensure_indexes(self) -> None:
        self.receipts.create_index([("partner", 1)], name="partner_idx")

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
        doc = self.partners.find_one({"_id": code})
        if doc is not None:
            doc["secret"] = self.vault.decrypt(doc.pop("secret_enc"))
        return doc

    def receipt(self, partner: str, webhook_id: str) -> dict | None:
        return self.receipts.find_one({"_id": f"{partner}:{webhook_id}"})

    def save_receipt(self, partner: str, webhook_id: str, status: int, body: dict) -> None:
        try:
            self.receipts.insert_one(
                {
                    "_id": f"{partner}:{webhook_id}",
                    "partner": partner,
                    "status": status,
                    "body": body,
                    "received_at": now_shanghai().isoformat(timespec="milliseconds"),
                }
            )
        except DuplicateKeyError:
            pass  # a concurrent delivery of the same webhook recorded it first: same answer
