"""Telling a worker about an event: the notice rendered once, then each channel delivered once.
Plain Python over the store (no nameko)."""

from __future__ import annotations

import logging

from services.notifications.domain.templates import render
from services.notifications.store import NotificationStore
from shared import orgs
from shared.events import Event

log = logging.getLogger(__name__)

# A notice whose event carried no member org (a bill of someone never enrolled, or an event
# sent before the org travelled with it) is visible at city level only.
CITY_ORG = orgs.city_root()


def notify(store: NotificationStore, event: Event) -> None:
    """The worker's inbox, then the SMS, each at most once per (event, recipient, channel)."""
    notice = render(event.producer, event.event_type, event.payload)
    common = {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "recipient": notice.recipient,
        "org": notice.org or CITY_ORG,
        "ref": notice.ref,
    }
    # The inbox first: it cannot fail for a provider's reasons, so a worker always has it.
    inbox = store.deliver_inbox(**common, text=notice.inbox_text)
    sms = store.deliver_sms(**common, text=notice.sms_text)
    log.info("notice delivered", extra={"ref": notice.ref, "inbox_new": inbox, "sms_new": sms})
