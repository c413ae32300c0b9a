"""The only code of mutual_aid that speaks pymongo: members, claims, policies, dossier heads, batches."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.mutual_aid.domain.trace import DIAGNOSIS_HIDDEN, Diagnosis, TraceLine
from shared.config import Settings
from shared.consumer import record_dossier_head
from shared.crypto import vault_of
from shared.events import Event, now_shanghai
from shared.identity import mask_id_number, mask_name
from shared.outbox import insert_with_events, update_with_events

DUPLICATE_KEY = 11000
# On each member document: the dossiers the member heads, as the read model holds them
# ({dossier_id: {"status", "revision"}}), so adjudication reads one document for membership,
# cap and hardship; and whether that map is complete (written after the enrolment copied the
# read model in). A document without the mark (enrolled before the map existed) is answered
# from the read model itself.
DOSSIERS = "dossiers"
DOSSIERS_SYNCED = "dossiers_synced"
_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class NewMember:
    id_number: str
    name: str
    coverage_start: date
    renewal: bool
    plan: str = ""  # empty: the plan of the whole enrolment
    contribution_fen: int = 0
    bank_account: str | None = None


def member_key(period: int, id_hash: str) -> str:
    return f"{period}:{id_hash}"


def mask_account(account: str) -> str:
    """A bank account as its first four and last four digits: ``6222********1234``."""
    return account[:4] + "*" * max(4, len(account) - 8) + account[-4:]


def _field_name(key: str) -> str:
    """A dossier id as a field name: itself when it is a plain token (ids are uuid hex),
    else its digest (a dot or a leading ``$`` cannot name a field)."""
    if _PLAIN.fullmatch(key):
        return key
    return "h" + hashlib.sha256(key.encode()).hexdigest()[:32]


def batch_key(month: str) -> str:
    """One payout batch per month: the id is the month, so a rerun finds the same batch."""
    return f"payout-{month}"


class MutualAidStore:
    def __init__(self, db: Database, settings: Settings):
        self.members = db["members"]
        self.claims = db["claims"]
        self.policies = db["policies"]
        self.dossier_heads = db["dossier_heads"]
        self.batches = db["payout_batches"]
        self.audit_log = db["audit_log"]
        self.vault = vault_of(settings)

    @property
    def database_name(self) -> str:
        """Which database this store speaks to: per-process caches are kept per database."""
        return self.members.database.name

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
        self.claims.create_index([("status", 1)], name="status_idx")
        self.claims.create_index([("batch_id", 1)], name="batch_id_idx", sparse=True)
        self.claims.create_index([("period", 1)], name="period_idx", sparse=True)
        self.members.create_index([("period", 1), ("employer_org", 1)], name="period_employer_idx")
        # Two versions in force from the same day would make "the version in force" a coin toss.
        self.policies.create_index(
            [("effective_from", 1)], name="policy_effective_from_unique", unique=True
        )
        self.dossier_heads.create_index([("head_id_hash", 1)], name="head_id_hash_idx")
        self.audit_log.create_index([("claim_id", 1)], name="audit_claim_idx")
        self.audit_log.create_index([("batch_id", 1)], name="audit_batch_idx", sparse=True)

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
                    "plan": member.plan or plan,
                    "contribution_fen": member.contribution_fen,
                    "employer_org": employer_org,
                    "coverage_start": member.coverage_start.isoformat(),
                    "enrolled_on": enrolled_on.isoformat(),
                    "renewal": member.renewal,
                    "cap_used": 0,
                    "cap_claims": {},
                    "created_at": now,
                    **self._account_fields(member.bank_account),
                }
            )
        try:
            self.members.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            duplicates = sum(1 for e in exc.details["writeErrors"] if e["code"] == DUPLICATE_KEY)
            if duplicates != len(exc.details["writeErrors"]):
                raise
            self.copy_dossier_heads([doc["id_hash"] for doc in docs], period)
            return len(docs) - duplicates, duplicates
        self.copy_dossier_heads([doc["id_hash"] for doc in docs], period)
        return len(docs), 0

    def _account_fields(self, account: str | None) -> dict[str, str]:
        if not account:
            return {}
        return {"account_enc": self.vault.encrypt(account), "account_masked": mask_account(account)}

    def contributions(self, period: int) -> list[dict]:
        """Members and contributions summed per employer (fen), smallest org code first."""
        return list(
            self.members.aggregate(
                [
                    {"$match": {"period": period}},
                    {
                        "$group": {
                            "_id": "$employer_org",
                            "members": {"$sum": 1},
                            "contributions": {"$sum": "$contribution_fen"},
                        }
                    },
                    {"$sort": {"_id": 1}},
                ]
            )
        )

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
        - the same hospital + bill number under another webhook id: the existing claim.

        The patient's ID number, name, diagnoses and single-disease code are sealed like ID
        numbers: only the hash and masked forms are stored readable."""
        claim_id = uuid.uuid4().hex
        id_number = bill.pop("patient_id_number")
        name = bill.pop("patient_name")
        single_disease_code = bill.pop("single_disease_code")
        doc = {
            "_id": claim_id,
            "hospital_code": hospital_code,
            "webhook_id": webhook_id,
            "member_id_hash": self.vault.lookup_hash(id_number),
            "member_id_enc": self.vault.encrypt(id_number),
            "member_id_masked": mask_id_number(id_number),
            "patient_name_enc": self.vault.encrypt(name),
            "patient_name_masked": mask_name(name),
            "diagnoses_enc": self.vault.encrypt(json.dumps(bill.pop("diagnoses"))),
            "single_disease_code_enc": (
                self.vault.encrypt(single_disease_code) if single_disease_code else None
            ),
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

    def insert_decided_claim(self, doc: dict[str, Any], event: Event) -> str:
        """Insert a claim decided on arrival with its ``claim_decided`` event, in one insert.

        Returns ``"inserted"``; ``"repeat"`` when the claim is stored already (a redelivery, the
        same bill again: no second effect); ``"another_claim"`` when its hospital + bill number
        or webhook id belongs to another claim (nothing stored)."""
        try:
            self.claims.insert_one(insert_with_events(doc, [event]))
        except DuplicateKeyError:
            # A find, not a count: nx-27017 answers a count as an aggregate that scans.
            if self.claims.find_one({"_id": doc["_id"]}, {"_id": 1}) is not None:
                return "repeat"
            return "another_claim"
        return "inserted"

    def release_reservation(self, period: int, id_hash: str, claim_id: str) -> bool:
        """Give back the cap share reserved for a claim that was never stored."""
        member = self.members.find_one({"_id": member_key(period, id_hash)}, {"cap_claims": 1})
        reserved = (member or {}).get("cap_claims", {}).get(claim_id)
        if not reserved:
            return False
        return self.resize_reservation(period, id_hash, claim_id, reserved, 0, cap=0)

    def claim(self, claim_id: str) -> dict | None:
        return self.claims.find_one({"_id": claim_id}, {"outbox": 0})

    def medical_facts(self, claim: dict) -> tuple[tuple[str, ...], str | None]:
        """The bill's diagnoses and single-disease code in clear, for adjudication."""
        diagnoses = tuple(json.loads(self.vault.decrypt(claim["diagnoses_enc"])))
        sealed_code = claim["single_disease_code_enc"]
        return diagnoses, self.vault.decrypt(sealed_code) if sealed_code else None

    def sealed_trace(self, trace: Iterable[TraceLine]) -> list:
        """Trace lines as stored: a line naming no diagnosis is its text; a line naming one is
        its parts, each diagnosis part sealed like an ID number."""
        return [
            [
                {"diagnosis_enc": self.vault.encrypt(part.text)}
                if isinstance(part, Diagnosis)
                else part
                for part in line.parts
            ]
            if line.names_a_diagnosis
            else line.text()
            for line in trace
        ]

    def trace_text(self, stored: list, *, show_diagnoses: bool) -> list[str]:
        """A stored trace as text: diagnosis parts opened for those who may read them, masked
        (never decrypted) for everyone else."""
        return [
            line
            if isinstance(line, str)
            else "".join(
                part
                if isinstance(part, str)
                else self.vault.decrypt(part["diagnosis_enc"])
                if show_diagnoses
                else DIAGNOSIS_HIDDEN
                for part in line
            )
            for line in stored
        ]

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

    def needs_review(self, limit: int = 500) -> list[dict]:
        return list(
            self.claims.find({"status": "needs_review"}, {"outbox": 0, "member_id_enc": 0})
            .sort("decided_at", 1)
            .limit(limit)
        )

    def record_review(
        self,
        claim_id: str,
        *,
        review_count: int | None,
        number: int,
        review: dict[str, Any],
        decision_fields: dict[str, Any],
        events: list[Event],
    ) -> bool:
        """Add review ``number`` (reviews are kept, never overwritten), and the final outcome
        when it is one, in one guarded update.

        The guard (still ``needs_review``, the review count read) makes two concurrent reviews
        of one claim apply one at a time: the second finds the count moved and is refused
        instead of being decided on approvals it never saw."""
        result = self.claims.update_one(
            {
                "_id": claim_id,
                "status": "needs_review",
                # Claims decided before reviews existed carry no count yet.
                "review_count": {"$exists": False} if review_count is None else review_count,
            },
            update_with_events(
                {
                    "$set": {f"reviews.r{number:04d}": review, **decision_fields},
                    "$inc": {"review_count": 1},
                },
                events,
            ),
        )
        return result.modified_count == 1

    def append_audit(self, entry: dict[str, Any]) -> None:
        """The audit log is insert-only; the id makes a retried append a no-op."""
        try:
            self.audit_log.insert_one(entry)
        except DuplicateKeyError:
            pass

    def audit_entries(self, claim_id: str) -> list[dict]:
        return list(self.audit_log.find({"claim_id": claim_id}).sort("at", 1))

    def batch_audit_entries(self, batch_id: str) -> list[dict]:
        return list(self.audit_log.find({"batch_id": batch_id}).sort("at", 1))

    def resize_reservation(
        self, period: int, id_hash: str, claim_id: str, old: int, new: int, cap: int
    ) -> bool:
        """Move the claim's cap reservation from ``old`` to ``new`` fen (0 releases it).

        Conditional on the reservation still being ``old``, so a repeat changes nothing;
        growing it also needs room under ``cap``."""
        selector: dict[str, Any] = {
            "_id": member_key(period, id_hash),
            f"cap_claims.{claim_id}": old,
        }
        if new > old:
            selector["cap_used"] = {"$lte": cap - (new - old)}
        update: dict[str, Any] = {"$inc": {"cap_used": new - old}}
        if new:
            update["$set"] = {f"cap_claims.{claim_id}": new}
        else:
            update["$unset"] = {f"cap_claims.{claim_id}": ""}
        return self.members.update_one(selector, update).modified_count == 1

    # ---- policies --------------------------------------------------------------------------

    def policy_index(self) -> list[dict]:
        """Every stored version without its text, oldest ``effective_from`` first."""
        return list(self.policies.find({}, {"document": 0}).sort("effective_from", 1))

    def policy_document(self, version: str) -> dict | None:
        return self.policies.find_one({"_id": version})

    def add_policy(self, entry: dict[str, Any]) -> bool:
        """Store a version; False when the version or its start day is taken already."""
        try:
            self.policies.insert_one(entry)
        except DuplicateKeyError:
            return False
        return True

    # ---- dossier read model ----------------------------------------------------------------

    def open_dossier_head(self, event: Event, tier: int | None = None) -> bool:
        """An established, re-tiered or transferred dossier: its head's row is open (with the
        tier when the event states one)."""
        recorded = record_dossier_head(self.dossier_heads, event, "open", tier)
        self.follow_dossier_head(event.payload["dossier_id"])
        return recorded

    def close_dossier_head(self, event: Event) -> bool:
        """An exited dossier: its head no longer counts as heading an open one."""
        recorded = record_dossier_head(self.dossier_heads, event, "exited")
        self.follow_dossier_head(event.payload["dossier_id"])
        return recorded

    def heads_open_dossier(self, id_hash: str, member: dict | None = None) -> bool:
        """Whether the person heads an open dossier: from their member document when its map
        of dossiers is complete (no read), else from the read model."""
        if member is not None and member.get(DOSSIERS_SYNCED):
            return any(d["status"] == "open" for d in member.get(DOSSIERS, {}).values())
        return (
            self.dossier_heads.count_documents({"head_id_hash": id_hash, "status": "open"}, limit=1)
            > 0
        )

    def follow_dossier_head(self, dossier_id: str) -> None:
        """Copy the read model's row of a dossier, as it stands now, onto every member document
        of its head. Run after every dossier event, whether or not it changed the row: a
        redelivery after a failure here must still reach the members."""
        row = self.dossier_heads.find_one(
            {"_id": dossier_id}, {"head_id_hash": 1, "status": 1, "revision": 1}
        )
        if row is not None:
            self._copy_head_row(row)

    def _copy_head_row(self, row: dict, keys: list[str] | None = None) -> None:
        """One dossier's state onto its head's member documents (``keys``, else all of them),
        only where it is newer than what they hold: the entry is created where absent, then
        raised to a newer revision (in that order, so of two writers racing the newer
        revision always stays), and a repeat or an older revision changes nothing. Each
        write is guarded beside the ``_id``, as the cap reservation is."""
        if keys is None:
            keys = [
                doc["_id"]
                for doc in self.members.find({"id_hash": row["head_id_hash"]}, {"_id": 1})
            ]
        revision = row["revision"]
        entry = {"status": row["status"], "revision": revision}
        path = f"{DOSSIERS}.{_field_name(row['_id'])}"
        for key in keys:
            for guard in ({path: {"$exists": False}}, {f"{path}.revision": {"$lt": revision}}):
                self.members.update_one({"_id": key, **guard}, {"$set": {path: entry}})

    def copy_dossier_heads(self, id_hashes: list[str], period: int) -> None:
        """After enrolment: the read model's rows of these people onto their member documents
        of ``period``, which are then marked complete. Read after the insert, so a dossier
        event either is in this read or, written after it, finds the documents itself."""
        if not id_hashes:
            return
        for row in self.dossier_heads.find(
            {"head_id_hash": {"$in": id_hashes}}, {"head_id_hash": 1, "status": 1, "revision": 1}
        ):
            self._copy_head_row(row, [member_key(period, row["head_id_hash"])])
        self.members.update_many(
            {"_id": {"$in": [member_key(period, h) for h in id_hashes]}},
            {"$set": {DOSSIERS_SYNCED: True}},
        )

    # ---- payout batches --------------------------------------------------------------------

    def open_batch(self, month: str, created_by: str) -> tuple[dict, bool]:
        """The month's batch: created now (True) or found (False)."""
        doc = {
            "_id": batch_key(month),
            "month": month,
            "status": "assigning",
            "created_by": created_by,
            "created_at": now_shanghai().isoformat(timespec="milliseconds"),
        }
        try:
            self.batches.insert_one(doc)
        except DuplicateKeyError:
            return self.batches.find_one({"_id": batch_key(month)}), False
        return doc, True

    def batch(self, batch_id: str) -> dict | None:
        return self.batches.find_one({"_id": batch_id})

    def assign_to_batch(self, batch_id: str, chunk: int = 1000) -> int:
        """Put every approved claim not yet in a batch into ``batch_id``; returns how many.

        Each claim is claimed by a conditional update (``batch_id`` absent), so a claim can
        never land in two batches even when two months are batched at once."""
        assigned = 0
        while True:
            ids = [
                doc["_id"]
                for doc in self.claims.find(
                    {"status": "approved", "batch_id": {"$exists": False}}, {"_id": 1}
                ).limit(chunk)
            ]
            if not ids:
                return assigned
            result = self.claims.bulk_write(
                [
                    UpdateOne(
                        {"_id": claim_id, "status": "approved", "batch_id": {"$exists": False}},
                        {"$set": {"batch_id": batch_id}},
                    )
                    for claim_id in ids
                ],
                ordered=False,
            )
            assigned += result.modified_count

    def batch_claims(self, batch_id: str) -> list[dict]:
        return list(
            self.claims.find(
                {"batch_id": batch_id},
                {
                    "_id": 1,
                    "status": 1,
                    "amount_fen": 1,
                    "member_id_hash": 1,
                    "member_id_masked": 1,
                    "period": 1,
                    "patient_name_masked": 1,
                    "member_org": 1,
                },
            ).sort("_id", 1)
        )

    def finish_batch(self, batch_id: str, claims: int, total: int) -> dict:
        return self.batches.find_one_and_update(
            {"_id": batch_id},
            {"$set": {"status": "ready", "claims": claims, "total_fen": total}},
            return_document=ReturnDocument.AFTER,
        )

    def accounts(self, keys: list[str]) -> dict[str, str]:
        """Masked bank accounts by member key, for those who gave one."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 1000):
            for doc in self.members.find(
                {"_id": {"$in": keys[start : start + 1000]}}, {"account_masked": 1}
            ):
                if doc.get("account_masked"):
                    found[doc["_id"]] = doc["account_masked"]
        return found

    def mark_batch_paid(self, batch_id: str, confirmed_by: str) -> None:
        """The batch is paid: who confirmed it, and when."""
        self.batches.update_one(
            {"_id": batch_id},
            {
                "$set": {
                    "status": "paid",
                    "confirmed_by": confirmed_by,
                    "confirmed_at": now_shanghai().isoformat(timespec="milliseconds"),
                }
            },
        )

    def pay_claims(self, batch_id: str, paid: list[tuple[str, Event]], chunk: int = 500) -> int:
        """Mark the batch's approved claims paid, each with its ``claim_paid`` event in the same
        update; conditional on ``approved``, so a repeated confirm pays nobody twice."""
        changed = 0
        paid_at = now_shanghai().isoformat(timespec="milliseconds")
        for start in range(0, len(paid), chunk):
            result = self.claims.bulk_write(
                [
                    UpdateOne(
                        {"_id": claim_id, "status": "approved", "batch_id": batch_id},
                        update_with_events(
                            {"$set": {"status": "paid", "paid_at": paid_at}}, [event]
                        ),
                    )
                    for claim_id, event in paid[start : start + chunk]
                ],
                ordered=False,
            )
            changed += result.modified_count
        return changed

    # ---- figures ---------------------------------------------------------------------------

    def period_claims(self, period: int) -> list[dict]:
        return list(
            self.claims.find(
                {"period": period, "status": {"$in": ["approved", "paid"]}},
                {"status": 1, "amount_fen": 1, "plan": 1, "member_org": 1, "submitted_on": 1},
            )
        )
