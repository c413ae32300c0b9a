"""The only code of notifications that speaks pymongo for the service: inbox, delivery log and
the audit log of inbox lookups (the SMS development sink, a provider's stand-in, is in
``channels``)."""

from __future__ import annotations

import uuid

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared import orgs
from shared.config import Settings
from shared.crypto import vault_of
from shared.events import now_shanghai


class NotificationStore:
    def __init__(self, db: Database, settings: Settings):
        self.inbox = db["inbox"]
        self.deliveries = db["deliveries"]
        self.inbox_audit = db["inbox_audit"]
        self.vault = vault_of(settings)

    def ensure_indexes(self) -> None:
        self.inbox.create_index(
            [("recipient", 1), ("created_at", DESCENDING)], name="recipient_created_idx"
        )
        self.deliveries.create_index([("ref", 1)], name="ref_idx")
        self.inbox_audit.create_index([("member_id_hash", 1), ("at", 1)], name="member_at_idx")

    def recipient_hash(self, id_number: str) -> str:
        return self.vault.lookup_hash(id_number)

    def delivery_id(self, event_id: str, recipient: str, channel: str) -> str:
        """Exactly one message per (event, recipient, channel): this id is the document id.
        It is shown to staff, so it is keyed and opaque: it never gives away the recipient."""
        return self.vault.opaque_id("delivery", event_id, recipient, channel)

    def _record(self, key: str, fields: dict) -> None:
        self.deliveries.update_one({"_id": key}, {"$set": fields}, upsert=True)

    def deliver_inbox(
        self, *, event_id: str, event_type: str, recipient: str, org: str, ref: str, text: str
    ) -> bool:
        """Put the message in the worker's inbox once; returns False if it was already there."""
        key = self.delivery_id(event_id, recipient, "inbox")
        now = now_shanghai().isoformat(timespec="milliseconds")
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
                }
            )
        except DuplicateKeyError:
            return False
        self._record(
            key,
            {
                "event_id": event_id,
                "event_type": event_type,
                "org": org,
                "ref": ref,
                "channel": "inbox",
                "status": "delivered",
                "updated_at": now,
            },
        )
        return True

    def sms_sent(self, key: str, *, event_id: str, event_type: str, org: str, ref: str) -> None:
        """The provider took the SMS: the delivery log says so."""
        self._record_sms(key, "sent", event_id=event_id, event_type=event_type, org=org, ref=ref)

    def sms_failed(self, key: str, *, event_id: str, event_type: str, org: str, ref: str) -> None:
        """The provider refused the SMS: the delivery log says so until a retry sends it."""
        self._record_sms(key, "failed", event_id=event_id, event_type=event_type, org=org, ref=ref)

    def _record_sms(
        self, key: str, status: str, *, event_id: str, event_type: str, org: str, ref: str
    ) -> None:
        self._record(
            key,
            {
                "event_id": event_id,
                "event_type": event_type,
                "org": org,
                "ref": ref,
                "channel": "sms",
                "status": status,
                "updated_at": now_shanghai().isoformat(timespec="milliseconds"),
            },
        )

    def messages_for(self, recipient: str, within: str, limit: int) -> list[dict]:
        """One worker's inbox messages (by ID-number hash) whose org is ``within`` or beneath
        it, newest first."""
        cursor = (
            self.inbox.find({"recipient": recipient, **orgs.scope_filter(within)})
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
            }
            for m in cursor
        ]

    def deliveries_for(self, ref: str, within: str) -> list[dict]:
        """Deliveries about one business object whose org is ``within`` or beneath it."""
        return [
            {
                "id": d["_id"],
                "event_id": d["event_id"],
                "event_type": d["event_type"],
                "ref": d["ref"],
                "channel": d["channel"],
                "status": d["status"],
                "updated_at": d["updated_at"],
            }
            for d in self.deliveries.find({"ref": ref, **orgs.scope_filter(within)}).sort("_id", 1)
        ]

    def audit_inbox_lookup(
        self, *, by: str, role: str, org: str, member_id_hash: str, messages: int
    ) -> None:
        """Append one entry per inbox lookup; the log is insert-only (nothing updates it)."""
        self.inbox_audit.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "action": "inbox_lookup",
                "by": by,
                "role": role,
                "org": org,
                "member_id_hash": member_id_hash,
                "messages": messages,
                "at": now_shanghai().isoformat(timespec="milliseconds"),
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
