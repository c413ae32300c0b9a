"""The notifications nameko service: tells workers what happened, once per channel."""

from __future__ import annotations

import logging

from services.notifications.domain.templates import render
from services.notifications.store import NotificationStore
from shared import orgs
from shared.auth import authorized
from shared.errors import not_found, validation_error
from shared.events import Event
from shared.heartbeat import Heartbeat
from shared.identity import InvalidIdentifier, validate_id_number
from shared.messaging import Correlation, DeadLetterRpc, Store, event_handler, rpc

log = logging.getLogger(__name__)

# Who may read what was sent to a worker: the staff who serve workers in their own org subtree
# (city, county and grassroots unions), and auditors. Reviewers and finance work on claims and
# payouts, which they read in mutual_aid; a worker's messages are not theirs to browse.
INBOX_ROLES = ("city_admin", "county_staff", "grassroots_staff", "auditor")
AUDIT_ROLES = ("auditor", "city_admin")
INBOX_LIMIT = 100
# A notice whose event carried no member org (a bill of someone never enrolled, or an event
# sent before the org travelled with it) is visible at city level only.
CITY_ORG = orgs.city_root()


class NotificationsService(Heartbeat, DeadLetterRpc):
    name = "notifications"

    store: NotificationStore = Store(NotificationStore)
    correlation_id = Correlation()

    @rpc
    def ping(self) -> str:
        return "ok"

    @event_handler("mutual_aid", "claim_decided")
    def on_claim_decided(self, event: Event) -> None:
        self._notify(event)

    @event_handler("mutual_aid", "claim_paid")
    def on_claim_paid(self, event: Event) -> None:
        self._notify(event)

    def _notify(self, event: Event) -> None:
        notice = render(event.producer, event.event_type, event.payload)
        common = {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "recipient": notice.recipient,
            "org": notice.org or CITY_ORG,
            "ref": notice.ref,
        }
        # The inbox first: it cannot fail for a provider's reasons, so a worker always has it.
        inbox = self.store.deliver_inbox(**common, text=notice.inbox_text)
        sms = self.store.deliver_sms(**common, text=notice.sms_text)
        log.info("notice delivered", extra={"ref": notice.ref, "inbox_new": inbox, "sms_new": sms})

    @rpc
    def inbox(self, principal: str, id_number: str) -> dict:
        """The worker's messages in the caller's org scope, newest first. None there is a 404,
        the same answer as for a worker we never wrote to, so scope never reveals existence.
        Every lookup, found or not, is written to the audit log."""
        staff = authorized(principal, INBOX_ROLES)
        recipient = self.store.recipient_hash(_valid_id_number(id_number))
        messages = self.store.messages_for(recipient, orgs.scope_filter(staff.org), INBOX_LIMIT)
        self.store.audit_inbox_lookup(
            by=staff.sub,
            role=staff.role,
            org=staff.org,
            member_id_hash=recipient,
            messages=len(messages),
        )
        if not messages:
            raise not_found("an inbox message for this worker in your org scope")
        return {"messages": messages}

    @rpc
    def deliveries(self, principal: str, ref: str) -> dict:
        """Deliveries about one business object, in the caller's org scope (else 404)."""
        staff = authorized(principal, INBOX_ROLES)
        rows = self.store.deliveries_for(ref, orgs.scope_filter(staff.org))
        if not rows:
            raise not_found("a delivery about this object in your org scope")
        return {"deliveries": rows}

    @rpc
    def inbox_lookups(self, principal: str, id_number: str) -> dict:
        """The audit log of lookups of one worker's inbox made by staff in the caller's scope."""
        staff = authorized(principal, AUDIT_ROLES)
        recipient = self.store.recipient_hash(_valid_id_number(id_number))
        return {"entries": self.store.inbox_lookups(recipient, orgs.scope_filter(staff.org))}


def _valid_id_number(id_number: str) -> str:
    try:
        return validate_id_number(id_number)
    except InvalidIdentifier as exc:
        raise validation_error({"id_number": [str(exc)]}) from None
