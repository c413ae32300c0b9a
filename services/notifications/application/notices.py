"""Telling a worker about an event: the notice rendered once, then each channel delivered once.
Plain Python over the store (no nameko)."""

from __future__ import annotations

import logging

from services.notifications.channels import SmsProvider, SmsProviderError
from services.notifications.domain.templates import render
from services.notifications.store import NotificationStore
from shared import orgs
from shared.events import Event

log = logging.getLogger(__name__)

# A notice whose event carried no member org (a bill of someone never enrolled, or an event
# sent before the org travelled with it) is visible at city level only.
CITY_ORG = orgs.city_root()


def notify(store: NotificationStore, sms: SmsProvider, event: Event) -> None:
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
    sent = send_sms(store, sms, **common, text=notice.sms_text)
    log.info("notice delivered", extra={"ref": notice.ref, "inbox_new": inbox, "sms_new": sent})


def send_sms(
    store: NotificationStore,
    sms: SmsProvider,
    *,
    event_id: str,
    event_type: str,
    recipient: str,
    org: str,
    ref: str,
    text: str,
) -> bool:
    """Hand the SMS to the provider once (the delivery id is the message id, so a redelivered
    event cannot send twice) and log the delivery; a refusal is logged failed and raised, so
    the event is retried and, past the last retry, parked."""
    key = store.delivery_id(event_id, recipient, "sms")
    logged = {"event_id": event_id, "event_type": event_type, "org": org, "ref": ref}
    try:
        sent = sms.send(message_id=key, recipient=recipient, text=text)
    except SmsProviderError:
        store.sms_failed(key, **logged)
        raise
    if sent:
        store.sms_sent(key, **logged)
    return sent
