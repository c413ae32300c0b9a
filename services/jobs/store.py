"""The only code of jobs that speaks pymongo: employers, vacancies, seekers, fairs and their
registrations, intents with their hires and follow-ups, 12345 referrals, the dossier-head read
model, and the change sequence the match index follows."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.config import Settings
from shared.consumer import record_dossier_head
from shared.crypto import vault_of
from shared.events import Event, now_shanghai
from shared.identity import mask_id_number, mask_name
from shared.outbox import insert_with_events, update_with_events

OPEN = "open"
EXITED = "exited"
SEQ = "seq"
# The change number a record was inserted with: equal match scores rank the earlier first.
ORDER = "order"
# What the match index reads of each side (services/jobs/application/matching.py).
VACANCY_FIELDS = {
    "county": 1,
    "education": 1,
    "salary_min_fen": 1,
    "salary_max_fen": 1,
    "experience_years": 1,
    "occupation": 1,
    "skills": 1,
    "migrant_friendly": 1,
    "status": 1,
    "open_headcount": 1,
    "valid_until": 1,
    SEQ: 1,
    ORDER: 1,
}
SEEKER_FIELDS = {
    "county": 1,
    "education": 1,
    "min_salary_fen": 1,
    "experience_years": 1,
    "desired_occupation": 1,
    "skills": 1,
    "willing_to_relocate": 1,
    "migrant_worker": 1,
    "hardship": 1,
    "status": 1,
    SEQ: 1,
    ORDER: 1,
}
_HIDDEN = {"outbox": 0, "applied_events": 0}


class Duplicate(Exception):
    """A unique key met an existing record: ``existing_id`` names it."""

    def __init__(self, existing_id: str):
        super().__init__(existing_id)
        self.existing_id = existing_id


def now_text() -> str:
    return now_shanghai().isoformat(timespec="milliseconds")


class JobsStore:
    def __init__(self, db: Database, settings: Settings):
        self.employers = db["employers"]
        self.vacancies = db["vacancies"]
        self.seekers = db["seekers"]
        self.fairs = db["fairs"]
        self.registrations = db["registrations"]
        self.intents = db["intents"]
        self.referrals = db["referrals"]
        self.dossier_heads = db["dossier_heads"]
        self.counters = db["counters"]
        self.vault = vault_of(settings)

    def ensure_indexes(self) -> None:
        self.employers.create_index([("credit_code", 1)], name="credit_code_unique", unique=True)
        self.seekers.create_index([("id_hash", 1)], name="id_hash_unique", unique=True)
        self.seekers.create_index([("status", 1), ("county", 1)], name="status_county_idx")
        # The match index follows each side's changes in this order (seq > what it holds).
        self.vacancies.create_index([(SEQ, 1)], name="seq_idx")
        self.seekers.create_index([(SEQ, 1)], name="seq_idx")
        self.vacancies.create_index([("posted_on", 1)], name="posted_on_idx")
        self.seekers.create_index([("registered_on", 1)], name="registered_on_idx")
        self.fairs.create_index([("date", 1)], name="date_idx")
        self.registrations.create_index([("registered_on", 1)], name="registered_on_idx")
        self.intents.create_index(
            [("seeker_id", 1), ("vacancy_id", 1)], name="seeker_vacancy_unique", unique=True
        )
        self.intents.create_index([("agreed_on", 1)], name="agreed_on_idx")
        self.intents.create_index([("hired_on", 1)], name="hired_on_idx", sparse=True)
        self.referrals.create_index([("case_no", 1)], name="case_no_unique", unique=True)
        self.dossier_heads.create_index([("head_id_hash", 1)], name="head_id_hash_idx")

    def id_hash(self, id_number: str) -> str:
        return self.vault.lookup_hash(id_number)

    def next_seq(self, side: str, count: int = 1) -> int:
        """The last of ``count`` new change numbers of ``side`` (``vacancies`` or ``seekers``,
        each its own sequence), one round trip for a whole block."""
        counter = self.counters.find_one_and_update(
            {"_id": side},
            {"$inc": {"value": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return counter["value"]

    def last_seq(self, side: str) -> int:
        """The last change number ``side`` handed out (0 before any)."""
        counter = self.counters.find_one({"_id": side})
        return counter["value"] if counter else 0

    # ---- employers -------------------------------------------------------------------------

    def add_employer(self, employer: dict[str, Any]) -> None:
        """Raises Duplicate naming the employer already holding the credit code."""
        try:
            self.employers.insert_one({**employer, "created_at": now_text()})
        except DuplicateKeyError:
            existing = self.employers.find_one({"credit_code": employer["credit_code"]}, {"_id": 1})
            if existing is None:
                raise
            raise Duplicate(existing["_id"]) from None

    def employer(self, employer_id: str) -> dict | None:
        return self.employers.find_one({"_id": employer_id})

    # ---- vacancies -------------------------------------------------------------------------

    def add_vacancy(self, vacancy: dict[str, Any]) -> None:
        seq = self.next_seq("vacancies")
        self.vacancies.insert_one(
            {**vacancy, SEQ: seq, ORDER: seq, "hires": {}, "created_at": now_text()}
        )

    def add_vacancies(self, vacancies: list[dict[str, Any]]) -> None:
        """A block of vacancies (an import, the bench's generator) in one write."""
        last = self.next_seq("vacancies", len(vacancies))
        first = last - len(vacancies) + 1
        at = now_text()
        self.vacancies.insert_many(
            [
                {**v, SEQ: first + n, ORDER: first + n, "hires": {}, "created_at": at}
                for n, v in enumerate(vacancies)
            ]
        )

    def vacancy(self, vacancy_id: str) -> dict | None:
        return self.vacancies.find_one({"_id": vacancy_id})

    def take_place(self, vacancy_id: str, intent_id: str, hired_on: str) -> dict | None:
        """Take one open place of an open vacancy for ``intent_id``, once: the guard (a place
        left, this intent not yet counted) and the decrement are one write, so two hires racing
        for the last place cannot both pass. None when no place was taken now."""
        return self.vacancies.find_one_and_update(
            {
                "_id": vacancy_id,
                "status": "open",
                "open_headcount": {"$gte": 1},
                f"hires.{intent_id}": {"$exists": False},
            },
            {
                "$inc": {"open_headcount": -1},
                "$set": {f"hires.{intent_id}": hired_on, SEQ: self.next_seq("vacancies")},
            },
            projection={"open_headcount": 1, "hires": 1},
            return_document=ReturnDocument.AFTER,
        )

    def close_if_filled(self, vacancy_id: str) -> bool:
        """The last hire closes the vacancy (idempotent: only an open one with none left)."""
        result = self.vacancies.update_one(
            {"_id": vacancy_id, "status": "open", "open_headcount": {"$lte": 0}},
            {"$set": {"status": "filled", SEQ: self.next_seq("vacancies")}},
        )
        return result.modified_count == 1

    def vacancy_changes(self, after: int, limit: int) -> list[dict]:
        return list(
            self.vacancies.find({SEQ: {"$gt": after}}, VACANCY_FIELDS)
            .sort(SEQ, ASCENDING)
            .limit(limit)
        )

    def vacancies_at(self, seqs: list[int]) -> list[dict]:
        return list(self.vacancies.find({SEQ: {"$in": seqs}}, VACANCY_FIELDS))

    # ---- seekers ---------------------------------------------------------------------------

    def add_seeker(
        self, seeker: dict[str, Any], clear: dict[str, Any], events: list[Event]
    ) -> None:
        """Insert a seeker, its ID number, name and phone sealed, hashed and masked; raises
        Duplicate naming the seeker already registered with the ID number."""
        doc = self.sealed_seeker(seeker, clear)
        doc[SEQ] = doc[ORDER] = self.next_seq("seekers")
        try:
            self.seekers.insert_one(insert_with_events(doc, events))
        except DuplicateKeyError:
            existing = self.seekers.find_one({"id_hash": doc["id_hash"]}, {"_id": 1})
            if existing is None:
                raise
            raise Duplicate(existing["_id"]) from None

    def sealed_seeker(self, seeker: dict[str, Any], clear: dict[str, Any]) -> dict[str, Any]:
        phone = clear.get("phone")
        return {
            **seeker,
            "id_hash": self.id_hash(clear["id_number"]),
            "id_enc": self.vault.encrypt(clear["id_number"]),
            "id_masked": mask_id_number(clear["id_number"]),
            "name_enc": self.vault.encrypt(clear["name"]),
            "name_masked": mask_name(clear["name"]),
            "phone_enc": self.vault.encrypt(phone) if phone else None,
            "phone_masked": _mask_phone(phone) if phone else None,
            "created_at": now_text(),
        }

    def add_seekers(self, docs: list[dict[str, Any]]) -> None:
        """A block of sealed seekers (the bench's generator) in one write."""
        last = self.next_seq("seekers", len(docs))
        first = last - len(docs) + 1
        self.seekers.insert_many(
            [{**d, SEQ: first + n, ORDER: first + n} for n, d in enumerate(docs)]
        )

    def seeker(self, seeker_id: str) -> dict | None:
        return self.seekers.find_one({"_id": seeker_id}, _HIDDEN)

    def seeker_by_hash(self, id_hash: str) -> dict | None:
        return self.seekers.find_one({"id_hash": id_hash}, _HIDDEN)

    def complete_seeker(
        self, seeker_id: str, profile: dict[str, Any], phone: str | None, by: str
    ) -> dict | None:
        """Complete a seeker a referral registered: active from now on; None when it is not
        incomplete (completed already, or registered complete)."""
        fields = {**profile, "status": "active", "completed_by": by, "completed_at": now_text()}
        if phone:
            fields["phone_enc"] = self.vault.encrypt(phone)
            fields["phone_masked"] = _mask_phone(phone)
        fields[SEQ] = self.next_seq("seekers")
        return self.seekers.find_one_and_update(
            {"_id": seeker_id, "status": "incomplete"},
            {"$set": fields},
            projection=_HIDDEN,
            return_document=ReturnDocument.AFTER,
        )

    def list_seekers(self, status: str | None, counties: list[str], limit: int) -> list[dict]:
        query: dict[str, Any] = {"county": {"$in": counties}}
        if status is not None:
            query["status"] = status
        return list(self.seekers.find(query, _HIDDEN).sort("created_at", ASCENDING).limit(limit))

    def set_hardship(self, id_hash: str, hardship: bool) -> bool:
        """The seeker's priority follows the read model; a change is a change the index sees."""
        # A find by the unique hash, then a guarded update, each with an explicit $eq: nx-27017
        # answers a count (an aggregate) or a bare equality beside $ne by scanning every seeker,
        # over a second a call with the year's 68,000 (it stalled the year replay in May).
        seeker = self.seekers.find_one({"id_hash": {"$eq": id_hash}}, {"hardship": 1})
        if seeker is None or ("hardship" in seeker and bool(seeker["hardship"]) == hardship):
            return False  # no seeker, or no change: no change number spent
        result = self.seekers.update_one(
            {"id_hash": {"$eq": id_hash}, "hardship": {"$ne": hardship}},
            {"$set": {"hardship": hardship, SEQ: self.next_seq("seekers")}},
        )
        return result.modified_count == 1

    def seeker_changes(self, after: int, limit: int) -> list[dict]:
        return list(
            self.seekers.find({SEQ: {"$gt": after}}, SEEKER_FIELDS)
            .sort(SEQ, ASCENDING)
            .limit(limit)
        )

    def seekers_at(self, seqs: list[int]) -> list[dict]:
        return list(self.seekers.find({SEQ: {"$in": seqs}}, SEEKER_FIELDS))

    def open_mobile(self, seeker: dict) -> str | None:
        return self.vault.decrypt(seeker["phone_enc"]) if seeker.get("phone_enc") else None

    # ---- fairs -----------------------------------------------------------------------------

    def add_fair(self, fair: dict[str, Any]) -> None:
        self.fairs.insert_one({**fair, "created_at": now_text()})

    def fair(self, fair_id: str) -> dict | None:
        return self.fairs.find_one({"_id": fair_id})

    def register_for_fair(self, registration: dict[str, Any], events: list[Event]) -> bool:
        """False when registered already (its id is the fair and the registrant)."""
        try:
            self.registrations.insert_one(
                insert_with_events({**registration, "created_at": now_text()}, events)
            )
        except DuplicateKeyError:
            return False
        return True

    def registration(self, registration_id: str) -> dict | None:
        return self.registrations.find_one({"_id": registration_id}, _HIDDEN)

    def fair_counts(self, fair_id: str) -> tuple[int, int]:
        employers = self.registrations.count_documents(
            {"fair_id": fair_id, "employer_id": {"$exists": True}}
        )
        seekers = self.registrations.count_documents(
            {"fair_id": fair_id, "seeker_id": {"$exists": True}}
        )
        return employers, seekers

    # ---- intents, hires, follow-ups --------------------------------------------------------

    def add_intent(self, intent: dict[str, Any], events: list[Event]) -> None:
        try:
            self.intents.insert_one(
                insert_with_events({**intent, "created_at": now_text()}, events)
            )
        except DuplicateKeyError:
            existing = self.intents.find_one(
                {"seeker_id": intent["seeker_id"], "vacancy_id": intent["vacancy_id"]}, {"_id": 1}
            )
            if existing is None:
                raise
            raise Duplicate(existing["_id"]) from None

    def intent(self, intent_id: str) -> dict | None:
        return self.intents.find_one({"_id": intent_id}, _HIDDEN)

    def mark_hired(
        self, intent_id: str, hired_on: str, follow_ups: dict[str, dict], events: list[Event]
    ) -> bool:
        """The intent hired, its follow-ups due, and the events, in one write; False when it
        was hired before (a retry after the place was taken)."""
        result = self.intents.update_one(
            {"_id": intent_id, "status": "intent"},
            update_with_events(
                {"$set": {"status": "hired", "hired_on": hired_on, "follow_ups": follow_ups}},
                events,
            ),
        )
        return result.modified_count == 1

    def due_follow_ups(self, day: int, due_before: str | None, counties: list[str]) -> list[dict]:
        query: dict[str, Any] = {
            "status": "hired",
            "county": {"$in": counties},
            f"follow_ups.{day}.recorded_at": {"$exists": False},
        }
        if due_before is not None:
            query[f"follow_ups.{day}.due_on"] = {"$lt": due_before}
        return list(self.intents.find(query, _HIDDEN))

    def unnotified_follow_ups(self, day: int, today: str, limit: int) -> list[dict]:
        return list(
            self.intents.find(
                {
                    "status": "hired",
                    f"follow_ups.{day}.due_on": {"$lte": today},
                    f"follow_ups.{day}.notified_at": {"$exists": False},
                },
                _HIDDEN,
            ).limit(limit)
        )

    def notify_follow_up(self, intent_id: str, day: int, event: Event) -> bool:
        result = self.intents.update_one(
            {"_id": intent_id, f"follow_ups.{day}.notified_at": {"$exists": False}},
            update_with_events({"$set": {f"follow_ups.{day}.notified_at": now_text()}}, [event]),
        )
        return result.modified_count == 1

    def record_follow_up(self, intent_id: str, day: int, record: dict[str, Any]) -> bool:
        """False when the follow-up was recorded before, or the intent is not a hire."""
        result = self.intents.update_one(
            {
                "_id": intent_id,
                "status": "hired",
                f"follow_ups.{day}.recorded_at": {"$exists": False},
            },
            {"$set": {f"follow_ups.{day}.{k}": v for k, v in record.items()}},
        )
        return result.modified_count == 1

    # ---- referrals -------------------------------------------------------------------------

    def take_referral(self, referral: dict[str, Any]) -> tuple[dict, bool]:
        """The referral of this case number: recorded now (True) or found (False)."""
        try:
            self.referrals.insert_one({**referral, "received_at": now_text()})
        except DuplicateKeyError:
            existing = self.referrals.find_one({"case_no": referral["case_no"]})
            if existing is None:
                raise
            return existing, False
        return referral, True

    def link_referral(self, referral_id: str, seeker_id: str) -> None:
        self.referrals.update_one({"_id": referral_id}, {"$set": {"seeker_id": seeker_id}})

    # ---- figures ---------------------------------------------------------------------------

    def fairs_between(self, start: str, end: str) -> list[dict]:
        return list(
            self.fairs.find({"date": {"$gte": start, "$lte": end}}, {"kind": 1, "county": 1})
        )

    def fair_kinds(self, fair_ids: list[str]) -> dict[str, str]:
        return {
            f["_id"]: f["kind"] for f in self.fairs.find({"_id": {"$in": fair_ids}}, {"kind": 1})
        }

    def vacancies_posted(self, start: str, end: str) -> list[dict]:
        return list(
            self.vacancies.find(
                {"posted_on": {"$gte": start, "$lte": end}},
                {"county": 1, "fair_id": 1, "employer_id": 1, "headcount": 1},
            )
        )

    def registrations_between(self, start: str, end: str) -> list[dict]:
        return list(
            self.registrations.find(
                {"registered_on": {"$gte": start, "$lte": end}},
                {"county": 1, "fair_id": 1, "employer_id": 1, "seeker_id": 1},
            )
        )

    def seekers_registered(self, start: str, end: str) -> list[dict]:
        return list(
            self.seekers.find({"registered_on": {"$gte": start, "$lte": end}}, {"county": 1})
        )

    def intents_agreed(self, start: str, end: str) -> list[dict]:
        return list(
            self.intents.find(
                {"agreed_on": {"$gte": start, "$lte": end}},
                {"county": 1, "fair_id": 1, "seeker_id": 1},
            )
        )

    def hires_between(self, start: str, end: str) -> list[dict]:
        return list(
            self.intents.find(
                {"hired_on": {"$gte": start, "$lte": end}},
                {"county": 1, "fair_id": 1, "seeker_id": 1, "follow_ups": 1},
            )
        )

    # ---- dossier read model ----------------------------------------------------------------

    def open_dossier_head(self, event: Event, tier: str | None = None) -> bool:
        return record_dossier_head(self.dossier_heads, event, OPEN, tier)

    def close_dossier_head(self, event: Event) -> bool:
        return record_dossier_head(self.dossier_heads, event, EXITED)

    def open_dossier_of(self, head_id_hash: str) -> dict | None:
        """The open dossier the person heads, if any."""
        return self.dossier_heads.find_one(
            {"head_id_hash": head_id_hash, "status": OPEN}, {"county": 1, "tier": 1}
        )


def _mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]
