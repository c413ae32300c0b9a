"""The notifications service on the real broker and nx-27017: notices keep the member's org,
inbox and deliveries are answered in the caller's org scope only, every inbox lookup is
audited, and delivery ids are opaque while a redelivered event still notifies once."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from kombu import Connection, Queue
from nameko.standalone.rpc import ClusterRpcProxy, ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from services.dossiers.service import DossiersService
from services.notifications.channels import CLOCK_FILE, FAIL_SWITCH
from services.notifications.service import NotificationsService
from shared.crypto import PiiVault
from shared.errors import ApiError
from shared.events import SHANGHAI, make_event
from shared.publisher import exchange_for
from shared.runner import nameko_config
from tests.integration.test_dossiers_service import household
from tests.support.client import new_id_number
from tests.support.principals import staff
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

CITY = staff("city_admin", "LY")


@pytest.fixture(autouse=True)
def daytime(monkeypatch, tmp_path):
    """The service's test clock runs from noon today, so quiet hours never defer what these
    tests wait for, whatever the hour they run (set before the service starts)."""
    clock = tmp_path / "notifications.clock"
    noon = datetime.now(SHANGHAI).replace(hour=12, minute=0, second=0, microsecond=0)
    clock.write_text(f"{noon.isoformat()} running", encoding="utf-8")
    monkeypatch.setenv(CLOCK_FILE, str(clock))


@pytest.fixture
def container(run_service):
    return run_service(NotificationsService)


@pytest.fixture
def service(container, settings):
    with ClusterRpcProxy(nameko_config(settings), context_data={"correlation_id": "it"}) as rpc:
        yield rpc.notifications


@pytest.fixture
def vault(settings):
    return PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)


@pytest.fixture
def notifications_db(db, settings):
    return db.client[settings.database_name("notifications")]


def decided_event(vault, id_number, member_org, claim_id=None):
    payload = {
        "claim_id": claim_id or uuid.uuid4().hex,
        "member_id_hash": vault.lookup_hash(id_number),
        "member_id_masked": id_number[:6] + "********" + id_number[-4:],
        "status": "approved",
        "amount_fen": 66000,
        "reason_code": None,
        "period": 11,
        "policy_version": "mutual_aid/2018-v1",
    }
    if member_org is not None:
        payload["member_org"] = member_org
    return make_event("claim_decided", payload, producer="mutual_aid", correlation_id="it")


def with_mobile(service, id_number, mobile="13800001234", **preferences):
    service.set_contacts(
        CITY,
        {
            "id_number": id_number,
            "mobile": mobile,
            "wechat_openid": None,
            "preferences": {"sms": True, "wechat": True, **preferences},
        },
    )


def notified(service, publisher, event, id_number, channels=2):
    """Publish the event and wait for its deliveries: the inbox and (a worker with a mobile)
    the SMS."""
    publisher.publish(event)

    def delivered():
        try:
            rows = service.deliveries(CITY, event.payload["claim_id"])["deliveries"]
        except ApiError:  # 404 until the first delivery of the claim
            return 0
        return [d["event_id"] for d in rows].count(event.event_id)

    wait_until(
        delivered,
        lambda n: n == channels,
        what=f"event {event.event_id} delivered on {channels} channels",
    )
    return service.inbox(CITY, id_number)["messages"]


def status_of(call) -> int:
    with pytest.raises(ApiError) as refused:
        call()
    return int(refused.value.status)


def test_inbox_outside_the_callers_org_scope_is_404_and_inside_is_answered(
    service, publisher, vault
):
    id_number = new_id_number()
    event = decided_event(vault, id_number, "LY-XL-0042")
    notified(service, publisher, event, id_number, channels=1)

    assert status_of(lambda: service.inbox(staff("county_staff", "LY-YD"), id_number)) == 404
    assert (
        status_of(lambda: service.inbox(staff("grassroots_staff", "LY-XL-0043"), id_number)) == 404
    )
    for principal in (
        staff("county_staff", "LY-XL"),
        staff("grassroots_staff", "LY-XL-0042"),
        staff("auditor", "LY"),
    ):
        messages = service.inbox(principal, id_number)["messages"]
        assert [m["ref"] for m in messages] == [event.payload["claim_id"]]
        assert "org" not in messages[0]


def test_inbox_of_a_worker_never_notified_is_the_same_404(service):
    assert status_of(lambda: service.inbox(staff("county_staff", "LY-YD"), new_id_number())) == 404


def test_inbox_is_refused_to_roles_that_do_not_serve_workers(service):
    for role in ("reviewer", "finance"):
        assert status_of(lambda role=role: service.inbox(staff(role), new_id_number())) == 403


def test_deliveries_outside_the_callers_org_scope_are_404(service, publisher, vault):
    id_number = new_id_number()
    with_mobile(service, id_number)
    event = decided_event(vault, id_number, "LY-XL-0042")
    notified(service, publisher, event, id_number)
    claim_id = event.payload["claim_id"]

    assert status_of(lambda: service.deliveries(staff("county_staff", "LY-YD"), claim_id)) == 404
    rows = service.deliveries(staff("county_staff", "LY-XL"), claim_id)["deliveries"]
    assert sorted(d["channel"] for d in rows) == ["inbox", "sms"]
    assert status_of(lambda: service.deliveries(staff("finance"), claim_id)) == 403


def test_every_inbox_lookup_is_audited_with_who_and_how_many(
    service, publisher, vault, notifications_db
):
    id_number = new_id_number()
    notified(
        service, publisher, decided_event(vault, id_number, "LY-XL-0042"), id_number, channels=1
    )
    status_of(lambda: service.inbox(staff("county_staff", "LY-YD", "clerk-yd"), id_number))
    service.inbox(staff("county_staff", "LY-XL", "clerk-xl"), id_number)

    entries = service.inbox_lookups(staff("auditor"), id_number)["entries"]
    inbox_lookups = [e for e in entries if e["action"] == "inbox_lookup"]
    assert [(e["by"], e["role"], e["org"], e["messages"]) for e in inbox_lookups] == [
        ("it-city_admin", "city_admin", "LY", 1),
        ("clerk-yd", "county_staff", "LY-YD", 0),
        ("clerk-xl", "county_staff", "LY-XL", 1),
    ]
    # The delivery log is audited the same way: notified() read it while waiting.
    assert {(e["action"], e["by"]) for e in entries} >= {("deliveries_lookup", "it-city_admin")}
    raw = notifications_db["inbox_audit"].find_one({"by": "clerk-yd"})
    assert raw["member_id_hash"] == vault.lookup_hash(id_number) and raw["at"]
    assert id_number not in str(raw)
    # A county auditor sees the lookups made in the county only.
    county = service.inbox_lookups(staff("auditor", "LY-XL"), id_number)["entries"]
    assert [e["by"] for e in county] == ["clerk-xl"]
    assert status_of(lambda: service.inbox_lookups(staff("county_staff"), id_number)) == 403
    # A delivery-log read outside the caller's scope is audited too (nobody's: a 404).
    status_of(lambda: service.deliveries(staff("county_staff", "LY-YD", "clerk-yd"), "no-such-ref"))
    missed = notifications_db["inbox_audit"].find_one({"ref": "no-such-ref", "by": "clerk-yd"})
    assert missed["action"] == "deliveries_lookup" and missed["messages"] == 0


def test_notice_without_a_member_org_is_visible_at_city_level_only(service, publisher, vault):
    id_number = new_id_number()
    notified(service, publisher, decided_event(vault, id_number, None), id_number, channels=1)

    assert status_of(lambda: service.inbox(staff("county_staff", "LY-XL"), id_number)) == 404
    assert len(service.inbox(staff("auditor", "LY"), id_number)["messages"]) == 1


def test_delivery_id_does_not_contain_the_recipient_hash_and_a_redelivery_notifies_once(
    service, container, publisher, vault, notifications_db
):
    id_number = new_id_number()
    recipient = vault.lookup_hash(id_number)
    with_mobile(service, id_number)
    event = decided_event(vault, id_number, "LY-XL-0042")
    notified(service, publisher, event, id_number)
    with entrypoint_waiter(
        container,
        "on_claim_decided",
        callback=lambda worker_ctx, result, exc_info: worker_ctx.args[0].event_id == event.event_id,
    ):
        publisher.publish(event)  # the same event again
    later = decided_event(vault, id_number, "LY-XL-0042", claim_id=event.payload["claim_id"])
    notified(service, publisher, later, id_number)  # a newer event about the same claim

    messages = service.inbox(CITY, id_number)["messages"]
    rows = service.deliveries(CITY, event.payload["claim_id"])["deliveries"]
    assert len(rows) == 4
    assert len(messages) == 2 and len({m["id"] for m in messages}) == 2
    for shown in [m["id"] for m in messages] + [d["id"] for d in rows]:
        assert recipient not in shown and event.event_id not in shown
    # The inbox message is its own delivery-log row; the push channels' rows are deliveries.
    stored = [
        *notifications_db["deliveries"].find({"event_id": event.event_id}),
        *notifications_db["inbox"].find({"event_id": event.event_id}),
    ]
    assert sorted(d["channel"] for d in stored) == ["inbox", "sms"]
    assert all(recipient not in d["_id"] for d in stored)
    assert notifications_db["inbox"].count_documents({"recipient": recipient}) == 2
    sms_ids = [d["id"] for d in rows if d["channel"] == "sms"]
    assert notifications_db["sms_sink"].count_documents({"_id": {"$in": sms_ids}}) == 2


def test_a_redelivered_award_disbursed_tells_the_parent_once_in_the_awards_org(
    service, container, publisher, vault
):
    parent = new_id_number()
    paid = make_event(
        "award_disbursed",
        {
            "application_id": uuid.uuid4().hex,
            "campaign": 2018,
            "parent_id_hash": vault.lookup_hash(parent),
            "org": "LY-XL",
            "amount_fen": 500_000,
            "batch_id": "sb-2018",
            "paid_on": "2018-10-15",
        },
        producer="student_aid",
        correlation_id="it",
    )
    handled = []

    def both_handled(worker_ctx, result, exc_info):
        handled.append(worker_ctx.args[0].event_id == paid.event_id)
        return handled.count(True) == 2

    with entrypoint_waiter(container, "on_award_disbursed", callback=both_handled):
        publisher.publish(paid)
        publisher.publish(paid)  # a redelivery

    messages = service.inbox(staff("county_staff", "LY-XL"), parent)["messages"]
    assert len(messages) == 1 and "金秋助学" in messages[0]["text"]
    assert status_of(lambda: service.inbox(staff("county_staff", "LY-SH"), parent)) == 404


@pytest.fixture
def refusing_sms(monkeypatch):
    """The development sink's own switch, set before the service starts: the SMS provider is
    down (a transient failure) on every try."""
    monkeypatch.setenv(FAIL_SWITCH, "1")


def test_an_sms_the_provider_keeps_refusing_is_retried_with_backoff_then_falls_back(
    refusing_sms, service, publisher, vault, notifications_db
):
    id_number = new_id_number()
    with_mobile(service, id_number, wechat=False)
    event = decided_event(vault, id_number, "LY-XL-0042")
    publisher.publish(event)

    def sms_row():
        try:
            rows = service.deliveries(CITY, event.payload["claim_id"])["deliveries"]
        except ApiError:
            return None
        return next((d for d in rows if d["channel"] == "sms"), None)

    # EVENT_RETRY_DELAYS_MS=100,200: two retries by the service's timer, then the fallback.
    row = wait_until(
        sms_row,
        lambda r: r is not None and r["status"] == "fell_back",
        timeout=30,
        what="the SMS retried and fallen back",
    )
    assert [h["status"] for h in row["history"]] == [
        "queued",
        "failed",
        "queued",
        "failed",
        "queued",
        "failed",
        "fell_back",
    ]
    assert row["history"][-1]["detail"] == "to inbox"
    assert len(service.inbox(CITY, id_number)["messages"]) == 1
    # The handler never failed for the provider: nothing parked.
    assert notifications_db["dead_letters"].count_documents({"event_id": event.event_id}) == 0
    assert notifications_db["sms_sink"].count_documents({"_id": row["id"]}) == 0


def test_contacts_are_masked_in_every_answer_sealed_at_rest_and_each_lookup_audited(
    service, notifications_db, vault
):
    id_number = new_id_number()
    service.set_contacts(
        staff("county_staff", "LY-XL", "clerk-xl"),
        {
            "id_number": id_number,
            "mobile": "13800001234",
            "wechat_openid": "oWx_7Qm2LkPz9aBcDeFgHi",
            "preferences": {"sms": False, "wechat": True},
        },
    )
    shown = service.contacts(staff("county_staff", "LY-XL"), {"id_number": id_number})
    assert shown["mobile"] == "138****1234"
    assert shown["id_number"] == id_number[:6] + "********" + id_number[-4:]  # not in clear
    assert shown["wechat_openid"] == "oWx_****FgHi"
    assert shown["preferences"] == {"sms": False, "wechat": True}
    kept = notifications_db["contacts"].find_one({"_id": vault.lookup_hash(id_number)})
    assert "13800001234" not in str(kept) and "oWx_7Qm2LkPz9aBcDeFgHi" not in str(kept)
    assert vault.decrypt(kept["mobile_sealed"]) == "13800001234"
    actions = [
        e["action"]
        for e in notifications_db["inbox_audit"].find(
            {"member_id_hash": vault.lookup_hash(id_number)}
        )
    ]
    assert sorted(actions) == ["contacts_lookup", "contacts_set"]
    assert status_of(lambda: service.contacts(staff("finance"), {"id_number": id_number})) == 403
    assert status_of(lambda: service.contacts(CITY, {"id_number": new_id_number()})) == 404
    bad = {"id_number": id_number, "mobile": "1380000123", "wechat_openid": None}
    assert status_of(lambda: service.set_contacts(CITY, bad)) == 400


def test_the_phone_taken_at_dossier_intake_reaches_notifications_sealed_and_is_used(
    run_service, service, settings, amqp_uri, vault, notifications_db
):
    """Dossier intake keeps the phone sealed; its dossier_established carries it sealed
    (``mobile_encrypted``, never in clear on the bus); notifications binds it and the first
    message about the dossier goes by SMS to it."""
    replica = type(
        "DossiersReplica", (DossiersService,), {"name": f"dossiers_it_{uuid.uuid4().hex[:8]}"}
    )
    run_service(replica)
    tap = Queue(
        f"it-dossier-tap-{uuid.uuid4().hex[:8]}",
        exchange=exchange_for("dossiers"),
        routing_key="dossier_established",
        auto_delete=True,
    )
    body = {**household(), "phone": "13800001234"}
    with Connection(amqp_uri) as connection:
        tap(connection.default_channel).declare()
        with ServiceRpcProxy(replica.name, nameko_config(settings)) as dossiers:
            proposal = dossiers.submit(CITY, body)
            dossiers.confirm(CITY, proposal["dossier_id"], {"tier": proposal["proposed_tier"]})

        def tapped():
            message = tap(connection.default_channel).get(no_ack=True)
            return None if message is None else message.body

        raw = wait_until(tapped, lambda m: m is not None, what="dossier_established on the bus")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    assert "13800001234" not in text and "mobile_encrypted" in text

    recipient = vault.lookup_hash(body["head_id_number"])
    contact = wait_until(
        lambda: notifications_db["contacts"].find_one({"_id": recipient}),
        timeout=30,
        what="the intake phone bound in notifications",
    )
    assert contact["mobile_masked"] == "138****1234" and "13800001234" not in str(contact)
    rows = wait_until(
        lambda: list(notifications_db["deliveries"].find({"ref": proposal["dossier_id"]})),
        lambda r: ("sms", "sent") in [(d["channel"], d["status"]) for d in r],
        timeout=30,
        what="the dossier_established message sent by SMS",
    )
    sms = notifications_db["sms_sink"].find_one(
        {"_id": next(d["_id"] for d in rows if d["channel"] == "sms")}
    )
    assert sms["to_masked"] == "138****1234" and "服务登记" in sms["text"]
