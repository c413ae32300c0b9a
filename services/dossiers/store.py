"""The only code of dossiers that speaks pymongo: dossiers, member claims, campaigns and
their tasks, funds, condolence batches and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any

from pymongo import DESCENDING, ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.dossiers.domain.verification import ProposalExpiry
from shared import orgs
from shared.config import Settings
from shared.crypto import vault_of
from shared.events import SHANGHAI, Event, now_shanghai
from shared.outbox import insert_with_events, update_with_events

DUPLICATE_KEY = 11000
# A member claim with no dossier after this long belongs to an intake that died: free it.
ORPHAN_CLAIM_SECONDS = 60
# Documents per insert_many / bulk_write: big enough to be fast, small enough to stream.
CHUNK = 1000


class MemberAlreadyInDossier(Exception):
    """A household member's ID number is already claimed by another live dossier."""

    def __init__(self, id_hash: str, dossier_id: str):
        super().__init__(id_hash, dossier_id)
        self.id_hash = id_hash
        self.dossier_id = dossier_id


def now_iso() -> str:
    return now_shanghai().isoformat(timespec="milliseconds")


def start_of_day_iso(day: date) -> str:
    """The first instant of ``day`` in Asia/Shanghai, shaped as ``now_iso`` shapes times."""
    return datetime.combine(day, time(), SHANGHAI).isoformat(timespec="milliseconds")


def iso_seconds_ago(seconds: float) -> str:
    """Comparable with ``now_iso`` strings (same offset and precision)."""
    return (now_shanghai() - timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fund_key(fund: str, year: int) -> str:
    return f"{fund}:{year}"


class DossierStore:
    def __init__(self, db: Database, settings: Settings):
        self.dossiers = db["dossiers"]
        self.member_claims = db["member_claims"]
        self.campaigns = db["campaigns"]
        self.tasks = db["verification_tasks"]
        self.funds = db["funds"]
        self.batches = db["condolence_batches"]
        self.audit_log = db["audit_log"]
        self.intake_requests = db["intake_requests"]
        self.reevaluation_tasks = db["reevaluation_tasks"]
        self.hire_signals = db["hire_signals"]
        self.vault = vault_of(settings)

    def ensure_indexes(self) -> None:
        self.dossiers.create_index(
            [("status", 1), ("county", 1), ("tier", 1)], name="status_county_tier_idx"
        )
        self.dossiers.create_index([("org", 1)], name="org_idx")
        self.dossiers.create_index([("head_id_hash", 1), ("status", 1)], name="head_status_idx")
        self.dossiers.create_index([("status", 1), ("closed_on", 1)], name="status_closed_on_idx")
        self.member_claims.create_index([("dossier_id", 1)], name="dossier_id_idx")
        self.tasks.create_index(
            [("campaign_id", 1), ("status", 1), ("county", 1)], name="campaign_status_county_idx"
        )
        self.tasks.create_index([("dossier_id", 1)], name="dossier_id_idx")
        self.audit_log.create_index([("at", DESCENDING)], name="at_idx")
        self.audit_log.create_index([("action", 1), ("at", DESCENDING)], name="action_at_idx")
        self.audit_log.create_index([("actor", 1), ("at", DESCENDING)], name="actor_at_idx")
        # One intake request per 12345 case, however often or concurrently it is forwarded.
        self.intake_requests.create_index([("case_no", 1)], name="case_no_idx", unique=True)
        self.intake_requests.create_index(
            [("org", 1), ("status", 1), ("received_at", 1)], name="org_status_received_idx"
        )
        self.reevaluation_tasks.create_index(
            [("org", 1), ("status", 1), ("created_at", 1)], name="org_status_created_idx"
        )
        self.reevaluation_tasks.create_index(
            [("dossier_id", 1), ("status", 1)], name="dossier_status_idx"
        )

    # ---- intake: member claims, then the dossier -----------------------------------------------

    def claim_members(
        self, dossier_id: str, id_hashes: list[str], expiry: ProposalExpiry | None = None
    ) -> None:
        """Reserve every member's ID hash for ``dossier_id`` (unique ``_id``), all or none.

        Two intakes (or an intake and a visit adding a member) racing for one member collide
        on the claim's ``_id``: exactly one wins. A claim is taken over when its dossier no
        longer holds its members (closed, declined, or a proposal that ``expiry`` says has
        expired: it is marked expired here, lazily), and after a grace period when its dossier
        is missing or does not list the member (an intake or a visit that died between its
        claims and its dossier write)."""
        for _ in range(3):
            docs = [
                {"_id": h, "dossier_id": dossier_id, "claimed_at": now_iso()} for h in id_hashes
            ]
            try:
                self.member_claims.insert_many(docs, ordered=False)
                return
            except BulkWriteError as exc:
                errors = exc.details["writeErrors"]
                if any(e["code"] != DUPLICATE_KEY for e in errors):
                    self.release_members(dossier_id, id_hashes)
                    raise
                taken = [docs[e["index"]]["_id"] for e in errors]
            self.release_members(dossier_id, id_hashes)
            for id_hash in taken:
                holder = self.member_claims.find_one({"_id": id_hash})
                if holder is None:
                    continue  # released meanwhile: try again
                holding = self.dossiers.find_one(
                    {"_id": holder["dossier_id"]}, {"status": 1, "created_at": 1, "members": 1}
                )
                if holding is not None and not self._still_holds(holding, expiry):
                    # Its release did not finish (a crash after the status change): finish it.
                    self.member_claims.delete_one(
                        {"_id": id_hash, "dossier_id": holder["dossier_id"]}
                    )
                    continue
                if holding is not None and any(m["id_hash"] == id_hash for m in holding["members"]):
                    raise MemberAlreadyInDossier(id_hash, holder["dossier_id"])
                # No dossier listing the member yet: an intake or a visit in flight (it writes
                # its dossier milliseconds after its claims) or an orphan of one that died. Only
                # a claim older than the grace period is an orphan; taking over a fresh one
                # would let both through.
                freed = self.member_claims.delete_one(
                    {
                        "_id": id_hash,
                        "dossier_id": holder["dossier_id"],
                        "claimed_at": {"$lt": iso_seconds_ago(ORPHAN_CLAIM_SECONDS)},
                    }
                )
                if not freed.deleted_count:
                    raise MemberAlreadyInDossier(id_hash, holder["dossier_id"])
        raise RuntimeError(f"could not claim the members of dossier {dossier_id}")

    def _still_holds(self, dossier: dict, expiry: ProposalExpiry | None) -> bool:
        if dossier["status"] == "open":
            return True
        if dossier["status"] != "proposed":
            return False
        # Not expired now: either not due, or confirmed (open) meanwhile.
        return not (expiry and self.expire_proposal(dossier["_id"], expiry))

    def release_members(self, dossier_id: str, id_hashes: list[str] | None = None) -> None:
        """Free the members ``dossier_id`` holds: all of them, or only ``id_hashes``."""
        query: dict[str, Any] = {"dossier_id": dossier_id}
        if id_hashes is not None:
            query["_id"] = {"$in": list(id_hashes)}
        self.member_claims.delete_many(query)

    def create_dossier(
        self, doc: dict[str, Any], member_hashes: list[str], expiry: ProposalExpiry | None = None
    ) -> None:
        """Claim the members, then insert the dossier; on any failure release the claims."""
        self.claim_members(doc["_id"], member_hashes, expiry)
        try:
            self.dossiers.insert_one(insert_with_events(doc, []))
        except Exception:
            self.release_members(doc["_id"])
            raise

    # ---- dossiers --------------------------------------------------------------------------------

    def open_dossier_headed_by(self, head_id_hash: str) -> dict | None:
        return self.dossiers.find_one(
            {"head_id_hash": head_id_hash, "status": "open"},
            {"_id": 1, "head_id_hash": 1, "county": 1},
        )

    def dossier(self, dossier_id: str) -> dict | None:
        return self.dossiers.find_one({"_id": dossier_id}, {"outbox": 0})

    def list_dossiers(
        self, org: str, filters: dict[str, str | None], limit: int, offset: int = 0
    ) -> list[dict]:
        """The dossiers in ``org``'s scope matching ``filters`` (county, status, tier), in id
        order, ``limit`` of them after the first ``offset``."""
        return list(
            self.dossiers.find(
                self._dossiers_scoped(org, filters), {"outbox": 0, "ledger": 0, "visits": 0}
            )
            .sort("_id", 1)
            .skip(offset)
            .limit(limit)
        )

    def export_rows(
        self, org: str, filters: dict[str, str | None], columns: Iterable[str]
    ) -> Iterator[dict]:
        """The dossiers in ``org``'s scope matching ``filters``, streamed: ``columns`` and what
        an export adds (masked head ID number, members, assistance total)."""
        projection = {c: 1 for c in columns} | {
            "head_id_masked": 1,
            "members": 1,
            "assistance_total_fen": 1,
        }
        return self._stream(self._dossiers_scoped(org, filters), projection)

    def open_counts(self, org: str) -> list[tuple[str, str, int]]:
        """(county, tier, open dossiers) in ``org``'s scope, counted by the database. Grouped
        on one string key: nx-27017 does not group on a document key (``{county, tier}``)."""
        found = self.dossiers.aggregate(
            [
                {"$match": {"status": {"$eq": "open"}, **self._dossier_scope(org)}},
                {"$project": {"key": {"$concat": ["$county", " ", "$tier"]}}},
                {"$group": {"_id": "$key", "n": {"$sum": 1}}},
            ]
        )
        return [(*row["_id"].split(" ", 1), row["n"]) for row in found if row["_id"]]

    def open_dossiers(self) -> Iterator[dict]:
        """Every open dossier's county and org, streamed (a campaign's tasks)."""
        return self._stream({"status": "open"}, {"county": 1, "org": 1})

    def open_dossiers_without(self, org: str, ledger_key: str) -> Iterator[dict]:
        """The open dossiers in ``org``'s scope whose ledger holds no ``ledger_key`` yet, with
        their tier, county and head, streamed."""
        query = {
            **orgs.scope_filter(org),
            "status": "open",
            f"ledger.{ledger_key}": {"$exists": False},
        }
        return self._stream(query, {"tier": 1, "county": 1, "head_id_hash": 1})

    def _stream(self, query: dict[str, Any], projection: dict[str, Any]) -> Iterator[dict]:
        return self.dossiers.find(query, projection).sort("_id", 1).batch_size(CHUNK)

    @classmethod
    def _dossiers_scoped(cls, org: str, filters: dict[str, str | None]) -> dict[str, Any]:
        """``_scoped`` for dossiers, with the caller's county named too when the filters do
        not: the same dossiers (a dossier's county is always its org's), found through
        ``status_county_tier_idx`` rather than by the org pattern alone."""
        county = orgs.county_of(org)
        if county and not filters.get("county"):
            filters = {**filters, "county": county}
        return cls._scoped(org, filters)

    @staticmethod
    def _dossier_scope(org: str) -> dict[str, Any]:
        """``org``'s scope over dossiers, by field equality an index serves: a county's by
        ``county`` (intake and transfer keep a dossier's county its org's), a unit's by
        ``org``. nx-27017 runs an aggregate's ``$regex`` (the org pattern) over every
        document: 20,000 took seconds to count for a county."""
        if orgs.is_city_root(org):
            return {}
        if orgs.tree().is_county(org):
            return {"county": {"$eq": org}}
        if orgs.tree().is_unit(org):
            return {"org": {"$eq": org}}
        return orgs.scope_filter(org)  # an org the tree does not know: nothing

    @staticmethod
    def _scoped(org: str, filters: dict[str, str | None]) -> dict[str, Any]:
        """``org``'s scope (a filter on ``org``) narrowed by validated filters on other fields
        (county, status, tier): each a plain string, so never an operator. Each is an
        explicit ``$eq``: the same query to MongoDB, and the form nx-27017 serves from a
        compound index (``status_county_tier_idx``); a bare value it matches through an
        array-aware subquery no index serves, which cost a filtered list of 20,000 dossiers
        a walk over every open one."""
        named = {key: {"$eq": value} for key, value in filters.items() if value}
        return {**named, **orgs.scope_filter(org)}

    # A state change is one compare-and-set on ``revision`` (and status) with its events in
    # the same write; None when the dossier changed meanwhile.

    def establish(
        self, dossier_id: str, revision: int, tier: str, on: date, event: Event
    ) -> dict | None:
        """Open a proposal at ``tier``."""
        fields = {"status": "open", "tier": tier, "opened_on": on.isoformat()}
        return self._change(dossier_id, revision, fields, [event], status="proposed")

    def decline_proposal(self, dossier_id: str, revision: int, on: date) -> dict | None:
        """Close a proposal staff declined, and free its members."""
        fields = {"status": "declined", "closed_on": on.isoformat()}
        declined = self._change(dossier_id, revision, fields, [], status="proposed")
        if declined is not None:
            self.release_members(dossier_id)
        return declined

    def close_dossier(
        self,
        dossier_id: str,
        revision: int,
        reason: str,
        on: date,
        event: Event,
        decision: dict | None = None,
    ) -> dict | None:
        """Exit: close the open dossier with ``reason`` on ``on`` and free its members; with a
        visit's ``decision`` when a visit proposed the exit."""
        fields = {"status": "closed", "closed_on": on.isoformat(), "exit_reason": reason}
        closed = self._change(dossier_id, revision, fields | self._decided(decision), [event])
        if closed is not None:
            self.release_members(dossier_id)
        return closed

    def transfer(
        self, dossier_id: str, revision: int, county: str, org: str, event: Event
    ) -> dict | None:
        """Move the open dossier to ``county`` and ``org``; it stays open."""
        return self._change(dossier_id, revision, {"county": county, "org": org}, [event])

    def record_visit(
        self,
        dossier_id: str,
        revision: int,
        *,
        household: dict[str, Any],
        visit_id: str,
        visit: dict[str, Any],
        pending: dict | None,
        superseded_visit_id: str | None,
    ) -> dict | None:
        """Write the household as a visit found it, the visit, and its re-evaluation waiting
        for staff (``pending``), superseding the one still waiting."""
        fields = {
            **household,
            "verification_overdue": False,
            "last_visit_on": visit["visit_date"],
            "pending_re_evaluation": pending,
            f"visits.{visit_id}": visit,
        }
        if superseded_visit_id:
            fields[f"visits.{superseded_visit_id}.decision"] = "superseded"
        return self._change(dossier_id, revision, fields, [])

    def change_tier(
        self, dossier_id: str, revision: int, tier: str, decision: dict, event: Event
    ) -> dict | None:
        """The tier change a visit proposed, accepted."""
        return self._change(dossier_id, revision, {"tier": tier} | self._decided(decision), [event])

    def decide_visit(self, dossier_id: str, revision: int, decision: dict) -> dict | None:
        """A visit's re-evaluation rejected (or accepted with nothing to change)."""
        return self._change(dossier_id, revision, self._decided(decision), [])

    @staticmethod
    def _decided(decision: dict | None) -> dict[str, Any]:
        """The fields of a decision on a visit's re-evaluation: ``visit_id``, ``accepted``,
        ``decided_by``."""
        if decision is None:
            return {}
        visit = f"visits.{decision['visit_id']}"
        return {
            "pending_re_evaluation": None,
            f"{visit}.decision": "accepted" if decision["accepted"] else "rejected",
            f"{visit}.decided_by": decision["decided_by"],
        }

    def flag_overdue(
        self, dossier_id: str, revision: int, campaign_id: str, event: Event
    ) -> dict | None:
        """Mark the open dossier unvisited by the close of ``campaign_id``."""
        fields = {"verification_overdue": True, "overdue_in": campaign_id}
        return self._change(dossier_id, revision, fields, [event])

    def _change(
        self,
        dossier_id: str,
        revision: int,
        fields: dict[str, Any],
        events: Iterable[Event],
        status: str = "open",
    ) -> dict | None:
        """Set ``fields`` and write ``events`` in one write, only if nobody changed the dossier
        since ``revision`` was read and it is still in ``status``; bumps the revision."""
        return self.dossiers.find_one_and_update(
            {"_id": dossier_id, "revision": revision, "status": status},
            update_with_events({"$set": {**fields, "revision": revision + 1}}, events),
            projection={"outbox": 0},
            return_document=ReturnDocument.AFTER,
        )

    def expire_proposal(self, dossier_id: str, expiry: ProposalExpiry) -> bool:
        """Mark the proposal ``expired`` if it still is one and is due, then free its members;
        True when this call expired it. The status guard makes it once across replicas."""
        expired = self.dossiers.find_one_and_update(
            {
                "_id": dossier_id,
                "status": "proposed",
                "created_at": {"$lt": expiry.received_before_at},
            },
            {
                "$set": {
                    "status": "expired",
                    "closed_on": expiry.today.isoformat(),
                    "expired_under": expiry.policy_version,
                },
                "$inc": {"revision": 1},
            },
            projection={"_id": 1},
        )
        if expired is None:
            return False
        self.release_members(dossier_id)
        return True

    def expire_proposals(self, expiry: ProposalExpiry, limit: int = CHUNK) -> list[str]:
        """Expire up to ``limit`` due proposals; returns those this call expired."""
        due = self.dossiers.find(
            {"status": "proposed", "created_at": {"$lt": expiry.received_before_at}},
            {"_id": 1},
        ).limit(limit)
        return [d["_id"] for d in list(due) if self.expire_proposal(d["_id"], expiry)]

    def purge_closed(self, closed_on_or_before: str, limit: int = CHUNK) -> list[str]:
        """Delete dossiers closed (declined, expired) on or before ``closed_on_or_before`` (ISO
        date) whose events have all left, and their tasks; returns their ids. The audit log
        keeps its entries."""
        ids = [
            d["_id"]
            for d in self.dossiers.find(
                {
                    "status": {"$in": ["closed", "declined", "expired"]},
                    "closed_on": {"$lte": closed_on_or_before},
                    "outbox_pending": {"$exists": False},
                },
                {"_id": 1},
            ).limit(limit)
        ]
        if ids:
            self.dossiers.delete_many({"_id": {"$in": ids}})
            self.tasks.delete_many({"dossier_id": {"$in": ids}})
        return ids

    # ---- assistance ledger (帮扶台账) ---------------------------------------------------------

    def record_grant(self, dossier_id: str, grant: dict[str, Any], event: Event) -> bool:
        """Add ``grant`` to the open dossier's ledger once (keyed by ``grant_id``)."""
        return self.record_grants([(dossier_id, grant["grant_id"], grant, event)]) == 1

    def record_grants(self, entries: list[tuple[str, str, dict[str, Any], Event]]) -> int:
        """Add grants to open dossiers' ledgers, each once under its ledger key, with its event,
        in one bulk write; returns how many were new. ``entries``: (dossier, key, grant, event)."""
        if not entries:
            return 0
        operations = [
            UpdateOne(
                {"_id": dossier_id, "status": "open", f"ledger.{key}": {"$exists": False}},
                update_with_events(
                    {
                        "$set": {f"ledger.{key}": grant},
                        "$inc": {"assistance_total_fen": grant["amount_fen"]},
                    },
                    [event],
                ),
            )
            for dossier_id, key, grant, event in entries
        ]
        return self.dossiers.bulk_write(operations, ordered=False).modified_count

    def holding(self, dossier_ids: list[str], ledger_key: str) -> list[dict]:
        """Those of ``dossier_ids`` whose ledger holds ``ledger_key``, with that entry."""
        return list(
            self.dossiers.find(
                {"_id": {"$in": dossier_ids}, f"ledger.{ledger_key}": {"$exists": True}},
                # The whole ledger: nx-27017 ignores a dotted projection (a household's ledger is small).
                {"ledger": 1},
            )
        )

    # ---- funds (专项帮扶资金) -----------------------------------------------------------------

    def set_fund(self, fund: str, year: int, budget: int) -> dict:
        """Create a fund-year or change its budget (never below what is already spent)."""
        try:
            self.funds.insert_one(
                {
                    "_id": fund_key(fund, year),
                    "fund": fund,
                    "year": year,
                    "budget_fen": budget,
                    "spent_fen": 0,
                    "created_at": now_iso(),
                }
            )
        except DuplicateKeyError:
            result = self.funds.update_one(
                {"_id": fund_key(fund, year), "spent_fen": {"$lte": budget}},
                {"$set": {"budget_fen": budget}},
            )
            if not result.matched_count:
                raise ValueError("the budget would be below what is already spent") from None
        return self.fund(fund, year)

    def fund(self, fund: str, year: int) -> dict | None:
        return self.funds.find_one({"_id": fund_key(fund, year)}, {"reservations": 0})

    def reserve(self, fund: str, year: int, amount: int, reservation_id: str) -> bool:
        """Take ``amount`` from the fund-year unless that would overdraw it; once per
        ``reservation_id``. A conditional ``$inc``: concurrent grants can never overdraw."""
        fund_doc = self.funds.find_one({"_id": fund_key(fund, year)}, {"budget_fen": 1})
        if fund_doc is None:
            return False
        result = self.funds.update_one(
            {
                "_id": fund_key(fund, year),
                "spent_fen": {"$lte": fund_doc["budget_fen"] - amount},
                "budget_fen": fund_doc["budget_fen"],
                f"reservations.{reservation_id}": {"$exists": False},
            },
            {"$inc": {"spent_fen": amount}, "$set": {f"reservations.{reservation_id}": amount}},
        )
        if result.modified_count == 1:
            return True
        return bool(
            self.funds.count_documents(
                {"_id": fund_key(fund, year), f"reservations.{reservation_id}": {"$exists": True}}
            )
        )

    def release(self, fund: str, year: int, amount: int, reservation_id: str) -> None:
        """Give back ``amount`` of a reservation (a grant that could not land), once."""
        self.funds.update_one(
            {
                "_id": fund_key(fund, year),
                f"released.{reservation_id}": {"$exists": False},
            },
            {"$inc": {"spent_fen": -amount}, "$set": {f"released.{reservation_id}": amount}},
        )

    # ---- verification campaigns ----------------------------------------------------------------

    def create_campaign(self, doc: dict[str, Any]) -> bool:
        """Insert the campaign; False when another replica (or an earlier call) already did."""
        try:
            self.campaigns.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def campaign(self, campaign_id: str) -> dict | None:
        return self.campaigns.find_one({"_id": campaign_id})

    def campaigns_in(self, status: str) -> list[dict]:
        return list(self.campaigns.find({"status": status}))

    def campaign_opened(self, campaign_id: str) -> None:
        """Every task is in: the campaign is open, with their count."""
        fields = {"status": "open", "tasks": self.count_tasks(campaign_id)}
        self._move_campaign(campaign_id, "opening", fields)

    def campaign_closing(self, campaign_id: str) -> None:
        """Closing starts: unvisited dossiers are being flagged (a cut-short close resumes)."""
        self._move_campaign(campaign_id, "open", {"status": "closing"})

    def campaign_closed(self, campaign_id: str) -> None:
        """Every unvisited dossier is flagged: the campaign is closed, with their count."""
        fields = {
            "status": "closed",
            "overdue": self.count_tasks(campaign_id, "overdue"),
            "closed_at": now_iso(),
        }
        self._move_campaign(campaign_id, "closing", fields)

    def _move_campaign(self, campaign_id: str, from_status: str, fields: dict[str, Any]) -> None:
        """A status compare-and-set: of replicas doing the same step, one moves it."""
        self.campaigns.update_one({"_id": campaign_id, "status": from_status}, {"$set": fields})

    def insert_tasks(self, tasks: list[dict[str, Any]]) -> int:
        """Insert tasks in chunks, skipping those already there (a resumed opening)."""
        inserted = 0
        for part in chunks(tasks):
            try:
                inserted += len(self.tasks.insert_many(part, ordered=False).inserted_ids)
            except BulkWriteError as exc:
                errors = exc.details["writeErrors"]
                if any(e["code"] != DUPLICATE_KEY for e in errors):
                    raise
                inserted += exc.details["nInserted"]
        return inserted

    def count_tasks(self, campaign_id: str, status: str | None = None) -> int:
        query: dict[str, Any] = {"campaign_id": campaign_id}
        if status:
            query["status"] = status
        return self.tasks.count_documents(query)

    def pending_task_for(self, dossier_id: str) -> dict | None:
        return self.tasks.find_one({"dossier_id": dossier_id, "status": "pending"})

    def mark_task_visited(self, task_id: str, visit_id: str) -> None:
        self.tasks.update_one(
            {"_id": task_id, "status": "pending"},
            {"$set": {"status": "visited", "visit_id": visit_id, "visited_at": now_iso()}},
        )

    def pending_tasks(self, campaign_id: str) -> list[dict]:
        return list(self.tasks.find({"campaign_id": campaign_id, "status": "pending"}))

    def mark_tasks_overdue(self, task_ids: list[str]) -> None:
        for part in chunks(task_ids):
            self.tasks.update_many(
                {"_id": {"$in": part}, "status": "pending"}, {"$set": {"status": "overdue"}}
            )

    def overdue_tasks(self, campaign_id: str, org: str, county: str | None) -> list[dict]:
        """The campaign's overdue tasks in ``org``'s scope (a task carries its dossier's org
        and county), in ``county`` when named."""
        query = {**orgs.scope_filter(org), "campaign_id": campaign_id, "status": "overdue"}
        if county:
            query["county"] = county
        return list(self.tasks.find(query).sort("_id", 1))

    # ---- condolence batches (两节慰问) --------------------------------------------------------

    def create_batch(self, doc: dict[str, Any]) -> bool:
        try:
            self.batches.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def batch(self, batch_id: str) -> dict | None:
        return self.batches.find_one({"_id": batch_id})

    def batch_progress(self, batch_id: str) -> dict | None:
        """The batch without its household list: what a progress poll reads."""
        return self.batches.find_one({"_id": batch_id}, {"entries": 0})

    def batch_went_through(self, batch_id: str, done: int) -> None:
        """``done`` households of a paying batch are gone through (a progress poll reads it)."""
        self.batches.update_one({"_id": batch_id, "status": "paying"}, {"$max": {"done": done}})

    def drop_batch(self, batch_id: str, status: str) -> None:
        """Forget a batch that paid nobody (refused), so it can be run again later."""
        self.batches.delete_one({"_id": batch_id, "status": status})

    def batch_reserved(self, batch_id: str) -> None:
        """The fund holds the batch's total: its households are paid next."""
        self.batches.update_one(
            {"_id": batch_id, "status": "reserving"}, {"$set": {"status": "paying"}}
        )

    def batch_paid(self, batch_id: str, households: int, paid_fen: int) -> None:
        """Every household is paid (by this run or another); what they did not take is back."""
        self.batches.update_one(
            {"_id": batch_id, "status": "paying"},
            {
                "$set": {
                    "status": "paid",
                    "paid_households": households,
                    "paid_fen": paid_fen,
                    "paid_at": now_iso(),
                }
            },
        )

    # ---- 12345 referrals: the counties' intake-request queue ------------------------------------

    def take_intake_request(self, doc: dict[str, Any]) -> tuple[dict, bool]:
        """Insert the request unless its ``case_no`` is in already (the unique index decides,
        also between concurrent calls); the request as stored and whether it is new."""
        try:
            self.intake_requests.insert_one(doc)
        except DuplicateKeyError:
            existing = self.intake_requests.find_one({"case_no": doc["case_no"]})
            if existing is None:  # not the case number's index that refused it
                raise
            return existing, False
        return doc, True

    def intake_request(self, request_id: str) -> dict | None:
        return self.intake_requests.find_one({"_id": request_id})

    def list_intake_requests(
        self, org: str, county: str | None, status: str | None, limit: int
    ) -> list[dict]:
        """The requests in ``org``'s scope (a request's org is its county), oldest first."""
        query = self._scoped(org, {"county": county, "status": status})
        return list(self.intake_requests.find(query).sort("received_at", 1).limit(limit))

    def close_intake_request(self, request_id: str, fields: dict[str, Any]) -> dict | None:
        """Close the open request with ``fields`` (who, when, the dossier or a note); None when
        it was closed meanwhile."""
        return self.intake_requests.find_one_and_update(
            {"_id": request_id, "status": "open"},
            {"$set": {**fields, "status": "closed"}},
            return_document=ReturnDocument.AFTER,
        )

    # ---- re-evaluation tasks (a dossier head hired) ---------------------------------------------

    def record_hire(self, event_id: str, signal: dict[str, Any], task: dict | None) -> bool:
        """Keep what a ``dossier_holder_hired`` event decided, once per event id: the task
        first (its ``_id`` is the hire's intent, so a redelivery or a second event of the
        same hire adds none), then the signal keyed by the event. A crash between the two
        leaves a task whose event a redelivery records. False when the event was seen before."""
        if task is not None:
            try:
                self.reevaluation_tasks.insert_one(task)
                signal = {**signal, "task_created": True}
            except DuplicateKeyError:
                signal = {**signal, "task_created": False}
        try:
            self.hire_signals.insert_one({**signal, "_id": event_id, "recorded_at": now_iso()})
        except DuplicateKeyError:
            return False
        return True

    def hire_signal(self, event_id: str) -> dict | None:
        return self.hire_signals.find_one({"_id": event_id})

    def list_reevaluation_tasks(
        self, org: str, county: str | None, status: str | None, limit: int
    ) -> list[dict]:
        """The tasks in ``org``'s scope (a task carries its dossier's org), oldest first."""
        query = self._scoped(org, {"county": county, "status": status})
        return list(self.reevaluation_tasks.find(query).sort("created_at", 1).limit(limit))

    def answer_reevaluation_tasks(self, dossier_id: str, visit_id: str) -> None:
        """A visit to the dossier answers its pending re-evaluation tasks: the visit's own
        re-evaluation is the proposal staff confirm."""
        self.reevaluation_tasks.update_many(
            {"dossier_id": dossier_id, "status": "pending"},
            {"$set": {"status": "visited", "visit_id": visit_id, "visited_at": now_iso()}},
        )

    # ---- audit log (append-only) ---------------------------------------------------------------

    def audit(
        self, *, actor: dict, action: str, target: str, org: str | None, detail: dict
    ) -> None:
        """Insert only: no code path updates or deletes an audit entry."""
        self.audit_log.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "at": now_iso(),
                "actor": actor["sub"],
                "role": actor["role"],
                "actor_org": actor["org"],
                "action": action,
                "target": target,
                "org": org,
                "detail": detail,
            }
        )

    def audit_entries(
        self,
        action: str | None,
        target: str | None,
        limit: int,
        *,
        actor: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        scope: str | None = None,
    ) -> list[dict]:
        """The newest ``limit`` entries, of ``action``, on ``target`` and by ``actor`` when
        named, on the days ``date_from`` to ``date_to`` (both kept), about an org in ``scope``
        when named (an entry with no org only for the city root)."""
        named = {"action": action, "target": target, "actor": actor}
        query = {key: value for key, value in named.items() if value}
        # Every ``at`` is written by now_iso(): bounds in that very shape (a day's first
        # instant in Asia/Shanghai) order the same compared as strings (MongoDB) or as
        # instants (nx-27017 reads ISO strings as dates).
        at: dict[str, str] = {}
        if date_from:
            at["$gte"] = start_of_day_iso(date_from)
        if date_to:
            at["$lt"] = start_of_day_iso(date_to + timedelta(days=1))
        if at:
            query["at"] = at
        if scope is not None:
            query.update(orgs.scope_filter(scope))
        return list(self.audit_log.find(query).sort("at", DESCENDING).limit(limit))
