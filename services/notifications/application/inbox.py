"""What staff read about notices: a worker's inbox (each lookup audited), the deliveries about
one business object, and the audit log of inbox lookups, all within the caller's org scope.
Plain Python over the store (no nameko)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from services.notifications.store import NotificationStore
from shared import orgs
from shared.auth import StaffPrincipal
from shared.errors import not_found, validation_error
from shared.identity import InvalidIdentifier, validate_id_number

INBOX_LIMIT = 100


def inbox_messages(store: NotificationStore, staff: StaffPrincipal, id_number: str) -> list[dict]:
    """The worker's messages in the caller's org scope, newest first. None there is a 404,
    the same answer as for a worker we never wrote to, so scope never reveals existence.
    Every lookup, found or not, is written to the audit log."""
    recipient = store.recipient_hash(_valid_id_number(id_number))
    messages = store.messages_for(recipient, staff.org, INBOX_LIMIT)
    store.audit_inbox_lookup(
        by=staff.sub,
        role=staff.role,
        org=staff.org,
        member_id_hash=recipient,
        messages=len(messages),
    )
    if not messages:
        raise not_found("an inbox message for this worker in your org scope")
    return messages


def deliveries_about(store: NotificationStore, staff: StaffPrincipal, ref: str) -> list[dict]:
    """Deliveries about one business object, in the caller's org scope (else 404). Audited as
    an inbox lookup is: one entry per worker the answer is about, or one saying none was."""
    rows = store.deliveries_for(ref, staff.org)
    per_worker = Counter(row.pop("recipient") for row in rows) or Counter({None: 0})
    for recipient, count in sorted(per_worker.items(), key=lambda item: str(item[0])):
        store.audit_inbox_lookup(
            by=staff.sub,
            role=staff.role,
            org=staff.org,
            member_id_hash=recipient,
            messages=count,
            action="deliveries_lookup",
            ref=ref,
        )
    if not rows:
        raise not_found("a delivery about this object in your org scope")
    return rows


def inbox_lookups(store: NotificationStore, staff: StaffPrincipal, id_number: str) -> list[dict]:
    """The lookups of one worker's inbox made by staff in the caller's scope."""
    recipient = store.recipient_hash(_valid_id_number(id_number))
    return store.inbox_lookups(recipient, staff.org)


def _valid_id_number(id_number: str) -> str:
    try:
        return validate_id_number(id_number)
    except InvalidIdentifier as exc:
        raise validation_error({"id_number": [str(exc)]}) from None


def own_messages(store: NotificationStore, partner: str, id_number: str) -> list[dict]:
    """The worker's own messages read on the city portal (every org: they are the worker's),
    newest first; each read is audited under the platform; none is a 404."""
    recipient = store.recipient_hash(_valid_id_number(id_number))
    messages = store.messages_for(recipient, None, INBOX_LIMIT)
    store.audit_inbox_lookup(
        by=partner,
        role="city_platform",
        org=orgs.city_root(),
        member_id_hash=recipient,
        messages=len(messages),
        action="portal_inbox_read",
    )
    if not messages:
        raise not_found("an inbox message for this worker")
    return messages


def mark_read(store: NotificationStore, id_number: str, message_id: str, now: datetime) -> None:
    """The worker read one of their messages; another worker's message (or none) is a 404."""
    recipient = store.recipient_hash(_valid_id_number(id_number))
    if not store.mark_read(message_id, recipient, now):
        raise not_found("this message in the worker's inbox")


def figures(store: NotificationStore, staff: StaffPrincipal, first: date, last: date) -> dict:
    """Messages by event type, channel and status for the caller's org subtree, with how many
    failed at least once and fell back."""
    if last < first:
        raise validation_error({"to": ["must not be before from"]})
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        **store.figures(first, last, staff.org),
    }
