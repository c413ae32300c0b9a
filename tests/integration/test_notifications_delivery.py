"""Sending on nx-27017, the steps the event handler and the timer run (no broker): preferences,
the fallback SMS → WeChat → inbox, retries with backoff, quiet hours released by the timer's
step, exactly once per (event, recipient, channel) across redeliveries, fallbacks, deferrals
and two ticks at once, and contacts bound from the city portal and from sealed event fields."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import eventlet
import pytest
from pymongo import MongoClient

from services.notifications.application import contacts
from services.notifications.application.notices import Outlets, notify, release_due
from services.notifications.channels import PERMANENT, TRANSIENT, FixedClock, development_sinks
from services.notifications.domain.policy import NotificationsPolicy
from services.notifications.store import NotificationStore
from shared.auth import StaffPrincipal
from shared.crypto import PiiVault
from shared.events import SHANGHAI, make_event
from shared.policy import PolicyStore
from tests.support.client import new_id_number
from tests.support.commands import Commands

pytestmark = pytest.mark.integration

POLICY = NotificationsPolicy.from_document(
    PolicyStore.for_service("config/policy", "notifications").versions()[-1]
)
CLERK = StaffPrincipal("clerk-xl", "county_staff", "LY-XL")
DAY = datetime(2018, 5, 10, 10, 0, tzinfo=SHANGHAI)
MOBILE = "13800001234"
OPENID = "oWx_7Qm2LkPz9aBcDeFgHi"


@pytest.fixture
def vault(settings):
    return PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)


@pytest.fixture
def store(db, settings):
    store = NotificationStore(db, settings)
    store.ensure_indexes()
    return store


@pytest.fixture
def clock():
    return FixedClock(DAY)


@pytest.fixture
def sinks(db, vault):
    return development_sinks(db, vault.encrypt, {}, "test")


@pytest.fixture
def outlets(sinks, clock, vault):
    return Outlets(
        providers=sinks, clock=clock, policy=POLICY, retry_delays_ms=(1000, 5000), vault=vault
    )


def worker(store, vault, *, mobile=True, wechat=True, sms_on=True, wechat_on=True) -> str:
    id_number = new_id_number()
    contacts.set_by_staff(
        store,
        vault,
        CLERK,
        {
            "id_number": id_number,
            "mobile": MOBILE if mobile else None,
            "wechat_openid": OPENID if wechat else None,
            "preferences": {"sms": sms_on, "wechat": wechat_on},
        },
        DAY,
    )
    return id_number


def decided(vault, id_number, status="approved"):
    return make_event(
        "claim_decided",
        {
            "claim_id": uuid.uuid4().hex,
            "member_id_hash": vault.lookup_hash(id_number),
            "member_id_masked": id_number[:6] + "********" + id_number[-4:],
            "status": status,
            "amount_fen": 66000,
            "reason_code": None,
            "period": 11,
            "policy_version": "mutual_aid/2018-v1",
            "member_org": "LY-XL-0042",
        },
        producer="mutual_aid",
        correlation_id="it",
    )


def log(store, event) -> dict[str, dict]:
    """The delivery rows of one event by channel."""
    return {d["channel"]: d for d in store.deliveries_for(event.payload["claim_id"], "LY")}


def statuses(row) -> list[str]:
    return [h["status"] for h in row["history"]]


def sent(db, channel) -> list[dict]:
    return list(db[f"{channel}_sink"].find())


def test_the_same_event_three_times_is_one_message_per_channel(store, outlets, vault, db):
    event = decided(vault, worker(store, vault))
    for _ in range(3):
        notify(store, outlets, event)
    rows = log(store, event)
    # Both channels on: the first of SMS → WeChat carries it, beside the inbox.
    assert sorted(rows) == ["inbox", "sms"]
    assert all(r["status"] == "sent" for r in rows.values())
    assert len(sent(db, "sms")) == 1 and sent(db, "wechat") == []
    assert db["inbox"].count_documents({"ref": event.payload["claim_id"]}) == 1
    sms = sent(db, "sms")[0]
    # What would be sent, exactly: the minimised text, the number sealed and masked.
    assert sms["text"] == (
        f"【龙岩市总工会】您的职工医疗互助补助申请（编号 {event.payload['claim_id'][:8].upper()}）"
        "有新进展，请登录龙岩市总工会服务平台查看。"
    )
    assert sms["to_masked"] == "138****1234" and MOBILE not in str(sms)
    assert vault.decrypt(sms["to_sealed"]) == MOBILE
    kept = str(list(db["contacts"].find()))
    assert MOBILE not in kept and OPENID not in kept


@pytest.mark.parametrize(
    ("mobile", "wechat", "sms_on", "wechat_on", "channels"),
    [
        (True, True, True, True, ["inbox", "sms"]),
        (True, True, False, True, ["inbox", "wechat"]),
        (True, True, True, False, ["inbox", "sms"]),
        (True, True, False, False, ["inbox"]),
        (False, True, True, True, ["inbox", "wechat"]),
        (False, True, True, False, ["inbox"]),
        (False, False, True, True, ["inbox"]),
    ],
)
def test_preferences_choose_the_channel(
    store, outlets, vault, db, mobile, wechat, sms_on, wechat_on, channels
):
    id_number = worker(
        store, vault, mobile=mobile, wechat=wechat, sms_on=sms_on, wechat_on=wechat_on
    )
    event = decided(vault, id_number)
    notify(store, outlets, event)
    assert sorted(log(store, event)) == channels
    assert len(sent(db, "sms")) == ("sms" in channels)
    assert len(sent(db, "wechat")) == ("wechat" in channels)


def test_an_sms_refused_for_good_falls_to_the_inbox_when_wechat_is_off(
    store, outlets, sinks, vault, db
):
    sinks["sms"].fail = PERMANENT
    event = decided(vault, worker(store, vault, wechat_on=False))
    notify(store, outlets, event)
    rows = log(store, event)
    assert statuses(rows["sms"]) == ["queued", "failed", "fell_back"]
    assert rows["sms"]["history"][-1]["detail"] == "to inbox"
    assert "wechat" not in rows and sent(db, "wechat") == []
    assert rows["inbox"]["status"] == "sent"


def test_an_sms_refused_for_good_falls_to_wechat_and_a_refused_wechat_to_the_inbox(
    store, outlets, sinks, vault, db
):
    sinks["sms"].fail = PERMANENT
    event = decided(vault, worker(store, vault))
    notify(store, outlets, event)
    rows = log(store, event)
    assert statuses(rows["sms"]) == ["queued", "failed", "fell_back"]
    assert rows["sms"]["history"][-1]["detail"] == "to wechat"
    assert statuses(rows["wechat"]) == ["queued", "sent"]
    assert rows["wechat"]["history"][0]["detail"] == "fell back from sms"
    assert len(sent(db, "wechat")) == 1 and sent(db, "sms") == []

    sinks["wechat"].fail = PERMANENT
    other = decided(vault, worker(store, vault))
    notify(store, outlets, other)
    rows = log(store, other)
    assert rows["sms"]["history"][-1]["detail"] == "to wechat"
    assert statuses(rows["wechat"]) == ["queued", "failed", "fell_back"]
    assert rows["wechat"]["history"][-1]["detail"] == "to inbox"
    assert rows["inbox"]["status"] == "sent"


def test_a_fallback_is_sent_once_however_often_the_event_arrives(store, outlets, sinks, vault, db):
    sinks["sms"].fail = PERMANENT
    event = decided(vault, worker(store, vault))
    for _ in range(3):
        notify(store, outlets, event)
    sinks["sms"].fail = None  # recovered: the SMS refused for good stays refused
    notify(store, outlets, event)
    assert sorted(log(store, event)) == ["inbox", "sms", "wechat"]
    assert len(sent(db, "wechat")) == 1 and sent(db, "sms") == []


def test_a_provider_failing_then_recovering_retries_with_backoff_and_sends_once(
    store, outlets, sinks, clock, vault, db
):
    sinks["sms"].fail = TRANSIENT
    event = decided(vault, worker(store, vault, wechat_on=False))
    notify(store, outlets, event)
    row = log(store, event)["sms"]
    assert row["status"] == "queued" and statuses(row) == ["queued", "failed", "queued"]
    assert release_due(store, outlets) == 0  # not due before its backoff
    clock.moment += timedelta(seconds=1)
    assert release_due(store, outlets) == 0  # still failing: the next delay, 5 s
    sinks["sms"].fail = None  # the provider is back
    clock.moment += timedelta(seconds=4)
    assert release_due(store, outlets) == 0  # 5 s not yet elapsed
    clock.moment += timedelta(seconds=1)
    assert release_due(store, outlets) == 1
    assert release_due(store, outlets) == 0
    row = log(store, event)["sms"]
    assert row["status"] == "sent"
    assert statuses(row) == ["queued", "failed", "queued", "failed", "queued", "sent"]
    assert len(sent(db, "sms")) == 1


def test_transient_failures_past_the_last_retry_fall_back(store, outlets, sinks, clock, vault):
    sinks["sms"].fail = TRANSIENT
    event = decided(vault, worker(store, vault))
    notify(store, outlets, event)
    for seconds in (1, 5):
        clock.moment += timedelta(seconds=seconds)
        release_due(store, outlets)
    rows = log(store, event)
    assert rows["sms"]["status"] == "fell_back"
    assert rows["sms"]["history"][-2]["detail"].startswith("retries exhausted")
    assert rows["wechat"]["status"] == "sent"


@pytest.mark.parametrize(
    ("hour", "minute", "deferred"),
    [(21, 59, False), (22, 0, True), (7, 59, True), (8, 0, False)],
)
def test_quiet_hours_defer_push_messages_to_eight_and_the_timer_sends_them(
    store, outlets, clock, vault, db, hour, minute, deferred
):
    clock.moment = DAY.replace(hour=hour, minute=minute)
    event = decided(vault, worker(store, vault, wechat=False))
    notify(store, outlets, event)
    rows = log(store, event)
    assert rows["inbox"]["status"] == "sent"  # the inbox is silent: never deferred
    assert rows["sms"]["status"] == ("deferred" if deferred else "sent")
    if not deferred:
        return
    assert sent(db, "sms") == []
    eight = clock.moment.replace(hour=8, minute=0)
    if eight < clock.moment:
        eight += timedelta(days=1)
    clock.moment = eight - timedelta(milliseconds=1)
    assert release_due(store, outlets) == 0
    clock.moment = eight
    assert release_due(store, outlets) == 1
    notify(store, outlets, event)  # redelivered after the release: nothing new
    row = log(store, event)["sms"]
    assert statuses(row) == ["deferred", "sent"]
    assert row["history"][-1]["at"].endswith("08:00:00.000+08:00")
    assert len(sent(db, "sms")) == 1


def test_two_ticks_at_once_send_each_deferred_message_once(store, outlets, clock, vault, db):
    clock.moment = DAY.replace(hour=23)
    events = [decided(vault, worker(store, vault)) for _ in range(6)]
    for event in events:
        notify(store, outlets, event)
    clock.moment = DAY.replace(hour=8) + timedelta(days=1)
    pool = eventlet.GreenPool(4)
    counts = list(pool.imap(lambda _: release_due(store, outlets), range(4)))
    assert sum(counts) == 6
    assert len(sent(db, "sms")) == 6
    for event in events:
        assert all(statuses(r)[-1] == "sent" for c, r in log(store, event).items() if c != "inbox")


def test_a_claimed_row_is_not_claimed_again_until_its_lease_ends(store, clock, vault):
    key = uuid.uuid4().hex
    store.queue_delivery(
        key,
        {"event_id": key, "recipient": "r", "channel": "sms"},
        status="queued",
        due_at=DAY,
        at=DAY,
    )
    first = store.claim(key, DAY, DAY + timedelta(seconds=60))
    assert first is not None
    assert store.claim(key, DAY + timedelta(seconds=59), DAY + timedelta(seconds=119)) is None
    later = store.claim(key, DAY + timedelta(seconds=60), DAY + timedelta(seconds=120))
    assert later is not None and later["lease"] != first["lease"]
    assert store.mark_sent(first, DAY) is False  # the first holder lost it: its word is void
    assert store.mark_sent(later, DAY) is True


def test_a_mobile_sealed_in_dossier_established_is_bound_and_told(store, outlets, vault, db):
    id_number = new_id_number()
    event = make_event(
        "dossier_established",
        {
            "dossier_id": uuid.uuid4().hex,
            "head_id_hash": vault.lookup_hash(id_number),
            "county": "LY-XL",
            "revision": 2,
            "tier": "national",
            "org": "LY-XL-0042",
            "established_on": "2018-03-02",
            "mobile_encrypted": vault.encrypt(MOBILE),
        },
        producer="dossiers",
        correlation_id="it",
    )
    occurred = datetime.fromisoformat(event.occurred_at)
    assert contacts.bind_from_event(
        store,
        vault,
        event.payload["head_id_hash"],
        event.payload["mobile_encrypted"],
        occurred,
        "dossiers.intake",
    )
    notify(store, outlets, event)
    assert [s["to_masked"] for s in sent(db, "sms")] == ["138****1234"]
    # A worker who binds another phone later keeps it when the old event is redelivered.
    contacts.bind_from_city(
        store,
        vault,
        "CP01",
        "wh-1",
        {"id_number": id_number, "mobile": "13900005678", "wechat_openid": None},
        occurred + timedelta(days=1),
    )
    assert not contacts.bind_from_event(
        store,
        vault,
        event.payload["head_id_hash"],
        event.payload["mobile_encrypted"],
        occurred,
        "dossiers.intake",
    )
    shown = contacts.contacts_of(store, CLERK, id_number)
    assert shown["mobile"] == "139****5678" and shown["preferences"] == {
        "sms": True,
        "wechat": True,
    }


def test_a_city_webhook_seen_before_changes_nothing(store, vault):
    id_number = worker(store, vault, mobile=False, wechat=False)
    body = {"id_number": id_number, "mobile": "13900005678", "wechat_openid": None}
    contacts.bind_from_city(store, vault, "CP01", "wh-same", body, DAY + timedelta(hours=1))
    store.contacts.update_one(
        {"_id": vault.lookup_hash(id_number)}, {"$unset": {"mobile_sealed": ""}}
    )
    contacts.bind_from_city(store, vault, "CP01", "wh-same", body, DAY + timedelta(hours=2))
    assert "mobile_sealed" not in store.contact(vault.lookup_hash(id_number))


def test_figures_count_by_event_type_channel_and_status_in_the_callers_scope(
    store, outlets, sinks, vault
):
    sinks["sms"].fail = PERMANENT
    notify(store, outlets, decided(vault, worker(store, vault)))
    figures = store.figures(DAY.date(), DAY.date(), "LY-XL")
    by = {(r["event_type"], r["channel"], r["status"]): r["count"] for r in figures["rows"]}
    assert by[("claim_decided", "sms", "fell_back")] >= 1
    assert by[("claim_decided", "wechat", "sent")] >= 1
    assert figures["fell_back"] >= 1 and figures["failed_at_least_once"] >= 1
    assert store.figures(DAY.date(), DAY.date(), "LY-YD")["rows"] == []


def test_a_notice_to_a_worker_without_push_channels_is_one_read_and_one_insert(
    store, outlets, vault, db, settings
):
    id_number = new_id_number()  # no contact point: the inbox alone
    event = decided(vault, id_number)
    commands = Commands()
    client = MongoClient(settings.mongo_uri, tz_aware=True, event_listeners=[commands])
    try:
        counted = NotificationStore(client[db.name], settings)
        notify(counted, outlets, event)
        assert commands.seen == [("insert", "inbox"), ("find", "contacts")]
        notify(counted, outlets, event)  # a redelivery: the insert collides, nothing is added
    finally:
        client.close()
    # The message is its own delivery-log row: nothing in ``deliveries``.
    assert db["deliveries"].count_documents({}) == 0
    assert db["inbox"].count_documents({"recipient": vault.lookup_hash(id_number)}) == 1
    rows = log(store, event)
    assert sorted(rows) == ["inbox"]
    assert rows["inbox"]["status"] == "sent" and statuses(rows["inbox"]) == ["queued", "sent"]
    assert rows["inbox"]["event_id"] == event.event_id
    assert rows["inbox"]["updated_at"] == DAY.isoformat(timespec="milliseconds")
    figures = store.figures(DAY.date(), DAY.date(), "LY-XL")
    assert figures["rows"] == [
        {"event_type": "claim_decided", "channel": "inbox", "status": "sent", "count": 1}
    ]
    assert figures["failed_at_least_once"] == 0 and figures["fell_back"] == 0


def test_an_inbox_message_logged_in_deliveries_before_is_answered_and_counted_once(store, db):
    """Messages written before the inbox row carried the log: the row in ``deliveries`` is the
    log, the message alone is the inbox."""
    at = DAY.isoformat(timespec="milliseconds")
    common = {"recipient": "r-old", "org": "LY-XL-0042", "ref": "claim-old"}
    db["inbox"].insert_one(
        {
            "_id": "d-old",
            **common,
            "event_type": "claim_decided",
            "text": "旧消息",
            "created_at": at,
            "read": False,
        }
    )
    store.queue_delivery(
        "d-old",
        {**common, "event_id": "e-old", "event_type": "claim_decided", "channel": "inbox"},
        status="sent",
        due_at=DAY,
        at=DAY,
    )
    rows = store.deliveries_for("claim-old", "LY")
    assert [(r["id"], r["channel"], r["status"]) for r in rows] == [("d-old", "inbox", "sent")]
    assert store.figures(DAY.date(), DAY.date(), "LY")["rows"] == [
        {"event_type": "claim_decided", "channel": "inbox", "status": "sent", "count": 1}
    ]
    assert [m["id"] for m in store.messages_for("r-old", None, 10)] == ["d-old"]


def test_a_seekers_sealed_mobile_is_bound_and_each_jobs_step_is_told(store, outlets, vault, db):
    id_number = new_id_number()
    id_hash = vault.lookup_hash(id_number)
    seeker = {"seeker_id": uuid.uuid4().hex, "id_hash": id_hash, "county": "LY-XL"}
    registered = make_event(
        "seeker_registered",
        {**seeker, "mobile_encrypted": vault.encrypt(MOBILE)},
        producer="jobs",
        correlation_id="it",
    )
    assert contacts.bind_from_event(
        store,
        vault,
        id_hash,
        registered.payload["mobile_encrypted"],
        datetime.fromisoformat(registered.occurred_at),
        "jobs.seeker_registration",
    )
    intent = uuid.uuid4().hex
    steps = [
        (
            "fair_registered",
            {"fair_id": uuid.uuid4().hex, "fair_name": "春风行动招聘会", "fair_date": "2018-03-02"},
        ),
        ("intent_recorded", {"intent_id": intent, "vacancy_id": "v1", "agreed_on": "2018-03-02"}),
        ("seeker_hired", {"intent_id": intent, "vacancy_id": "v1", "hired_on": "2018-03-10"}),
        ("follow_up_due", {"intent_id": intent, "day": 30, "due_on": "2018-04-09"}),
    ]
    for event_type, payload in steps:
        notify(
            store,
            outlets,
            make_event(event_type, {**seeker, **payload}, producer="jobs", correlation_id="it"),
        )
    texts = [s["text"] for s in sent(db, "sms")]
    assert len(texts) == 4 and all(s["to_masked"] == "138****1234" for s in sent(db, "sms"))
    inbox = store.messages_for(id_hash, "LY-XL", 10)
    assert sorted(m["event_type"] for m in inbox) == sorted(t for t, _ in steps)
    assert store.messages_for(id_hash, "LY-YD", 10) == []


def test_a_message_is_marked_read_only_for_its_own_worker_and_reading_it_again_is_no_error(store):
    key = store.delivery_id("evt-read", "recipient-a", "inbox")
    assert store.deliver_inbox(
        event_id="evt-read",
        event_type="claim_decided",
        recipient="recipient-a",
        org="LY-XL",
        ref="claim-1",
        text="您的医疗互助补助申请已受理。",
        at=DAY,
    )
    assert store.mark_read(key, "recipient-b", DAY) is False  # another worker's message
    assert store.messages_for("recipient-a", None, 10)[0]["read"] is False
    assert store.mark_read(key, "recipient-a", DAY) is True
    assert store.mark_read(key, "recipient-a", DAY) is True  # read again: still theirs
    assert store.mark_read(key, "recipient-b", DAY) is False
    assert store.mark_read("no-such-message", "recipient-a", DAY) is False
    assert store.messages_for("recipient-a", None, 10)[0]["read"] is True
