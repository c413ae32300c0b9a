"""The only code of student_aid that speaks pymongo: campaigns, applications, dossier heads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.config import Settings
from shared.consumer import record_dossier_head
from shared.crypto import vault_of
from shared.events import Event, now_shanghai
from shared.identity import mask_id_number, mask_name
from shared.outbox import insert_with_events, update_with_events

# The statuses of a head's row in the read model of dossier heads.
OPEN = "open"
EXITED = "exited"
# The statuses of an award that holds its amount of the budget.
AWARDED = ("approved", "in_review", "paid")


class DuplicateApplication(Exception):
    """The student already applied in this campaign (one award per student per campaign)."""

    def __init__(self, application_id: str):
        super().__init__(application_id)
        self.application_id = application_id


def now_text() -> str:
    return now_shanghai().isoformat(timespec="milliseconds")


class StudentAidStore:
    def __init__(self, db: Database, settings: Settings):
        self.campaigns = db["campaigns"]
        self.applications = db["applications"]
        self.dossier_heads = db["dossier_heads"]
        self.disbursements = db["disbursements"]
        self.audit_log = db["audit_log"]
        self.vault = vault_of(settings)

    def ensure_indexes(self) -> None:
        # One award per student (by ID number) per campaign: the store refuses the second.
        self.applications.create_index(
            [("campaign", 1), ("student_id_hash", 1)],
            name="campaign_student_unique",
            unique=True,
        )
        # A city-portal webhook seen before is answered as the first time (API.md).
        self.applications.create_index(
            [("partner", 1), ("webhook_id", 1)],
            name="partner_webhook_unique",
            unique=True,
            partialFilterExpression={"webhook_id": {"$type": "string"}},
        )
        self.applications.create_index([("parent_id_hash", 1)], name="parent_id_hash_idx")
        self.applications.create_index([("campaign", 1), ("status", 1)], name="campaign_status_idx")
        self.dossier_heads.create_index([("head_id_hash", 1)], name="head_id_hash_idx")
        self.audit_log.create_index([("target", 1)], name="audit_target_idx")
        self.applications.create_index([("batch_id", 1)], name="batch_id_idx", sparse=True)
        self.disbursements.create_index([("campaign", 1)], name="campaign_idx")

    def id_hash(self, id_number: str) -> str:
        return self.vault.lookup_hash(id_number)

    # ---- campaigns -------------------------------------------------------------------------

    def open_campaign(self, campaign: dict[str, Any]) -> bool:
        """Store a year's campaign; False when the year has one already."""
        try:
            self.campaigns.insert_one({**campaign, "_id": campaign["year"]})
        except DuplicateKeyError:
            return False
        return True

    def campaign(self, year: int) -> dict | None:
        return self.campaigns.find_one({"_id": year}, {"outbox": 0})

    def raise_campaign_budget(self, year: int, budget_fen: int, by: str) -> dict | None:
        """The campaign with its new budget; None when it has none or a larger one already."""
        return self.campaigns.find_one_and_update(
            {"_id": year, "budget_fen": {"$lte": budget_fen}},
            {"$set": {"budget_fen": budget_fen, "budget_set_by": by, "budget_set_at": now_text()}},
            projection={"outbox": 0},
            return_document=ReturnDocument.AFTER,
        )

    def next_received(self, year: int) -> int:
        """The order in which we received an application in the campaign (the ranking's
        tie-break after ``applied_on``)."""
        campaign = self.campaigns.find_one_and_update(
            {"_id": year},
            {"$inc": {"received_count": 1}},
            projection={"received_count": 1},
            return_document=ReturnDocument.AFTER,
        )
        return campaign["received_count"]

    def campaigns_awaiting_approvals(self) -> list[int]:
        """The years whose approvals have not run: a late dossier still counts in them."""
        return [
            doc["_id"]
            for doc in self.campaigns.find({"approvals_run_at": {"$exists": False}}, {"_id": 1})
        ]

    # ---- applications ----------------------------------------------------------------------

    def add_application(
        self,
        application: dict[str, Any],
        clear: dict[str, str],
        events: Iterable[Event] = (),
    ) -> None:
        """Insert a decided application with its events. ``clear`` holds the student's and the
        parent's ID numbers and the student's name: stored sealed, hashed and masked only.
        Raises DuplicateApplication naming the earlier one for the same student and campaign."""
        doc = {
            **application,
            "student_id_hash": self.id_hash(clear["student_id_number"]),
            "student_id_enc": self.vault.encrypt(clear["student_id_number"]),
            "student_id_masked": mask_id_number(clear["student_id_number"]),
            "student_name_enc": self.vault.encrypt(clear["student_name"]),
            "student_name_masked": mask_name(clear["student_name"]),
            "parent_id_hash": self.id_hash(clear["parent_id_number"]),
            "parent_id_enc": self.vault.encrypt(clear["parent_id_number"]),
            "parent_id_masked": mask_id_number(clear["parent_id_number"]),
            "received_at": now_text(),
        }
        try:
            self.applications.insert_one(insert_with_events(doc, events))
        except DuplicateKeyError:
            existing = self.applications.find_one(
                {"campaign": doc["campaign"], "student_id_hash": doc["student_id_hash"]}, {"_id": 1}
            )
            if existing is None:  # the webhook index: a replay of a portal request
                raise
            raise DuplicateApplication(existing["_id"]) from None

    def application(self, application_id: str) -> dict | None:
        return self.applications.find_one({"_id": application_id}, {"outbox": 0})

    def application_by_webhook(self, partner: str, webhook_id: str) -> dict | None:
        return self.applications.find_one(
            {"partner": partner, "webhook_id": webhook_id}, {"outbox": 0}
        )

    def undecided_by_dossier(self, parent_id_hash: str, campaigns: list[int]) -> list[dict]:
        """The parent's applications refused for want of a dossier, in campaigns whose approvals
        have not run: a dossier opened since may make them eligible."""
        return list(
            self.applications.find(
                {
                    "parent_id_hash": parent_id_hash,
                    "campaign": {"$in": campaigns},
                    "status": "ineligible",
                    "reason_code": "not_hardship",
                },
                {"outbox": 0},
            )
        )

    def redecide(
        self, application_id: str, decision: dict[str, Any], events: Iterable[Event] = ()
    ) -> bool:
        """A refused application decided again on a dossier event, only while it is still
        refused for want of a dossier: a redelivered event finds it decided and changes nothing."""
        result = self.applications.update_one(
            {"_id": application_id, "status": "ineligible", "reason_code": "not_hardship"},
            update_with_events({"$set": {**decision, "redecided_at": now_text()}}, events),
        )
        return result.modified_count == 1

    def append_audit(self, entry: dict[str, Any]) -> None:
        """The audit log is insert-only; the id makes a retried append a no-op."""
        try:
            self.audit_log.insert_one(entry)
        except DuplicateKeyError:
            pass

    def audit_entries(self, target: str) -> list[dict]:
        """What was done to ``target`` (``campaign/2018``), oldest first."""
        return list(self.audit_log.find({"target": target}).sort("at", 1))

    # ---- dossier read model ----------------------------------------------------------------

    def open_dossier_head(self, event: Event, tier: str | None = None) -> bool:
        """An established, re-tiered or transferred dossier: its head's row is open (with the
        tier when the event states one)."""
        return record_dossier_head(self.dossier_heads, event, OPEN, tier)

    def close_dossier_head(self, event: Event) -> bool:
        """An exited dossier: its head no longer counts as heading an open one."""
        return record_dossier_head(self.dossier_heads, event, EXITED)

    def open_dossier_of(self, head_id_hash: str) -> dict | None:
        """The open dossier the person heads, with its tier and county, if any (the highest tier
        first should two rows be open during a transfer's hand-over)."""
        rows = list(
            self.dossier_heads.find(
                {"head_id_hash": head_id_hash, "status": OPEN, "tier": {"$exists": True}},
                {"tier": 1, "county": 1},
            )
        )
        order = {"national": 0, "local": 1, "grassroots": 2}
        rows.sort(key=lambda row: order.get(row["tier"], len(order)))
        return rows[0] if rows else None

    # ---- approvals, notice, objections ------------------------------------------------------

    def award_counts(self, year: int) -> tuple[int, int, int]:
        """(standing awards, their total in fen, waitlisted) of a campaign: the awards approved,
        under an objection's review or paid hold their amount of the budget."""
        rows = self.applications.aggregate(
            [
                {"$match": {"campaign": year, "status": {"$in": [*AWARDED, "waitlisted"]}}},
                {"$group": {"_id": "$status", "n": {"$sum": 1}, "fen": {"$sum": "$amount_fen"}}},
            ]
        )
        by_status = {row["_id"]: row for row in rows}
        awarded = [by_status[s] for s in AWARDED if s in by_status]
        waitlisted = by_status.get("waitlisted", {}).get("n", 0)
        return sum(r["n"] for r in awarded), sum(r["fen"] for r in awarded), waitlisted

    def claim_approvals_run(self, year: int, revision: int, events: Iterable[Event] = ()) -> bool:
        """Take the campaign's approvals for one run, with the run's events: False when another
        run took them since ``revision`` was read (two runs at once could spend the budget
        twice)."""
        result = self.campaigns.update_one(
            {"_id": year, "approvals_revision": revision or {"$exists": False}},
            update_with_events(
                {"$inc": {"approvals_revision": 1}, "$set": {"approvals_run_at": now_text()}},
                events,
            ),
        )
        return result.modified_count == 1

    def awaiting_approval(self, year: int) -> list[dict]:
        return list(
            self.applications.find(
                {"campaign": year, "status": {"$in": ["eligible", "waitlisted"]}},
                {
                    "path": 1,
                    "applied_on": 1,
                    "received": 1,
                    "amount_fen": 1,
                    "parent_id_hash": 1,
                    "org": 1,
                    "campaign": 1,
                },
            )
        )

    def rank_applications(self, approved: list[str], waitlisted: list[str], by: str) -> None:
        """Record a run of the approvals; only applications still awaiting approval move."""
        at = now_text()
        for ids, status in ((approved, "approved"), (waitlisted, "waitlisted")):
            if ids:
                self.applications.update_many(
                    {"_id": {"$in": ids}, "status": {"$in": ["eligible", "waitlisted"]}},
                    {"$set": {"status": status, "ranked_at": at, "ranked_by": by}},
                )

    def publish_notice(self, year: int, notice: dict[str, Any]) -> bool:
        """Publish the campaign's notice; False when it has one already."""
        result = self.campaigns.update_one(
            {"_id": year, "notice": {"$exists": False}}, {"$set": {"notice": notice}}
        )
        return result.modified_count == 1

    def notice_entries(self, year: int) -> list[dict]:
        """The awards on the public notice, in the order received: only what the notice shows."""
        return list(
            self.applications.find(
                {"campaign": year, "status": {"$in": list(AWARDED)}},
                {"student_name_masked": 1, "school": 1, "education_level": 1, "amount_fen": 1},
            ).sort("received", 1)
        )

    def open_objection(self, application_id: str, objection: dict[str, Any]) -> bool:
        """Record an objection to an approved award not yet in a disbursement batch, and put the
        award back to review, in one write; False when it is not such an award."""
        result = self.applications.update_one(
            {"_id": application_id, "status": "approved", "batch_id": {"$exists": False}},
            {
                "$set": {
                    "status": "in_review",
                    "open_objection": objection["objection_id"],
                    f"objections.{objection['objection_id']}": objection,
                }
            },
        )
        return result.modified_count == 1

    def decide_objection(
        self, application_id: str, objection_id: str, upheld: bool, status: str, by: str, at: str
    ) -> bool:
        """Decide an open objection: the award is ``status`` after it; False when decided already."""
        result = self.applications.update_one(
            {"_id": application_id, "status": "in_review", "open_objection": objection_id},
            {
                "$set": {
                    "status": status,
                    f"objections.{objection_id}.upheld": upheld,
                    f"objections.{objection_id}.decided_by": by,
                    f"objections.{objection_id}.decided_at": at,
                },
                "$unset": {"open_objection": ""},
            },
        )
        return result.modified_count == 1

    def count_with_status(self, year: int, status: str) -> int:
        return self.applications.count_documents({"campaign": year, "status": status})

    def figure_rows(self, year: int) -> list[dict]:
        return list(
            self.applications.find(
                {"campaign": year},
                {"org": 1, "education_level": 1, "path": 1, "status": 1, "amount_fen": 1},
            )
        )

    # ---- disbursement ------------------------------------------------------------------------

    def open_disbursement(self, batch: dict[str, Any]) -> tuple[dict, bool]:
        """The campaign's batch: created now (True) or found (False); its id is the campaign's."""
        try:
            self.disbursements.insert_one(batch)
        except DuplicateKeyError:
            return self.disbursements.find_one({"_id": batch["_id"]}), False
        return batch, True

    def disbursement(self, batch_id: str) -> dict | None:
        return self.disbursements.find_one({"_id": batch_id})

    def disbursement_of(self, year: int) -> dict | None:
        """The campaign's batch once assembled (a half-assembled one is completed by its maker)."""
        return self.disbursements.find_one({"campaign": year, "status": {"$ne": "assigning"}})

    def assign_awards(self, batch_id: str, year: int) -> int:
        """Put every approved award of the campaign not yet in a batch into ``batch_id``."""
        result = self.applications.update_many(
            {"campaign": year, "status": "approved", "batch_id": {"$exists": False}},
            {"$set": {"batch_id": batch_id}},
        )
        return result.modified_count

    def batch_awards(self, batch_id: str) -> list[dict]:
        return list(
            self.applications.find({"batch_id": batch_id}, {"outbox": 0}).sort("received", 1)
        )

    def finish_disbursement(self, batch_id: str, awards: int, total: int) -> dict:
        return self.disbursements.find_one_and_update(
            {"_id": batch_id},
            {"$set": {"status": "created", "awards": awards, "total_fen": total}},
            return_document=ReturnDocument.AFTER,
        )

    def pay_awards(self, batch_id: str, paid: list[tuple[str, Event]], paid_on: str) -> int:
        """Mark the batch's approved awards paid, each with its event in the same write; an award
        paid before matches nothing, so a repeat emits nothing twice."""
        count = 0
        for application_id, event in paid:
            result = self.applications.update_one(
                {"_id": application_id, "status": "approved", "batch_id": batch_id},
                update_with_events({"$set": {"status": "paid", "paid_on": paid_on}}, [event]),
            )
            count += result.modified_count
        return count

    def mark_disbursement_paid(self, batch_id: str, confirmed_by: str, at: str) -> None:
        self.disbursements.update_one(
            {"_id": batch_id},
            {"$set": {"status": "paid", "confirmed_by": confirmed_by, "confirmed_at": at}},
        )
