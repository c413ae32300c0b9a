"""The dossiers service in-process on the real broker and nx-27017: the scheduler opening one
campaign across replicas, visits and closing, grants from mutual aid recorded once, purging.

Each test runs the service under a name of its own (so its own database and queues), because
the end-to-end tier's ``dossiers`` may be running on the same broker and server."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, timedelta

import eventlet
import pytest
from kombu import Connection, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

import services.dossiers.service as dossiers_service
from services.dossiers.service import DossiersService
from shared.errors import ApiError
from shared.events import make_event, today_shanghai
from shared.identity import make_id_number
from shared.providers import Store
from shared.publisher import exchange_for
from shared.runner import nameko_config
from tests.support.principals import staff
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def new_id_number() -> str:
    """Birth date and sequence drawn independently: the shared helper's ids repeat every 21,000,
    and here any repeat of a member across tests is a 409."""
    birth = date(1950, 1, 1) + timedelta(days=secrets.randbelow(50 * 365))
    return make_id_number("350802", birth, secrets.randbelow(1000))


CITY = staff("city_admin", "LY", "it-admin")


@pytest.fixture
def replica_class():
    return type(
        "DossiersReplica", (DossiersService,), {"name": f"dossiers_it_{uuid.uuid4().hex[:8]}"}
    )


@pytest.fixture
def service(run_service, replica_class, settings):
    container = run_service(replica_class)
    store = next(d for d in container.dependencies if isinstance(d, Store)).store
    with ServiceRpcProxy(replica_class.name, nameko_config(settings)) as rpc:
        yield container, store, rpc


def household(county="LY-XL", income="500.00", causes=("illness",), months=6):
    head = new_id_number()
    return {
        "county": county,
        "org": f"{county}-0042",
        "category": "低保户",
        "head_id_number": head,
        "employment_status": "unemployed",
        "employer": "龙岩某厂",
        "members": [
            {"id_number": head, "name": "王五", "relation": "self", "monthly_income": income},
            {"id_number": new_id_number(), "name": "王小", "relation": "child", "monthly_income": "0"},
        ],
        "monthly_rigid_expenditure": "0",
        "months_below_line": months,
        "causes": list(causes),
        "assets": {"homes": 1, "owns_business": False, "private_school_or_abroad": False, "non_work_vehicle": False},
        "address": "新罗区某路1号",
        "phone": None,
        "intake_date": "2018-03-02",
    }  # fmt: skip


def open_dossier(rpc, body=None) -> tuple[str, dict]:
    body = body or household()
    proposal = rpc.submit(CITY, body)
    rpc.confirm(CITY, proposal["dossier_id"], {"tier": proposal["proposed_tier"]})
    return proposal["dossier_id"], body


def bind_a_reader(amqp_uri: str) -> None:
    """A queue bound to every dossier event, as the mutual-aid read model's will be."""
    with Connection(amqp_uri) as connection:
        Queue(
            f"it-dossier-reader-{uuid.uuid4().hex[:8]}",
            exchange=exchange_for("dossiers"),
            routing_key="#",
            auto_delete=True,
        )(connection.default_channel).declare()


def on_day(monkeypatch, day: date) -> None:
    """The service's clock: the one thing here not under test."""
    monkeypatch.setattr(dossiers_service, "today_shanghai", lambda: day)


def test_scheduler_on_two_replicas_opens_one_campaign_with_a_task_per_open_dossier(
    service, run_service, replica_class, monkeypatch
):
    first, store, rpc = service
    second = run_service(replica_class)
    opened = [open_dossier(rpc)[0] for _ in range(3)]
    rpc.submit(CITY, household())  # proposed, not open: no task
    on_day(monkeypatch, date(2019, 4, 2))
    with entrypoint_hook(first, "scheduled") as tick:
        tick()
    assert store.campaigns.count_documents({}) == 0

    on_day(monkeypatch, date(2019, 4, 1))

    def tick_on(container):
        with entrypoint_hook(container, "scheduled") as tick:
            tick()

    list(eventlet.GreenPool(4).imap(tick_on, [first, second, first, second]))
    assert [c["_id"] for c in store.campaigns.find()] == ["2019-04"]
    campaign = rpc.get_campaign(CITY, "2019-04")
    assert (campaign["status"], campaign["tasks"], campaign["closes_on"]) == (
        "open",
        3,
        "2019-05-01",
    )
    assert sorted(t["dossier_id"] for t in store.tasks.find()) == sorted(opened)


def test_campaign_visit_re_evaluates_and_close_flags_the_unvisited(service):
    _, store, rpc = service
    unchanged, body_unchanged = open_dossier(rpc)
    exiting, body_exiting = open_dossier(rpc)
    lowered, body_lowered = open_dossier(rpc, household(causes=("illness",), months=0))
    forgotten, _ = open_dossier(rpc, household(county="LY-YD"))
    created = rpc.open_campaign(CITY, {"opened_on": "2019-10-01"})
    assert (created["created"], created["tasks"]) == (True, 4)
    assert rpc.open_campaign(CITY, {"opened_on": "2019-10-01"})["created"] is False

    def visit(dossier_id, body, income):
        head = body["head_id_number"]
        return rpc.record_visit(
            CITY,
            dossier_id,
            {
                "visit_date": "2019-10-12",
                "visitor": "李四",
                "findings": "入户核实",
                "members": [{"id_number": head, "monthly_income": income}],
            },
        )

    assert visit(unchanged, body_unchanged, "500.00")["outcome"] == "unchanged"
    exit_result = visit(exiting, body_exiting, "5000.00")
    assert (exit_result["outcome"], exit_result["exit_reason"]) == ("exit", "income_above_line")
    assert exit_result["campaign_id"] == "2019-10"
    lowered_result = visit(lowered, body_lowered, "1900.00")  # p = 950 ≤ 1.5 × 650: national
    assert (lowered_result["outcome"], lowered_result["tier"]) == ("unchanged", "national")
    lowered_result = visit(lowered, body_lowered, "2000.00")  # p = 1000 > 975, < 1300: local
    assert (lowered_result["outcome"], lowered_result["tier"]) == ("tier_changed", "local")
    # Both wait for staff; confirmed, they change the dossier.
    for dossier_id, result in ((exiting, exit_result), (lowered, lowered_result)):
        assert rpc.get_dossier(CITY, dossier_id)["status"] == "open"
        rpc.confirm_visit(CITY, dossier_id, result["visit_id"], {"accept": True})
    assert rpc.get_dossier(CITY, lowered)["tier"] == "local"
    assert rpc.get_dossier(CITY, exiting)["status"] == "closed"

    closed = rpc.close_campaign(CITY, "2019-10")
    assert (closed["status"], closed["overdue"]) == ("closed", 1)
    overdue = rpc.overdue(CITY, "2019-10", None)
    assert overdue["counties"] == {"LY-YD": [{"dossier_id": forgotten, "org": "LY-YD-0042"}]}
    flagged = store.dossier(forgotten)
    assert flagged["verification_overdue"] and flagged["revision"] == 3  # nx stores true as 1
    events = {
        e["event_type"] for d in store.dossiers.find() for e in (d.get("outbox") or {}).values()
    }
    # The relay may already have published some; what is left is a subset of what was written.
    assert events <= {
        "dossier_established",
        "dossier_tier_changed",
        "dossier_exited",
        "verification_overdue",
    }
    # The exited household's members are free to be filed again.
    assert rpc.submit(CITY, {**body_exiting, "intake_date": "2019-11-01"})["status"] == "proposed"


def test_a_visit_whose_task_write_was_lost_is_not_flagged_overdue(service):
    _, store, rpc = service
    dossier_id, body = open_dossier(rpc)
    rpc.open_campaign(CITY, {"opened_on": "2020-04-01"})
    rpc.record_visit(
        CITY,
        dossier_id,
        {
            "visit_date": "2020-04-12",
            "visitor": "李四",
            "findings": "入户核实",
            "members": [{"id_number": body["head_id_number"], "monthly_income": "500.00"}],
        },
    )
    # A crash between the dossier write and the task write leaves the task pending.
    store.tasks.update_one({"_id": f"2020-04:{dossier_id}"}, {"$set": {"status": "pending"}})

    closed = rpc.close_campaign(CITY, "2020-04")

    assert closed["overdue"] == 0
    assert not store.dossier(dossier_id).get("verification_overdue")
    assert store.tasks.find_one({"_id": f"2020-04:{dossier_id}"})["status"] == "visited"


def test_mutual_aid_payment_to_a_dossier_head_is_recorded_once(service, publisher):
    container, store, rpc = service
    dossier_id, body = open_dossier(rpc)
    paid = make_event(
        "claim_paid",
        {
            "claim_id": "c-42",
            "member_id_hash": store.vault.lookup_hash(body["head_id_number"]),
            "member_id_masked": "350802********0000",
            "amount_fen": 123_450,
            "batch_id": "pb-1",
            "period": 11,
            "paid_on": "2018-06-30",
        },
        producer="mutual_aid",
        correlation_id="it",
    )
    handled = []

    def both_handled(worker_ctx, result, exc_info):
        handled.append(worker_ctx.args[0].event_id == paid.event_id)
        return handled.count(True) == 2

    with entrypoint_waiter(container, "on_claim_paid", callback=both_handled):
        publisher.publish(paid)
        publisher.publish(paid)  # a redelivery

    dossier = store.dossier(dossier_id)
    assert list(dossier["ledger"]) == ["mutual_aid-c-42"]
    assert dossier["assistance_total_fen"] == 123_450


def test_student_aid_award_to_a_dossier_heads_child_is_an_education_grant_recorded_once(
    service, publisher
):
    container, store, rpc = service
    dossier_id, body = open_dossier(rpc)
    disbursed = make_event(
        "award_disbursed",
        {
            "application_id": "app-7",
            "campaign": 2018,
            "parent_id_hash": store.vault.lookup_hash(body["head_id_number"]),
            "org": "LY-XL",
            "amount_fen": 500_000,
            "batch_id": "sb-1",
            "paid_on": "2018-09-03",
        },
        producer="student_aid",
        correlation_id="it",
    )
    handled = []

    def both_handled(worker_ctx, result, exc_info):
        handled.append(worker_ctx.args[0].event_id == disbursed.event_id)
        return handled.count(True) == 2

    with entrypoint_waiter(container, "on_award_disbursed", callback=both_handled):
        publisher.publish(disbursed)
        publisher.publish(disbursed)  # a redelivery

    dossier = store.dossier(dossier_id)
    assert list(dossier["ledger"]) == ["student_aid-app-7"]
    grant = dossier["ledger"]["student_aid-app-7"]
    assert (grant["type"], grant["campaign"], grant["fund"]) == ("education", 2018, "student_aid")
    assert dossier["assistance_total_fen"] == 500_000
    # Paid by student aid: no fund of ours was drawn on.
    assert store.fund("student_aid", 2018) is None


def test_closed_dossiers_are_purged_ten_years_after_closure(service, monkeypatch, amqp_uri):
    container, store, rpc = service
    bind_a_reader(amqp_uri)  # a dossier is purged only once its events have left
    old, _ = open_dossier(rpc)
    recent, _ = open_dossier(rpc)
    rpc.exit_dossier(CITY, old, {"reason": "death_or_dissolved", "exited_on": "2009-05-01"})
    rpc.exit_dossier(CITY, recent, {"reason": "moved_out_of_city", "exited_on": "2009-05-02"})
    wait_until(
        lambda: store.dossiers.count_documents({"outbox_pending": True}),
        lambda pending: pending == 0,
        what="every dossier event relayed",
    )
    on_day(monkeypatch, date(2019, 5, 1))
    with entrypoint_hook(container, "scheduled") as tick:
        tick()
    assert store.dossier(old) is None
    assert store.dossier(recent)["status"] == "closed"
    assert store.audit_log.count_documents({"action": "exit", "target": old}) == 1


# ---- unconfirmed proposals expire (config/policy/dossiers/2026-v2: proposal_expiry_days) ----------


def test_an_unconfirmed_proposal_expires_after_the_policy_days_and_frees_its_members(
    service, monkeypatch
):
    _, store, rpc = service
    body = household()
    stale = rpc.submit(CITY, body)["dossier_id"]
    received = today_shanghai()
    again = {**body, "intake_date": "2018-04-02"}

    on_day(monkeypatch, received + timedelta(days=29))
    with pytest.raises(ApiError) as held:
        rpc.submit(CITY, again)
    assert held.value.status == 409
    assert rpc.get_dossier(CITY, stale)["status"] == "proposed"

    on_day(monkeypatch, received + timedelta(days=30))
    fresh = rpc.submit(CITY, again)
    assert fresh["status"] == "proposed"
    expired = rpc.get_dossier(CITY, stale)
    assert (expired["status"], expired["closed_on"]) == (
        "expired",
        (received + timedelta(days=30)).isoformat(),
    )
    assert store.dossier(stale)["expired_under"] == "dossiers/2026-v2"
    assert store.member_claims.count_documents({"dossier_id": stale}) == 0


def test_confirming_an_expired_proposal_is_refused(service, monkeypatch):
    _, _, rpc = service
    proposal = rpc.submit(CITY, household())
    on_day(monkeypatch, today_shanghai() + timedelta(days=30))
    with pytest.raises(ApiError) as refused:
        rpc.confirm(CITY, proposal["dossier_id"], {"tier": proposal["proposed_tier"]})
    assert refused.value.status == 409 and "expired" in refused.value.message


def test_the_scheduler_expires_unconfirmed_proposals_once_across_replicas(
    service, run_service, replica_class, monkeypatch
):
    first, store, rpc = service
    second = run_service(replica_class)
    proposals = [rpc.submit(CITY, household())["dossier_id"] for _ in range(3)]
    confirmed, _ = open_dossier(rpc)
    received = today_shanghai()

    def tick_on(container):
        with entrypoint_hook(container, "scheduled") as tick:
            tick()

    on_day(monkeypatch, received + timedelta(days=29))
    tick_on(first)
    assert {store.dossier(d)["status"] for d in proposals} == {"proposed"}

    on_day(monkeypatch, received + timedelta(days=30))
    list(eventlet.GreenPool(4).imap(tick_on, [first, second, first, second]))
    for dossier_id in proposals:
        dossier = store.dossier(dossier_id)
        # One replica's compare-and-set expired it: one revision step, not four.
        assert (dossier["status"], dossier["revision"]) == ("expired", 2)
        assert store.member_claims.count_documents({"dossier_id": dossier_id}) == 0
    assert store.dossier(confirmed)["status"] == "open"
    assert store.member_claims.count_documents({"dossier_id": confirmed}) == 2


def test_a_claim_left_by_an_expired_proposal_is_freed_at_intake(service, monkeypatch):
    """A crash between marking a proposal expired and releasing its members leaves its claims:
    the next intake of the same member frees them instead of answering 409 forever."""
    _, store, rpc = service
    body = household()
    stale = rpc.submit(CITY, body)["dossier_id"]
    store.dossiers.update_one({"_id": stale}, {"$set": {"status": "expired"}})
    assert rpc.submit(CITY, {**body, "intake_date": "2018-04-02"})["status"] == "proposed"
    assert store.member_claims.count_documents({"dossier_id": stale}) == 0


# ---- a visit's re-evaluation is a proposal ---------------------------------------------------------


def changes_of(amqp_uri: str, queue_name: str, dossier_id: str) -> list[dict]:
    """The tier changes and exits of ``dossier_id`` on a queue bound earlier, once there is one."""
    found: list[dict] = []
    with Connection(amqp_uri) as connection:
        bound = Queue(queue_name, exchange=exchange_for("dossiers"), routing_key="#")(
            connection.default_channel
        )

        def take() -> list[dict]:
            while (message := bound.get(no_ack=True)) is not None:
                event = message.payload
                if event["payload"]["dossier_id"] == dossier_id and event["event_type"] in (
                    "dossier_tier_changed",
                    "dossier_exited",
                ):
                    found.append(event)
            return found

        wait_until(take, what=f"a tier change or exit of dossier {dossier_id}")
        bound.delete()
    return found


def test_a_visit_tier_change_is_applied_only_on_confirmation_with_the_same_event(service, amqp_uri):
    _, store, rpc = service
    dossier_id, body = open_dossier(rpc, household(causes=("illness",), months=0))
    queue_name = f"it-visit-events-{uuid.uuid4().hex[:8]}"
    with Connection(amqp_uri) as connection:
        Queue(queue_name, exchange=exchange_for("dossiers"), routing_key="#")(
            connection.default_channel
        ).declare()
    visit = rpc.record_visit(
        CITY,
        dossier_id,
        {
            "visit_date": "2019-10-12",
            "visitor": "李四",
            "findings": "收入增加",
            "members": [{"id_number": body["head_id_number"], "monthly_income": "2000.00"}],
        },
    )
    assert (visit["outcome"], visit["tier"], visit["awaiting_confirmation"]) == (
        "tier_changed",
        "local",
        True,
    )
    waiting = rpc.get_dossier(CITY, dossier_id)
    assert (waiting["tier"], waiting["pending_re_evaluation"]["tier"]) == ("national", "local")
    outbox = store.dossiers.find_one({"_id": dossier_id}).get("outbox") or {}
    assert {e["event_type"] for e in outbox.values()} <= {"dossier_established"}

    decided = rpc.confirm_visit(CITY, dossier_id, visit["visit_id"], {"accept": True})

    assert (decided["decision"], decided["tier"]) == ("accepted", "local")
    [event] = changes_of(amqp_uri, queue_name, dossier_id)
    assert event["event_type"] == "dossier_tier_changed"
    assert {k: event["payload"][k] for k in ("tier_from", "tier", "changed_on", "revision")} == {
        "tier_from": "national",
        "tier": "local",
        "changed_on": "2019-10-12",
        "revision": 4,
    }
    assert rpc.get_dossier(CITY, dossier_id)["pending_re_evaluation"] is None
