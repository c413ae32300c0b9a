"""The notifications nameko service: tells workers what happened, once per channel."""

from __future__ import annotations

from services.notifications.application.inbox import (
    deliveries_about,
    inbox_lookups,
    inbox_messages,
)
from services.notifications.application.notices import notify
from services.notifications.channels import Sms, SmsProvider
from services.notifications.store import NotificationStore
from shared.auth import authorized
from shared.dead_letters import DeadLetterRpc
from shared.event_handler import event_handler
from shared.events import Event
from shared.heartbeat import Heartbeat
from shared.providers import Correlation, Store
from shared.rpc import rpc


class NotificationsService(Heartbeat, DeadLetterRpc):
    name = "notifications"

    store: NotificationStore = Store(NotificationStore)
    sms: SmsProvider = Sms()
    correlation_id = Correlation()

    @rpc
    def ping(self) -> str:
        return "ok"

    @event_handler("mutual_aid", "claim_decided")
    def on_claim_decided(self, event: Event) -> None:
        notify(self.store, self.sms, event)

    @event_handler("mutual_aid", "claim_paid")
    def on_claim_paid(self, event: Event) -> None:
        notify(self.store, self.sms, event)

    @event_handler("student_aid", "award_disbursed")
    def on_award_disbursed(self, event: Event) -> None:
        notify(self.store, self.sms, event)

    @rpc
    def inbox(self, principal: str, id_number: str) -> dict:
        """The worker's messages in the caller's org scope, newest first (404 when none)."""
        staff = authorized(principal, "notifications.inbox")
        return {"messages": inbox_messages(self.store, staff, id_number)}

    @rpc
    def deliveries(self, principal: str, ref: str) -> dict:
        """Deliveries about one business object, in the caller's org scope (else 404)."""
        staff = authorized(principal, "notifications.inbox")
        return {"deliveries": deliveries_about(self.store, staff, ref)}

    @rpc
    def inbox_lookups(self, principal: str, id_number: str) -> dict:
        """The audit log of lookups of one worker's inbox made by staff in the caller's scope."""
        staff = authorized(principal, "notifications.lookup_audit")
        return {"entries": inbox_lookups(self.store, staff, id_number)}
