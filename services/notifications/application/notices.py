"""Telling a worker about an event: the notice rendered once, put in the inbox, and one
message queued per push channel the worker can be reached on (deferred through quiet hours);
then each due message is claimed, sent, and on failure retried with backoff or passed down
SMS → WeChat → inbox. Plain Python over the store (no nameko): the event handler, the timer,
tests and the benchmark run the same steps.

Exactly once per (event, recipient, channel): every row's id is an HMAC of the three, so a
redelivered event, a second replica's tick or a fallback to a channel already used adds
nothing; a row is sent only by whoever holds its lease (a guarded write), and the provider
takes the row id as its idempotency key, so a crash between sending and logging it sent
cannot send twice either."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.notifications.channels import Clock, Provider, ProviderError
from services.notifications.domain.policy import NotificationsPolicy
from services.notifications.domain.routing import INBOX, Reach, fallback_after, push_channels
from services.notifications.domain.templates import TemplateSet, current_templates
from services.notifications.store import NotificationStore
from shared import orgs
from shared.crypto import PiiDecryptionError, PiiVault
from shared.events import Event

log = logging.getLogger(__name__)

# A notice whose event carried no org is visible at city level only.
CITY_ORG = orgs.city_root()
LEASE_SECONDS = 60  # longer than any provider call; a crashed sender's rows are taken after it
RELEASE_BATCH = 200  # rows one timer tick sends at most


@dataclass(frozen=True)
class Outlets:
    """Everything sending needs beside the store."""

    providers: Mapping[str, Provider]
    clock: Clock
    policy: NotificationsPolicy
    retry_delays_ms: Sequence[int]
    vault: PiiVault
    templates: TemplateSet | None = None

    def template_set(self) -> TemplateSet:
        return self.templates or current_templates()


def notify(store: NotificationStore, outlets: Outlets, event: Event) -> int:
    """Inbox first (it cannot fail for a provider's reasons), then one row per push channel,
    sent now or deferred to the end of quiet hours. Returns the messages sent now."""
    notice = outlets.template_set().render(event.producer, event.event_type, event.payload)
    if notice is None:  # a variant nobody is told about (a grant that is not a condolence)
        return 0
    now = outlets.clock.now()
    event_key = f"{event.producer}.{event.event_type}"
    common = {
        "event_id": event.event_id,
        "event_type": event.event_type,
        "recipient": notice.recipient,
        "org": notice.org or CITY_ORG,
        "ref": notice.ref,
    }
    store.deliver_inbox(**common, text=notice.inbox_text, at=now)
    send_at = outlets.policy.send_at(event_key, now)
    texts = {channel: notice.texts[channel] for channel in ("sms", "wechat")}
    contact = store.reach_and_addresses(notice.recipient)
    channels = push_channels(contact[0])
    sent = 0
    for channel in channels:
        key = store.delivery_id(event.event_id, notice.recipient, channel)
        row = store.queue_delivery(
            key,
            {
                **common,
                "producer": event.producer,
                "channel": channel,
                "texts": texts,
                "template_version": notice.version,
            },
            status="queued" if send_at is None else "deferred",
            due_at=send_at or now,
            at=now,
            detail=None if send_at is None else "quiet hours",
            # Sent now: written claimed by us, sent with the contact read above.
            lease_until=None if send_at is not None else now + timedelta(seconds=LEASE_SECONDS),
        )
        if send_at is not None:
            continue
        if row is not None:
            sent += _send(store, outlets, row, now, contact)
        else:  # a redelivery: the row exists; send it if a crash left it pending
            sent += dispatch(store, outlets, key)
    log.info(
        "notice delivered",
        extra={
            "ref": notice.ref,
            "channels": len(channels),
            "sent_now": sent,
            "deferred": send_at is not None,
        },
    )
    return sent


def notify_each(
    store: NotificationStore, outlets: Outlets, event: Event, event_type: str, items: str
) -> int:
    """An event about many workers (an approvals run): each item of ``payload[items]``, with
    the event's other fields, told as its own ``event_type`` notice under the event's id, so
    each (event, recipient, channel) is still one message however often the event arrives."""
    common = {k: v for k, v in event.payload.items() if k != items}
    return sum(
        notify(
            store,
            outlets,
            replace(event, event_type=event_type, payload={**common, **item}),
        )
        for item in event.payload[items]
    )


def dispatch(store: NotificationStore, outlets: Outlets, key: str) -> bool:
    """Send one row now if it is due and nobody else holds it; True when it went out."""
    now = outlets.clock.now()
    row = store.claim(key, now, now + timedelta(seconds=LEASE_SECONDS))
    return row is not None and _send(store, outlets, row, now)


def release_due(store: NotificationStore, outlets: Outlets, limit: int = RELEASE_BATCH) -> int:
    """The timer's tick: every row due by now (deferred through quiet hours, or waiting to
    retry), each claimed by one guarded write. Returns the messages sent."""
    now = outlets.clock.now()
    lease_until = now + timedelta(seconds=LEASE_SECONDS)
    return sum(_send(store, outlets, row, now) for row in store.claim_due(now, lease_until, limit))


def _send(
    store: NotificationStore,
    outlets: Outlets,
    row: dict,
    now: datetime,
    contact: tuple[Reach, dict] | None = None,
) -> bool:
    channel = row["channel"]
    reach, addresses = contact or store.reach_and_addresses(row["recipient"])
    sealed = addresses.get(channel)
    if not reach.can(channel) or sealed is None:  # unbound or turned off since it was queued
        _fall_back(store, outlets, row, now, "no contact point or channel turned off")
        return False
    try:
        address = outlets.vault.decrypt(sealed)
    except PiiDecryptionError:
        _fall_back(store, outlets, row, now, "contact point cannot be opened")
        return False
    try:
        outlets.providers[channel].send(
            message_id=row["_id"], address=address, text=row["texts"][channel]
        )
    except ProviderError as exc:
        attempts = row.get("attempts", 0)
        if not exc.permanent and attempts < len(outlets.retry_delays_ms):
            due = now + timedelta(milliseconds=outlets.retry_delays_ms[attempts])
            due = outlets.policy.send_at(f"{row['producer']}.{row['event_type']}", due) or due
            store.mark_retry(row, now, due, f"transient: {exc}")
            log.warning(
                "message retried later", extra={"delivery_id": row["_id"], "channel": channel}
            )
            return False
        _fall_back(
            store,
            outlets,
            row,
            now,
            f"{'permanent' if exc.permanent else 'retries exhausted'}: {exc}",
        )
        return False
    # Sent (or taken before under this id): the log says so.
    store.mark_sent(row, now)
    return True


def _fall_back(
    store: NotificationStore, outlets: Outlets, row: dict, now: datetime, detail: str
) -> None:
    """The next channel of SMS → WeChat the worker can be reached on and which does not carry
    this event yet, else the inbox (which holds it already)."""
    taken = store.channels_of(row["event_id"], row["recipient"])
    to = fallback_after(row["channel"], store.reach(row["recipient"]), taken)
    if not store.mark_fell_back(row, now, to, detail):
        return  # our lease ran out and someone else settled it
    log.warning("message fell back", extra={"delivery_id": row["_id"], "to": to})
    if to == INBOX:
        return
    key = store.delivery_id(row["event_id"], row["recipient"], to)
    fields = {
        k: row[k]
        for k in (
            "event_id",
            "event_type",
            "producer",
            "recipient",
            "org",
            "ref",
            "texts",
            "template_version",
        )
    }
    store.queue_delivery(
        key,
        {**fields, "channel": to},
        status="queued",
        due_at=now,
        at=now,
        detail=f"fell back from {row['channel']}",
    )
    dispatch(store, outlets, key)
