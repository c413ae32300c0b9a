"""12345 hardship referrals and hires on the real broker and nx-27017: the city platform's
referral becomes one intake request per case number (twice, or at once from two replicas),
listed in the county's scope and closed into a dossier; jobs.dossier_holder_hired becomes one
re-evaluation task for an unemployed head, and is ignored with its reason otherwise.

Each test runs the service under a name of its own (its own database and queues), as
tests/integration/test_dossiers_service.py does."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from services.dossiers.service import DossiersService
from shared.auth import mint_partner_assertion
from shared.config import process_settings
from shared.errors import ApiError
from shared.events import make_event, today_shanghai
from shared.providers import Store
from shared.runner import nameko_config
from tests.integration.test_dossiers_service import household, new_id_number, open_dossier
from tests.support.principals import hospital, staff

pytestmark = pytest.mark.integration

CITY = staff("city_admin", "LY", "it-admin")
XL = staff("county_staff", "LY-XL", "it-xl")
YD = staff("county_staff", "LY-YD", "it-yd")
XL_UNIT = staff("grassroots_staff", "LY-XL-0042", "it-xl-0042")


def platform(code: str = "P0001") -> str:
    """What the gateway forwards for the city platform whose signature it verified."""
    return mint_partner_assertion(
        {"code": code, "kind": "city_platform", "level": None}, process_settings()
    )


def referral(county="LY-XL", id_number=None, **changes) -> dict:
    return {
        "case_no": f"12345-2018-{uuid.uuid4().int % 10**8:08d}",
        "kind": "hardship",
        "county": county,
        "citizen": {
            "id_number": id_number or new_id_number(),
            "name": "张三",
            "phone": "13800001234",
        },
        "summary": "下岗后家庭困难，请工会帮扶",
        **changes,
    }


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


def refused(call, *args, **kwargs) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value


# ---- the referral RPC -----------------------------------------------------------------------------


def test_the_same_case_number_twice_is_one_intake_request_stored_sealed_and_audited_once(
    service,
):
    _, store, rpc = service
    body = referral()
    first = rpc.take_referral(platform(), body)
    again = rpc.take_referral(platform(), {**body, "summary": "再次转办"})

    assert first["created"] is True
    assert again == {"referral_id": first["referral_id"], "created": False}
    docs = list(store.intake_requests.find({"case_no": body["case_no"]}))
    assert len(docs) == 1
    stored = docs[0]
    assert stored["summary"] == body["summary"]  # no second effect
    assert stored["status"] == "open"
    citizen = stored["citizen"]
    id_number, phone = body["citizen"]["id_number"], body["citizen"]["phone"]
    assert id_number not in repr(stored) and phone not in repr(stored)
    assert store.vault.decrypt(citizen["id_enc"]) == id_number
    assert store.vault.decrypt(citizen["phone_enc"]) == phone
    assert citizen["id_hash"] == store.vault.lookup_hash(id_number)
    entries = list(store.audit_log.find({"action": "take_referral"}))
    assert [(e["target"], e["actor"], e["role"], e["org"]) for e in entries] == [
        (first["referral_id"], "P0001", "city_platform", "LY-XL")
    ]


def test_concurrent_referrals_of_one_case_on_two_replicas_make_one_request(
    service, run_service, replica_class
):
    _, store, rpc = service
    run_service(replica_class)  # a second replica consumes the same RPC queue
    body = referral()
    replies = [rpc.take_referral.call_async(platform(), body) for _ in range(8)]
    answers = [reply.result() for reply in replies]

    assert len({a["referral_id"] for a in answers}) == 1
    assert sorted(a["created"] for a in answers) == [False] * 7 + [True]
    assert store.intake_requests.count_documents({"case_no": body["case_no"]}) == 1
    assert store.audit_log.count_documents({"action": "take_referral"}) == 1


@pytest.mark.parametrize(
    ("credential", "status"),
    [
        (lambda: hospital(), 401),  # a partner, but not a city platform
        (lambda: staff("city_admin"), 401),  # a staff token is not the gateway's assertion
        # Claims are not a token: the typed RPC refuses them before any work.
        (lambda: {"sub": "P0001", "kind": "city_platform"}, 400),
    ],
)
def test_only_a_city_platform_vouched_for_by_the_gateway_files_a_referral(
    service, credential, status
):
    _, store, rpc = service
    body = referral()
    assert refused(rpc.take_referral, credential(), body).status == status
    assert store.intake_requests.count_documents({}) == 0


def test_a_bad_or_job_seeking_referral_is_refused_naming_the_field(service):
    _, store, rpc = service
    bad_county = refused(rpc.take_referral, platform(), referral(county="LY-ZZ"))
    assert (bad_county.status, list(bad_county.fields)) == (400, ["county"])
    bad_id = referral()
    bad_id["citizen"]["id_number"] = "350802198005171230"[:-1] + "Y"
    assert refused(rpc.take_referral, platform(), bad_id).status == 400
    jobs = refused(rpc.take_referral, platform(), referral(kind="job_seeking"))
    assert (jobs.status, list(jobs.fields or {})) == (422, ["kind"])
    assert store.intake_requests.count_documents({}) == 0


# ---- staff: the county's queue ---------------------------------------------------------------


def test_county_staff_list_their_countys_requests_masked_and_no_other(service):
    _, _, rpc = service
    in_xl = rpc.take_referral(platform(), referral("LY-XL"))["referral_id"]
    in_yd = rpc.take_referral(platform(), referral("LY-YD"))["referral_id"]

    listed = rpc.list_intake_requests(XL)["intake_requests"]
    assert [r["referral_id"] for r in listed] == [in_xl]
    citizen = listed[0]["citizen"]
    assert "********" in citizen["id_number"] and citizen["phone"] == "138****1234"
    assert [r["referral_id"] for r in rpc.list_intake_requests(YD, county="LY-YD")[
        "intake_requests"
    ]] == [in_yd]  # fmt: skip
    city = rpc.list_intake_requests(CITY)["intake_requests"]
    assert {r["referral_id"] for r in city} == {in_xl, in_yd}
    assert [r["referral_id"] for r in rpc.list_intake_requests(CITY, county="LY-YD")[
        "intake_requests"
    ]] == [in_yd]  # fmt: skip

    # Another county by name is refused, as for the dossier list; grassroots staff do not
    # work the county's queue.
    assert refused(rpc.list_intake_requests, XL, county="LY-YD").status == 403
    assert refused(rpc.list_intake_requests, XL_UNIT).status == 403
    assert refused(rpc.list_intake_requests, XL, county={"$ne": None}).status == 400


def test_staff_close_a_request_into_the_dossier_holding_the_citizen_once(service):
    _, store, rpc = service
    body = household("LY-XL")
    dossier_id, _ = open_dossier(rpc, body)
    other_id, _ = open_dossier(rpc, household("LY-XL"))
    request_id = rpc.take_referral(platform(), referral("LY-XL", body["head_id_number"]))[
        "referral_id"
    ]

    outside = refused(rpc.close_intake_request, YD, request_id, {"note": "not ours"})
    assert outside.status == 404  # existence does not leak to another county
    wrong = refused(rpc.close_intake_request, XL, request_id, {"dossier_id": other_id})
    assert (wrong.status, list(wrong.fields)) == (422, ["dossier_id"])
    assert refused(rpc.close_intake_request, XL, request_id, {}).status == 400

    closed = rpc.close_intake_request(XL, request_id, {"dossier_id": dossier_id})
    assert (closed["status"], closed["dossier_id"], closed["closed_by"]) == (
        "closed",
        dossier_id,
        "it-xl",
    )
    assert refused(rpc.close_intake_request, XL, request_id, {"note": "again"}).status == 409
    assert rpc.list_intake_requests(XL, status="open")["intake_requests"] == []
    assert [r["referral_id"] for r in rpc.list_intake_requests(XL, status="closed")[
        "intake_requests"
    ]] == [request_id]  # fmt: skip
    audited = list(store.audit_log.find({"action": "close_intake_request"}))
    assert [(e["target"], e["actor"], e["detail"]["dossier_id"]) for e in audited] == [
        (request_id, "it-xl", dossier_id)
    ]


def test_a_request_is_closed_with_a_note_when_no_household_is_taken_in(service):
    _, _, rpc = service
    request_id = rpc.take_referral(platform(), referral("LY-YD"))["referral_id"]
    closed = rpc.close_intake_request(YD, request_id, {"note": "已转民政部门"})
    assert (closed["status"], closed["note"], closed["dossier_id"]) == (
        "closed",
        "已转民政部门",
        None,
    )


# ---- jobs.dossier_holder_hired --------------------------------------------------------------------


def hired(store, dossier_id: str, head_id_number: str, **changes):
    payload = {
        "intent_id": f"intent-{uuid.uuid4().hex[:8]}",
        "dossier_id": dossier_id,
        "head_id_hash": store.vault.lookup_hash(head_id_number),
        "hired_on": today_shanghai().isoformat(),
        "county": "LY-XL",
        **changes,
    }
    return make_event("dossier_holder_hired", payload, producer="jobs", correlation_id="it")


def deliver(container, publisher, *events) -> None:
    """Publish ``events`` and wait until the handler has run once per publication."""
    expected = len(events)
    runs = []

    def all_handled(worker_ctx, result, exc_info):
        runs.append(exc_info)
        return len(runs) == expected

    with entrypoint_waiter(container, "on_dossier_holder_hired", callback=all_handled):
        for event in events:
            publisher.publish(event)
    assert runs == [None] * expected


def test_an_unemployed_heads_hire_delivered_twice_is_one_task_a_visit_answers(service, publisher):
    container, store, rpc = service
    dossier_id, body = open_dossier(rpc, household(causes=("unemployment",)))
    event = hired(store, dossier_id, body["head_id_number"])

    deliver(container, publisher, event, event)  # a redelivery

    tasks = rpc.list_reevaluation_tasks(XL)["tasks"]
    assert [(t["dossier_id"], t["status"], t["reason"]) for t in tasks] == [
        (dossier_id, "pending", "hired")
    ]
    assert store.reevaluation_tasks.count_documents({}) == 1
    assert store.hire_signal(event.event_id)["outcome"] == "re_evaluation"
    assert rpc.list_reevaluation_tasks(YD)["tasks"] == []  # another county's staff
    assert refused(rpc.list_reevaluation_tasks, XL, county="LY-YD").status == 403

    visit = rpc.record_visit(
        XL,
        dossier_id,
        {
            "visit_date": today_shanghai().isoformat(),
            "visitor": "李四",
            "findings": "户主已就业",
            "members": [{"id_number": body["head_id_number"], "monthly_income": "4000.00"}],
        },
    )
    # The visit's re-evaluation is the proposal staff confirm, as for any visit.
    assert (visit["outcome"], visit["awaiting_confirmation"]) == ("exit", True)
    answered = rpc.list_reevaluation_tasks(XL)["tasks"]
    assert [(t["status"], t["visit_id"]) for t in answered] == [("visited", visit["visit_id"])]
    assert rpc.list_reevaluation_tasks(XL, status="pending")["tasks"] == []


def test_a_hire_without_an_unemployment_cause_or_dossier_or_in_the_future_is_ignored(
    service, publisher
):
    container, store, rpc = service
    ill_id, ill = open_dossier(rpc, household(causes=("illness",)))
    unemployed_id, unemployed = open_dossier(rpc, household(causes=("unemployment",)))
    proposed = rpc.submit(CITY, household(causes=("unemployment",)))
    not_ill = hired(store, ill_id, ill["head_id_number"])
    unknown = hired(store, uuid.uuid4().hex, new_id_number())
    future = hired(
        store,
        unemployed_id,
        unemployed["head_id_number"],
        hired_on=(today_shanghai() + timedelta(days=1)).isoformat(),
    )
    stranger = hired(store, unemployed_id, new_id_number())
    not_open = hired(store, proposed["dossier_id"], new_id_number())

    deliver(container, publisher, not_ill, unknown, future, stranger, not_open)

    assert store.reevaluation_tasks.count_documents({}) == 0
    reasons = {
        e.event_id: (store.hire_signal(e.event_id)["outcome"], store.hire_signal(e.event_id)["reason"])
        for e in (not_ill, unknown, future, stranger, not_open)
    }  # fmt: skip
    assert reasons == {
        not_ill.event_id: ("ignored", "cause_not_unemployment"),
        unknown.event_id: ("ignored", "dossier_not_found"),
        future.event_id: ("ignored", "hired_in_future"),
        stranger.event_id: ("ignored", "head_mismatch"),
        not_open.event_id: ("ignored", "dossier_not_open"),
    }
    # Nothing was parked: an ignored hire is handled, not failed.
    assert store.dossiers.database["dead_letters"].count_documents({}) == 0


def test_two_events_of_one_hire_make_one_task(service, publisher):
    container, store, rpc = service
    dossier_id, body = open_dossier(rpc, household(causes=("unemployment", "illness")))
    first = hired(store, dossier_id, body["head_id_number"], hired_on=str(date(2018, 5, 2)))
    second = hired(
        store,
        dossier_id,
        body["head_id_number"],
        intent_id=first.payload["intent_id"],
        hired_on=str(date(2018, 5, 2)),
    )
    deliver(container, publisher, first, second)
    assert store.reevaluation_tasks.count_documents({"dossier_id": dossier_id}) == 1
    assert store.hire_signal(first.event_id)["outcome"] == "re_evaluation"
    assert store.hire_signal(second.event_id)["outcome"] == "re_evaluation"
