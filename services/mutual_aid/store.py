"""The only code of mutual_aid that speaks pymongo: members (enrolments) and claims."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.config import Settings
from shared.crypto import PiiVault
from shared.events import Event, now_shanghai
from shared.identity import mask_id_number
from shared.outbox import insert_with_events, update_with_events

DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class NewMember:
    id_number: str
    name: str
    coverage_start: date
    renewal: bool


def member_key(period: int, id_hash: str) -> str:
    return f"{period}:{id_hash}"


class MutualAidStore:
    def __init__(self, db: Database, settings: Settings):
        self.settings = settings
        self.members = db["members"]
        self.claims = db["claims"]
        self.vault = PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)

    def ensure_indexes(self) -> None:
        self.members.create_index([("id_hash", 1), ("period", 1)], name="id_hash_period_idx")
        self.claims.create_index(
            [("hospital_code", 1), ("bill_no", 1)], name="hospital_bill_unique", unique=True
        )
        # Replay protection for signed webhooks, recorded in the same write as the claim.
        self.claims.create_index(
            [("hospital_code", 1), ("webhook_id", 1)], name="hospital_webhook_unique", unique=True
        )
        self.claims.create_index([("member_id_hash", 1)], name="member_id_hash_idx")

    # ---- enrolment -------------------------------------------------------------------------

    def enrolled_hashes(self, period: int, id_hashes: list[str]) -> set[str]:
        keys = [member_key(period, h) for h in id_hashes]
        return {doc["id_hash"] for doc in self.members.find({"_id": {"$in": keys}}, {"id_hash": 1})}

    def enroll(
        self,
        *,
        period: int,
        plan: str,
        employer_org: str,
        enrolled_on: date,
        members: list[NewMember],
    ) -> tuple[int, int]:
        """Insert members not yet enrolled in ``period``; returns (enrolled, already_enrolled)."""
        if not members:
            return 0, 0
        now = now_shanghai().isoformat(timespec="milliseconds")
        docs = []
        for member in members:
            id_hash = self.vault.lookup_hash(member.id_number)
            docs.append(
                {
                    "_id": member_key(period, id_hash),
                    "period": period,
                    "id_hash": id_hash,
                    "id_enc": self.vault.encrypt(member.id_number),
                    "id_masked": mask_id_number(member.id_number),
                    "name": member.name,
                    "plan": plan,
                    "employer_org": employer_org,
                    "coverage_start": member.coverage_start.isoformat(),
                    "enrolled_on": enrolled_on.isoformat(),
                    "renewal": member.renewal,
                    "cap_used": 0,
                    "cap_claims": {},
                    "created_at": now,
                }
            )
        try:
            self.members.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            duplicates = sum(1 for e in exc.details["writeErrors"] if e["code"] == DUPLICATE_KEY)
            if duplicates != len(exc.details["writeErrors"]):
                raise
            return len(docs) - duplicates, duplicates
        return len(docs), 0

    def membership(self, period: int, id_hash: str) -> dict | None:
        return self.members.find_one({"_id": member_key(period, id_hash)})

    def reserve_cap(self, period: int, id_hash: str, claim_id: str, amount: int, cap: int) -> bool:
        """Atomically add ``amount`` to the member's used cap unless that would pass ``cap``.

        Keyed by claim, so a redelivered adjudication never reserves twice."""
        result = self.members.update_one(
            {
                "_id": member_key(period, id_hash),
                "cap_used": {"$lte": cap - amount},
                f"cap_claims.{claim_id}": {"$exists": False},
            },
            {"$inc": {"cap_used": amount}, "$set": {f"cap_claims.{claim_id}": amount}},
        )
        return result.modified_count == 1

    # ---- claims ----------------------------------------------------------------------------

    def accept_bill(
        self, hospital_code: str, webhook_id: str, bill: dict[str, Any], make_received_event
    ) -> tuple[str, str, bool]:
        """Store a bill as a claim, with its ``claim_received`` event and the webhook id it came
        with, in one insert. Returns (claim_id, status to answer, created):

        - a new bill: a new claim, created;
        - the same ``webhook-id`` again (a replay): the first answer, as if created, no new effect;
        - the same hospital + bill number under another webhook id: the existing claim."""
        claim_id = uuid.uuid4().hex
        id_number = bill.pop("patient_id_number")
        doc = {
            "_id": claim_id,
            "hospital_code": hospital_code,
            "webhook_id": webhook_id,
            "member_id_hash": self.vault.lookup_hash(id_number),
            "member_id_enc": self.vault.encrypt(id_number),
            "member_id_masked": mask_id_number(id_number),
            "status": "received",
            "received_at": now_shanghai().isoformat(timespec="milliseconds"),
            **bill,
        }
        event: Event = make_received_event(claim_id)
        try:
            self.claims.insert_one(insert_with_events(doc, [event]))
        except DuplicateKeyError:
            replayed = self.claims.find_one(
                {"hospital_code": hospital_code, "webhook_id": webhook_id}, {"_id": 1}
            )
            if replayed is not None:
                return replayed["_id"], "received", True
            existing = self.claims.find_one(
                {"hospital_code": hospital_code, "bill_no": bill["bill_no"]}, {"status": 1}
            )
            return existing["_id"], existing["status"], False
        return claim_id, "received", True

    def claim(self, claim_id: str) -> dict | None:
        return self.claims.find_one({"_id": claim_id}, {"outbox": 0})

    def overlapping_bill_nos(self, claim: dict) -> tuple[str, ...]:
        """Other bills of the same member whose stay overlaps this one. A member has few
        claims: fetch them by the indexed hash and compare the (ISO) dates here, which keeps
        the query on the index on every server."""
        others = self.claims.find(
            {"member_id_hash": claim["member_id_hash"]},
            {"bill_no": 1, "admission_date": 1, "discharge_date": 1},
        )
        return tuple(
            sorted(
                other["bill_no"]
                for other in others
                if other["_id"] != claim["_id"]
                and other["admission_date"] <= claim["discharge_date"]
                and other["discharge_date"] >= claim["admission_date"]
            )
        )

    def record_decision(self, claim_id: str, decision_fields: dict[str, Any], event: Event) -> bool:
        """Write the decision and its event in one update, only from ``received``."""
        result = self.claims.find_one_and_update(
            {"_id": claim_id, "status": "received"},
            update_with_events({"$set": decision_fields}, [event]),
            projection={"_id": 1},
            return_document=ReturnDocument.AFTER,
        )
        return result is not None
