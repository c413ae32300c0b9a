"""Notifications figure: notify_fanout, messages sent per second for 10,000 events, as a ratio
to raw_store inserts/s.

10,000 workers with a mobile (SMS on) are seeded with the service's own store (sealed and
masked as the contacts use case stores them: seeding is not what is measured). Then 10,000
``mutual_aid.claim_decided`` events are published to the broker, as mutual aid's relay does,
and the clock runs until every one has its inbox message and its SMS handed to the
development sink: 20,000 messages. The notifications service's test clock
(``NOTIFICATIONS_CLOCK_FILE``) runs from noon so quiet hours never defer the SMS, whatever
the hour the benchmark runs."""

from __future__ import annotations

import math
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.harness import Context, Result, at_least_ratio, progress, wait_for
from services.notifications.domain.contacts import mask_mobile
from services.notifications.store import NotificationStore
from shared.crypto import vault_of
from shared.events import SHANGHAI, make_event
from shared.identity import make_id_number
from shared.mongo import get_database
from shared.publisher import ConfirmedPublisher

EVENTS = 10_000
GOAL_RATIO = 0.25  # messages/s >= 0.25 x raw_store inserts/s (two messages per event)
DRAIN_TIMEOUT_SECONDS = 600.0


def notify_fanout(ctx: Context) -> Result:
    store_rate = ctx.metric("raw_store", "inserts_per_s")
    settings = ctx.env.settings
    vault = vault_of(settings)
    db = get_database(ctx.env.mongo_uri, ctx.env.database_name("notifications"))
    store = NotificationStore(db, settings)
    clock = Path(ctx.env.notifications_clock)
    noon = datetime.now(SHANGHAI).replace(hour=12, minute=0, second=0, microsecond=0)
    # Running from noon (not held still): a lease left by a retried handler still runs out.
    clock.write_text(f"{noon.isoformat()} running", encoding="utf-8")
    try:
        started = time.perf_counter()
        born = date(1960, 1, 1)
        workers = []
        for n in range(EVENTS):
            id_number = make_id_number("350802", born + timedelta(days=n // 1000), n % 1000)
            recipient = vault.lookup_hash(id_number)
            mobile = f"138{n:08d}"
            store.replace_contacts(
                recipient,
                points={"mobile": (vault.encrypt(mobile), mask_mobile(mobile)), "wechat": None},
                preferences={"sms": True, "wechat": True},
                at=noon,
                source="bench",
            )
            workers.append(recipient)
        progress(
            f"notify_fanout: seeded {EVENTS} contacts in {time.perf_counter() - started:.1f} s"
        )
        run = uuid.uuid4().hex[:8]
        events = [
            make_event(
                "claim_decided",
                {
                    "claim_id": f"fanout-{run}-{n:05d}",
                    "member_id_hash": recipient,
                    "member_id_masked": "350802********0000",
                    "status": "approved",
                    "amount_fen": 66000,
                    "reason_code": None,
                    "period": 11,
                    "policy_version": "mutual_aid/2018-v1",
                    "member_org": "LY-XL-0042",
                },
                producer="mutual_aid",
                correlation_id=f"bench-fanout-{run}",
            )
            for n, recipient in enumerate(workers)
        ]

        # Counted by the status index (what ran before, bill_to_notice's, is counted out).
        def sent() -> int:  # the inbox messages are their own log rows
            return store.deliveries.count_documents(
                {"status": "sent"}
            ) + store.inbox.count_documents({"status": "sent"})

        before = sent()
        publisher = ConfirmedPublisher(ctx.env.amqp_uri)
        started = time.perf_counter()
        try:
            for event in events:
                publisher.publish(event)
        finally:
            publisher.close()
        published = time.perf_counter() - started
        progress(f"notify_fanout: published {EVENTS} events in {published:.1f} s")
        done = wait_for(
            lambda: sent() - before >= 2 * EVENTS,
            timeout=DRAIN_TIMEOUT_SECONDS,
            interval=1.0,
        )
        seconds = time.perf_counter() - started
        prefix = {"$regex": f"^fanout-{run}-"}
        by_channel = {
            channel: (store.inbox if channel == "inbox" else store.deliveries).count_documents(
                {"ref": prefix, "status": "sent", "channel": channel}
            )
            for channel in ("inbox", "sms")
        }
    finally:
        clock.write_text("", encoding="utf-8")
    messages = sum(by_channel.values())
    if not done:  # reported, not hidden: the rate of what went out, marked failed
        progress(f"notify_fanout: only {by_channel} sent in {seconds:.0f} s")
    rate = messages / seconds if seconds > 0 else math.nan
    progress(
        f"notify_fanout: {messages} messages ({by_channel}) in {seconds:.1f} s = {rate:.0f}/s; "
        f"raw_store {store_rate:.0f} inserts/s"
    )
    result = Result("notify_fanout")
    result.rows = [
        at_least_ratio(
            "messages sent per s (10k events)",
            round(rate, 1),
            "msg/s",
            round(store_rate, 1),
            "raw_store inserts/s",
            GOAL_RATIO,
        )
    ]
    result.rows[0].ok = result.rows[0].ok and done
    result.details = {
        "events": EVENTS,
        "finished": done,
        "messages": by_channel,
        "seconds": round(seconds, 3),
        "publish_seconds": round(published, 3),
        "events_per_s": round(EVENTS / seconds, 1),
        "raw_store_inserts_per_s": round(store_rate, 1),
        "seeding": "NotificationStore.replace_contacts (see docstring)",
    }
    result.metrics = {"messages_per_s": rate}
    return result
