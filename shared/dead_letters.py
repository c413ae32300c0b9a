"""Dead letters: failed messages parked with their error, listed and replayed by city admins
(each listing and replay audited)."""

from __future__ import annotations

import uuid

from kombu import Exchange
from nameko.extensions import DependencyProvider
from pymongo import DESCENDING
from pymongo.database import Database

from shared.auth import StaffPrincipal, authorized
from shared.errors import validation_error
from shared.events import now_shanghai
from shared.providers import service_database, settings_of
from shared.publisher import ConfirmedPublisher
from shared.retry_routes import ATTEMPT_HEADER, replay_queue, retry_exchange
from shared.rpc import rpc

DEAD_LETTER_STATUSES = ("parked", "replaying", "replayed", None)  # None: every status


class DeadLetterStore:
    """Failed messages, parked with their error so staff can list and replay them; who listed
    and who replayed is kept in an insert-only audit collection beside them."""

    def __init__(self, db: Database):
        self.collection = db["dead_letters"]
        self.audit_log = db["dead_letter_audit"]

    def ensure_indexes(self) -> None:
        self.collection.create_index(
            [("status", 1), ("parked_at", DESCENDING)], name="status_parked_at_idx"
        )

    def park(self, *, queue: str, body: dict, attempts: int, error: str) -> str:
        dead_letter_id = str(uuid.uuid4())
        self.collection.insert_one(
            {
                "_id": dead_letter_id,
                "queue": queue,
                "event_id": body.get("event_id"),
                "event_type": body.get("event_type"),
                "body": body,
                "attempts": attempts,
                "error": error,
                "status": "parked",
                "parked_at": now_shanghai().isoformat(timespec="milliseconds"),
            }
        )
        return dead_letter_id

    def list(self, status: str | None = "parked", limit: int = 100) -> list[dict]:
        query = {} if status is None else {"status": status}
        return list(self.collection.find(query).sort("parked_at", DESCENDING).limit(limit))

    def claim_for_replay(self, dead_letter_id: str) -> dict | None:
        return self.collection.find_one_and_update(
            {"_id": dead_letter_id, "status": "parked"}, {"$set": {"status": "replaying"}}
        )

    def finish_replay(self, dead_letter_id: str, replayed_by: str | None) -> None:
        """Replayed by that staff member, or (None) back to parked: the send failed."""
        update = (
            {"status": "parked"}
            if replayed_by is None
            else {
                "status": "replayed",
                "replayed_at": now_shanghai().isoformat(),
                "replayed_by": replayed_by,
            }
        )
        self.collection.update_one({"_id": dead_letter_id}, {"$set": update})

    def audit(self, staff: StaffPrincipal, action: str, target: str | None, detail: dict) -> None:
        """Insert only: no code path updates or deletes an audit entry."""
        self.audit_log.insert_one(
            {
                "_id": uuid.uuid4().hex,
                "at": now_shanghai().isoformat(timespec="milliseconds"),
                "actor": staff.sub,
                "role": staff.role,
                "actor_org": staff.org,
                "action": action,
                "target": target,
                "detail": detail,
            }
        )


class DeadLetterAdmin:
    """What staff do with parked messages: list them, and replay one after the fault is fixed."""

    def __init__(self, store: DeadLetterStore, broker: ConfirmedPublisher, exchange: Exchange):
        self.store = store
        self.broker = broker
        self.exchange = exchange

    def list(self, status: str | None = "parked", limit: int = 100) -> list[dict]:
        return [
            {
                "id": letter["_id"],
                "queue": letter["queue"],
                "event_id": letter.get("event_id"),
                "event_type": letter.get("event_type"),
                "attempts": letter["attempts"],
                "error": letter["error"],
                "status": letter["status"],
                "parked_at": letter["parked_at"],
                "replayed_by": letter.get("replayed_by"),
            }
            for letter in self.store.list(status, limit)
        ]

    def replay(self, dead_letter_id: str, staff: StaffPrincipal) -> bool:
        """Send a parked message back to its queue with a fresh retry budget."""
        letter = self.store.claim_for_replay(dead_letter_id)
        if letter is None:
            return False
        try:
            queue = replay_queue(self.exchange, letter["queue"])
            self.broker.send_to_queue(letter["body"], queue, {ATTEMPT_HEADER: 0})
        except Exception:
            self.store.finish_replay(dead_letter_id, None)
            raise
        self.store.finish_replay(dead_letter_id, staff.sub)
        self.store.audit(staff, "replay_dead_letter", dead_letter_id, {"queue": letter["queue"]})
        return True


class DeadLetters(DependencyProvider):
    def setup(self):
        store = DeadLetterStore(service_database(self.container))
        store.ensure_indexes()
        self.broker = ConfirmedPublisher(settings_of(self.container).amqp_uri)
        self.admin = DeadLetterAdmin(
            store, self.broker, retry_exchange(self.container.service_name)
        )

    def stop(self):
        self.broker.close()

    def get_dependency(self, worker_ctx):
        return self.admin


class DeadLetterRpc:
    """Mixin giving a service the RPC entrypoints staff use for its dead letters: city admins
    only, since a replay re-runs a business effect; both are audited."""

    dead_letters = DeadLetters()

    @rpc
    def list_dead_letters(self, principal: str, status: str | None = "parked") -> list[dict]:
        staff = authorized(principal, "dead_letters.manage")
        if status not in DEAD_LETTER_STATUSES:
            raise validation_error({"status": ["must be parked, replaying, replayed or all"]})
        letters = self.dead_letters.list(status)
        self.dead_letters.store.audit(
            staff, "list_dead_letters", None, {"status": status, "count": len(letters)}
        )
        return letters

    @rpc
    def replay_dead_letter(self, principal: str, dead_letter_id: str) -> bool:
        staff = authorized(principal, "dead_letters.manage")
        return self.dead_letters.replay(dead_letter_id, staff)
