"""The notifications nameko service: tells workers what happened, once per channel."""

from __future__ import annotations

import logging

from services.notifications.domain.templates import render
from services.notifications.store import NotificationStore
from shared.errors import validation_error
from shared.events import Event
from shared.identity import InvalidIdentifier, validate_id_number
from shared.messaging import Correlation, DeadLetterRpc, Store, event_handler, rpc

log = logging.getLogger(__name__)


class NotificationsService(DeadLetterRpc):
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
            "ref": notice.ref,
        }
        # The inbox first: it cannot fail for a provider's reasons, so a worker always has it.
        inbox = self.store.deliver_inbox(**common, text=notice.inbox_text)
        sms = self.store.deliver_sms(**common, text=notice.sms_text)
        log.info("notice delivered", extra={"ref": notice.ref, "inbox_new": inbox, "sms_new": sms})

    @rpc
    def inbox(self, id_number: str) -> dict:
        try:
            clean = validate_id_number(id_number)
        except InvalidIdentifier as exc:
            raise validation_error({"id_number": [str(exc)]}) from None
        return {"messages": self.store.messages_for(clean)}

    @rpc
    def deliveries(self, ref: str) -> dict:
        return {"deliveries": self.store.deliveries_for(ref)}
