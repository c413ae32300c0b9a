"""The only code of notifications that speaks pymongo for the service: contacts, inbox, the
delivery log (each row also the work item its timer sends), the audit log of lookups, the city
platform's webhook ids, and the figures (the development sinks, a provider's stand-in, are in
``channels``).

An inbox message is its own delivery-log row: it carries the log's fields (event, channel
``inbox``, status ``sent``, history) and is written by one insert; the log's reads (deliveries
about an object, the figures) read it beside ``deliveries``, which holds the push channels'
rows (and the inbox rows written before messages carried the log's fields: an inbox message
without ``event_id`` is such one, logged in ``deliveries``, so nothing is counted twice).

Times are ISO-8601 strings in Asia/Shanghai with milliseconds, all written from the service's
clock, so they compare as text."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime

from pymongo import DESCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from services.notifications.domain.routing import Reach
from shared import orgs
from shared.config import Settings
from shared.crypto import vault_of
from shared.events import now_shanghai

PENDING = ("queued", "deferred")
NEVER = ""  # a lease that ended before any time (every ISO string sorts after it)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class NotificationStore:
    def __init__(self, db: Database, settings: Settings):
        self.contacts = db["contacts"]
        self.inbox = db["inbox"]
        self.deliveries = db["deliveries"]
        self.inbox_audit = db["inbox_audit"]
        self.city_webhooks = db["city_webhooks"]
        self.vault = vault_of(settings)

    def ensure_indexes(self) -> None:
        self.inbox.create_index(
            [("recipient", 1), ("created_at", DESCENDING)], name="recipient_created_idx"
        )
        # The inbox messages are the inbox's delivery log: read by ref and by day as the log is.
        self.inbox.create_index([("ref", 1)], name="ref_idx")
        self.inbox.create_index([("created_on", 1)], name="created_on_idx")
        self.deliveries.create_index([("ref", 1)], name="ref_idx")
        # Exactly one message per (event, recipient, channel): the id is an HMAC of the three,
        # and the three together are unique too.
        self.deliveries.create_index(
            [("event_id", 1), ("recipient", 1), ("channel", 1)],
            name="event_recipient_channel_uq",
            unique=True,
        )
        self.deliveries.create_index([("status", 1), ("due_at", 1)], name="status_due_idx")
        self.deliveries.create_index([("created_on", 1)], name="created_on_idx")
        self.inbox_audit.create_index([("member_id_hash", 1), ("at", 1)], name="member_at_idx")

    # ---- identities ---------------------------------------------------------------------

    def recipient_hash(self, id_number: str) -> str:
        return self.vault.lookup_hash(id_number)

    def delivery_id(self, event_id: str, recipient: str, channel: str) -> str:
        """Exactly one message per (event, recipient, channel): this id is the document id.
        It is shown to staff, so it is keyed and opaque: it never gives away the recipient."""
        return self.vault.opaque_id("delivery", event_id, recipient, channel)

    # ---- contacts -----------------------------------------------------------------------

    def contact(self, recipient: str) -> dict | None:
        return self.contacts.find_one({"_id": recipient})

    def reach(self, recipient: str) -> Reach:
        return self.reach_and_addresses(recipient)[0]

    def reach_and_addresses(self, recipient: str) -> tuple[Reach, dict[str, str | None]]:
        """What the worker can be reached on, and the sealed address by channel (one read)."""
        doc = self.contacts.find_one(
            {"_id": recipient}, {"mobile_sealed": 1, "wechat_sealed": 1, "preferences": 1}
        )
        if doc is None:
            return Reach(), {}
        addresses = {channel: doc.get(f"{_POINT[channel]}_sealed") for channel in ("sms", "wechat")}
        return self._reach_of(doc), addresses

    @staticmethod
    def _reach_of(doc: dict) -> Reach:
        preferences = doc.get("preferences") or {}
        return Reach(
            mobile=bool(doc.get("mobile_sealed")),
            wechat=bool(doc.get("wechat_sealed")),
            sms_on=preferences.get("sms", True),
            wechat_on=preferences.get("wechat", True),
        )

    def replace_contacts(
        self,
        recipient: str,
        *,
        points: dict[str, tuple[str, str] | None],
        preferences: dict[str, bool],
        at: datetime,
        source: str,
    ) -> None:
        """Staff state every contact point and preference: what they leave out is removed."""
        fields: dict = {"preferences": preferences, "updated_at": stamp(at), "updated_by": source}
        unset: dict = {}
        for point, value in points.items():
            if value is None:
                unset.update({f"{point}_sealed": "", f"{point}_masked": ""})
            else:
                fields.update({f"{point}_sealed": value[0], f"{point}_masked": value[1]})
            fields[f"{point}_at"] = stamp(at)
        update: dict = {"$set": fields}
        if unset:
            update["$unset"] = unset
        self.contacts.update_one({"_id": recipient}, update, upsert=True)

    def bind_point(
        self, recipient: str, point: str, sealed: str, masked: str, *, at: datetime, source: str
    ) -> bool:
        """Set one contact point unless a newer statement of it is kept (a late redelivery of an
        old intake never overwrites what the worker bound since). False when older."""
        when = stamp(at)
        fields = {
            f"{point}_sealed": sealed,
            f"{point}_masked": masked,
            f"{point}_at": when,
            "updated_at": when,
            "updated_by": source,
        }
        # Guarded updates, one condition each, then an insert: never "$or" beside "_id" (on
        # nx-27017 that filter matched another worker's document and overwrote its phone).
        for guard in ({f"{point}_at": {"$lt": when}}, {f"{point}_at": {"$exists": False}}):
            if self.contacts.update_one(
                {"_id": recipient, **guard}, {"$set": fields}
            ).matched_count:
                return True
        try:
            self.contacts.insert_one(
                {"_id": recipient, **fields, "preferences": {"sms": True, "wechat": True}}
            )
        except DuplicateKeyError:  # the worker's document holds a newer statement
            return False
        return True

    def first_city_webhook(self, partner: str, webhook_id: str, at: datetime) -> bool:
        """Record a city platform's webhook id; False when it was seen before (no new effect)."""
        try:
            self.city_webhooks.insert_one({"_id": f"{partner}:{webhook_id}", "at": stamp(at)})
        except DuplicateKeyError:
            return False
        return True

    # ---- inbox --------------------------------------------------------------------------

    def deliver_inbox(
        self,
        *,
        event_id: str,
        event_type: str,
        recipient: str,
        org: str,
        ref: str,
        text: str,
        at: datetime,
    ) -> bool:
        """Put the message in the worker's inbox once, logged sent, in one insert (the message
        is the inbox's delivery-log row); False if it was there."""
        key = self.delivery_id(event_id, recipient, "inbox")
        now = stamp(at)
        try:
            self.inbox.insert_one(
                {
                    "_id": key,
                    "recipient": recipient,
                    "org": org,
                    "ref": ref,
                    "event_type": event_type,
                    "text": text,
                    "created_at": now,
                    "read": False,
                    # The delivery log's fields (``deliveries_for``, ``figures``).
                    "event_id": event_id,
                    "channel": "inbox",
                    "status": "sent",
                    "history": [{"status": "queued", "at": now}, {"status": "sent", "at": now}],
                    "created_on": at.date().isoformat(),
                    "updated_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    def messages_for(self, recipient: str, within: str | None, limit: int) -> list[dict]:
        """One worker's inbox messages (by ID-number hash), newest first: those whose org is
        ``within`` or beneath it, or all of them (``within`` None: the worker's own read)."""
        scope = {} if within is None else orgs.scope_filter(within)
        cursor = (
            self.inbox.find({"recipient": recipient, **scope})
            .sort("created_at", DESCENDING)
            .limit(limit)
        )
        return [
            {
                "id": m["_id"],
                "ref": m["ref"],
                "event_type": m["event_type"],
                "text": m["text"],
                "created_at": m["created_at"],
                "read": bool(m.get("read", False)),
            }
            for m in cursor
        ]

    def mark_read(self, message_id: str, recipient: str, at: datetime) -> bool:
        """The worker read their message; False when no message of theirs has this id."""
        result = self.inbox.update_one(
            {"_id": message_id, "recipient": recipient, "read": False},
            {"$set": {"read": True, "read_at": stamp(at)}},
        )
        if result.matched_count == 1:
            return True
        # A find, not a count: nx-27017 answers a count as an aggregate that scans the inbox.
        found = self.inbox.find_one({"_id": message_id}, {"recipient": 1})
        return found is not None and found["recipient"] == recipient

    # ---- delivery log and work items ----------------------------------------------------

    def queue_delivery(
        self,
        key: str,
        fields: dict,
        *,
        status: str,
        due_at: datetime,
        at: datetime,
        detail: str | None = None,
        lease_until: datetime | None = None,
    ) -> dict | None:
        """One row per (event, recipient, channel), returned as written; None when it exists
        (nothing changes). With ``lease_until`` the row is written claimed by the caller, who
        sends it now: no second write to claim it, and no timer tick takes it meanwhile."""
        entry = {"status": status, "at": stamp(at)}
        if detail:
            entry["detail"] = detail
        history = [entry] if status != "sent" else [{"status": "queued", "at": stamp(at)}, entry]
        row = {
            "_id": key,
            **fields,
            "status": status,
            "history": history,
            "due_at": stamp(due_at),
            "attempts": 0,
            "lease_until": NEVER if lease_until is None else stamp(lease_until),
            "lease": None if lease_until is None else uuid.uuid4().hex,
            "created_at": stamp(at),
            "created_on": at.date().isoformat(),
            "updated_at": stamp(at),
        }
        try:
            self.deliveries.insert_one(row)
        except DuplicateKeyError:
            return None
        return row

    def channels_of(self, event_id: str, recipient: str) -> set[str]:
        """The push channels that carry this event for the worker (the inbox always does)."""
        return {
            d["channel"]
            for d in self.deliveries.find(
                {"event_id": event_id, "recipient": recipient}, {"channel": 1}
            )
        }

    def claim(self, key: str, now: datetime, lease_until: datetime) -> dict | None:
        """Take one pending row that is due, if nobody holds it: a guarded write, so two
        replicas or two ticks never both send it."""
        return self._take(self.deliveries.find_one({"_id": key}), now, lease_until)

    def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> Iterator[dict]:
        """Take pending rows that are due, one guarded write each. One query per pending
        status, each an explicit ``$eq``: nx-27017 answers ``$in`` (and a bare equality) by
        scanning the whole log, which the year replay showed costing the store most of its CPU
        once the log held a hundred thousand rows, every tick."""
        candidates = [
            row
            for status in PENDING
            for row in self.deliveries.find(
                {"status": {"$eq": status}}, {"texts": 0, "history": 0}
            ).limit(limit * 4)
        ]
        taken = 0
        for candidate in candidates:
            if taken >= limit:
                return
            row = self._take(candidate, now, lease_until)
            if row is not None:
                taken += 1
                yield row

    def _take(self, row: dict | None, now: datetime, lease_until: datetime) -> dict | None:
        """Compare and set: the row is ours if its status and lease are still what we read.
        Equalities only, on the id: nx-27017 answers a range in such a filter by scanning the
        collection (and an equality beside a range on an indexed field with nothing)."""
        if (
            row is None
            or row["status"] not in PENDING
            or row["due_at"] > stamp(now)
            or row["lease_until"] > stamp(now)
        ):
            return None
        return self.deliveries.find_one_and_update(
            {"_id": row["_id"], "status": row["status"], "lease_until": row["lease_until"]},
            {"$set": {"lease_until": stamp(lease_until), "lease": uuid.uuid4().hex}},
            return_document=ReturnDocument.AFTER,
        )

    def _settle(self, row: dict, fields: dict, entries: list[dict]) -> bool:
        # The lease holder owns the row: it writes the whole history (nx-27017 stores a
        # $push of a document as text).
        result = self.deliveries.update_one(
            {"_id": row["_id"], "lease": row["lease"]},
            {
                "$set": {
                    **fields,
                    "history": [*row.get("history", []), *entries],
                    "lease_until": NEVER,
                    "lease": None,
                }
            },
        )
        return result.matched_count == 1

    def mark_sent(self, row: dict, at: datetime) -> bool:
        return self._settle(
            row,
            {"status": "sent", "updated_at": stamp(at)},
            [{"status": "sent", "at": stamp(at)}],
        )

    def mark_retry(self, row: dict, at: datetime, due_at: datetime, detail: str) -> bool:
        """A transient failure: logged failed, queued again for ``due_at``."""
        return self._settle(
            row,
            {
                "status": "queued",
                "due_at": stamp(due_at),
                "attempts": row.get("attempts", 0) + 1,
                "updated_at": stamp(at),
            },
            [
                {"status": "failed", "at": stamp(at), "detail": detail},
                {"status": "queued", "at": stamp(at), "detail": f"retry at {stamp(due_at)}"},
            ],
        )

    def mark_fell_back(self, row: dict, at: datetime, to: str, detail: str) -> bool:
        return self._settle(
            row,
            {"status": "fell_back", "fell_back_to": to, "updated_at": stamp(at)},
            [
                {"status": "failed", "at": stamp(at), "detail": detail},
                {"status": "fell_back", "at": stamp(at), "detail": f"to {to}"},
            ],
        )

    def _logged_inbox(self, query: dict, projection: dict | None = None):
        """The inbox messages that are their own delivery-log rows, matching ``query``."""
        return self.inbox.find({**query, "event_id": {"$exists": True}}, projection)

    def deliveries_for(self, ref: str, within: str) -> list[dict]:
        """Deliveries about one business object whose org is ``within`` or beneath it."""
        scope = orgs.scope_filter(within)
        rows = [
            *self.deliveries.find({"ref": ref, **scope}),
            *self._logged_inbox({"ref": ref, **scope}),
        ]
        return [
            {
                "id": d["_id"],
                "event_id": d["event_id"],
                "event_type": d["event_type"],
                "ref": d["ref"],
                "channel": d["channel"],
                "status": d["status"],
                "updated_at": d["updated_at"],
                "history": d.get("history", []),
                "recipient": d["recipient"],  # for the audit log; never answered
            }
            for d in sorted(rows, key=lambda d: d["_id"])
        ]

    def figures(self, first: date, last: date, within: str) -> dict:
        """Rows created from ``first`` to ``last`` (Shanghai days, both included) whose org is
        ``within`` or beneath it: counts by event type, channel and status, and how many
        failed at least once and fell back (an inbox message never fails nor falls back)."""
        match = {
            "created_on": {"$gte": first.isoformat(), "$lte": last.isoformat()},
            **orgs.scope_filter(within),
        }
        fields = {"event_type": 1, "channel": 1, "status": 1}
        # Counted here: nx-27017 cannot $group on a compound key.
        counts = Counter(
            (d["event_type"], d["channel"], d["status"])
            for rows in (self.deliveries.find(match, fields), self._logged_inbox(match, fields))
            for d in rows
        )
        rows = [
            {"event_type": e, "channel": c, "status": s, "count": n}
            for (e, c, s), n in sorted(counts.items())
        ]
        return {
            "rows": rows,
            "failed_at_least_once": self.deliveries.count_documents(
                {**match, "history.status": "failed"}
            ),
            "fell_back": self.deliveries.count_documents({**match, "status": "fell_back"}),
        }

    # ---- audit --------------------------------------------------------------------------

    def audit_inbox_lookup(
        self,
        *,
        by: str,
        role: str,
        org: str,
        member_id_hash: str,
        messages: int,
        action: str = "inbox_lookup",
        ref: str | None = None,
    ) -> None:
        """Append one entry per lookup; the log is insert-only (nothing updates it)."""
        self.inbox_audit.insert_one(
            {
                **({"ref": ref} if ref is not None else {}),
                "_id": uuid.uuid4().hex,
                "action": action,
                "by": by,
                "role": role,
                "org": org,
                "member_id_hash": member_id_hash,
                "messages": messages,
                "at": stamp(now_shanghai()),
            }
        )

    def inbox_lookups(self, member_id_hash: str, within: str) -> list[dict]:
        """The lookups of one worker's inbox by staff whose org is ``within`` or beneath it,
        oldest first (the worker is the caller's question, so the hash is not repeated in the
        answer)."""
        return [
            {
                "id": e["_id"],
                "action": e["action"],
                "by": e["by"],
                "role": e["role"],
                "org": e["org"],
                "messages": e["messages"],
                "at": e["at"],
            }
            for e in self.inbox_audit.find(
                {"member_id_hash": member_id_hash, **orgs.scope_filter(within)}
            ).sort("at", 1)
        ]


_POINT = {"sms": "mobile", "wechat": "wechat", "mobile": "mobile"}
