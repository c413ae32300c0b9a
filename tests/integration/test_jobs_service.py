"""The jobs service on the real broker and nx-27017: employers, vacancies and seekers with their
409s naming the record, matching from the in-memory index within a second of a write, hardship
from the dossiers events, the hire race for the last place, follow-ups, 12345 referrals and the
dossier-holder event."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter
from pymongo import MongoClient

from services.jobs.service import JobsService
from shared.auth import mint_partner_assertion
from shared.config import process_settings
from shared.crypto import PiiVault
from shared.errors import ApiError
from shared.events import make_event
from shared.identity import make_credit_code
from shared.runner import nameko_config
from tests.support.client import new_id_number
from tests.support.principals import staff
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

XL = staff("county_staff", "LY-XL", "xl-1")
SH = staff("county_staff", "LY-SH", "sh-1")
UNIT = staff("grassroots_staff", "LY-XL-0042", "unit-1")
ADMIN = staff("city_admin", "LY", "admin-1")
FUTURE = (date.today() + timedelta(days=365)).isoformat()


@pytest.fixture
def container(run_service):
    return run_service(JobsService)


@pytest.fixture
def service(container, settings):
    proxy = ClusterRpcProxy(nameko_config(settings), context_data={"correlation_id": "it-rpc"})
    with proxy as cluster:
        yield cluster.jobs


@pytest.fixture
def vault(settings):
    return PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)


@pytest.fixture
def db(settings):
    client = MongoClient(settings.mongo_uri)
    yield client[settings.database_name("jobs")]
    client.close()


@pytest.fixture
def jobs_events(amqp_uri):
    """A queue bound to every jobs event, read by the test."""
    name = f"it-jobs-events-{uuid.uuid4().hex[:8]}"
    with Connection(amqp_uri) as conn:
        queue = Queue(
            name,
            Exchange("jobs.events", type="topic", durable=True),
            routing_key="#",
            auto_delete=False,
            durable=False,
        )
        queue(conn.default_channel).declare()

        seen = []  # everything read so far: each call returns all of it, filtered

        def received(event_type=None):
            while True:
                message = queue(conn.default_channel).get(no_ack=True)
                if message is None:
                    break
                seen.append(message.payload)
            return [e for e in seen if event_type is None or e["event_type"] == event_type]

        yield received
        queue(conn.default_channel).delete()


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def credit_code() -> str:
    digits = f"{uuid.uuid4().int % 10**9:09d}"
    return make_credit_code("91350800" + digits)


def employer(service, principal=XL, county="LY-XL") -> str:
    body = {
        "credit_code": credit_code(),
        "name": "龙岩机械厂",
        "county": county,
        "industry": "制造",
    }
    return service.register_employer(principal, body)["employer_id"]


def vacancy_body(employer_id, **overrides) -> dict:
    skill = overrides.pop("skill", "焊接")
    return {
        "employer_id": employer_id,
        "title": "电焊工",
        "occupation": "电焊工",
        "headcount": 2,
        "salary_min": "3000.00",
        "salary_max": "4500.00",
        "education": "junior_high",
        "experience_years": 1,
        "county": "LY-XL",
        "skills": [skill, "识图"],
        "migrant_friendly": True,
        "valid_until": FUTURE,
        "fair_id": None,
        **overrides,
    }


def seeker_body(id_number=None, **overrides) -> dict:
    return {
        "id_number": id_number or new_id_number(),
        "name": "张三明",
        "phone": "13800000000",
        "skills": ["焊工", "識圖"],
        "desired_occupation": "焊工",
        "county": "LY-XL",
        "willing_to_relocate": False,
        "min_salary": "3000.00",
        "education": "senior_high",
        "experience_years": 2,
        "migrant_worker": False,
        "graduating_student": False,
        **overrides,
    }


def matches_of(service, seeker_id, principal=XL):
    return service.seeker_matches(principal, seeker_id, {"limit": "100"})


def dossier_event(vault, id_number, kind="dossier_established", revision=1, dossier_id=None):
    payload = {
        "dossier_id": dossier_id or f"d-{uuid.uuid4().hex[:12]}",
        "head_id_hash": vault.lookup_hash(id_number),
        "county": "LY-XL",
        "revision": revision,
    }
    if kind == "dossier_established":
        payload |= {"tier": "local", "org": "LY-XL", "established_on": "2018-01-05"}
    else:
        payload |= {"reason": "income_above_line", "exited_on": "2018-09-01"}
    return make_event(kind, payload, producer="dossiers", correlation_id="it-dossiers")


def deliver(container, publisher, event, handler):
    with entrypoint_waiter(container, handler):
        publisher.publish(event)


# ---- employers -------------------------------------------------------------------------------


def test_the_same_credit_code_twice_is_a_409_naming_the_employer(service):
    body = {"credit_code": credit_code(), "name": "甲", "county": "LY-XL", "industry": "制造"}
    first = service.register_employer(XL, body)["employer_id"]
    error = refusal(lambda: service.register_employer(XL, body))
    assert (error.status, error.code) == (409, "duplicate_employer")
    assert error.body()["error"]["employer_id"] == first
    # lower case is the same code
    error = refusal(
        lambda: service.register_employer(XL, {**body, "credit_code": body["credit_code"].lower()})
    )
    assert error.body()["error"]["employer_id"] == first


def test_a_credit_code_with_a_wrong_check_character_is_a_400(service):
    code = credit_code()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    error = refusal(
        lambda: service.register_employer(
            XL, {"credit_code": wrong, "name": "甲", "county": "LY-XL", "industry": "制造"}
        )
    )
    assert error.status == 400 and "credit_code" in error.fields


def test_an_employer_of_another_county_is_refused_and_unseen(service):
    error = refusal(lambda: employer(service, XL, county="LY-SH"))
    assert error.status == 403
    employer_id = employer(service, SH, county="LY-SH")
    assert refusal(lambda: service.get_employer(XL, employer_id)).status == 404
    # a grassroots unit's staff work in their county's market
    assert service.get_employer(UNIT, employer(service, XL))["county"] == "LY-XL"


# ---- seekers ---------------------------------------------------------------------------------


def test_seeker_stored_sealed_shown_masked_and_the_same_id_a_409_naming_the_seeker(
    service, db, vault
):
    id_number = new_id_number()
    seeker_id = service.register_seeker(XL, seeker_body(id_number))["seeker_id"]
    shown = service.get_seeker(XL, seeker_id)
    assert shown["id_number"] == id_number[:6] + "********" + id_number[-4:]
    assert shown["name"] == "张*明" and shown["phone"] == "138****0000"
    stored = db.seekers.find_one({"_id": seeker_id})
    assert id_number not in str(stored) and "张三明" not in str(stored)
    assert vault.decrypt(stored["id_enc"]) == id_number
    error = refusal(lambda: service.register_seeker(XL, seeker_body(id_number)))
    assert (error.status, error.code) == (409, "duplicate_seeker")
    assert error.body()["error"]["seeker_id"] == seeker_id


def test_hardship_is_never_a_request_field(service):
    error = refusal(lambda: service.register_seeker(XL, {**seeker_body(), "hardship": True}))
    assert error.status == 400 and "hardship" in error.fields


# ---- matching --------------------------------------------------------------------------------


def test_matches_both_ways_within_a_second_of_the_write_with_normalised_names(service):
    employer_id = employer(service)
    vacancy_id = service.post_vacancy(
        XL, vacancy_body(employer_id, skill=f"焊接{uuid.uuid4().hex[:4]}")
    )["vacancy_id"]
    seeker_id = service.register_seeker(XL, seeker_body())["seeker_id"]
    # 焊工 (the seeker's) and 电焊工 (the vacancy's) meet; 識圖 and 识图 too.
    found = wait_until(
        lambda: matches_of(service, seeker_id),
        lambda rows: vacancy_id in [r["id"] for r in rows],
        timeout=5,
        what="the vacancy among the seeker's matches",
    )
    row = next(r for r in found if r["id"] == vacancy_id)
    assert row["reasons"][:2] == ["skills 1/2", "occupation 电焊工"]
    back = service.vacancy_matches(XL, vacancy_id, {"limit": "100"})
    assert seeker_id in [r["id"] for r in back]
    assert [r["score"] for r in back] == sorted((r["score"] for r in back), reverse=True)


def test_an_expired_vacancy_and_an_incomplete_seeker_do_not_match(service):
    employer_id = employer(service)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    expired = service.post_vacancy(XL, vacancy_body(employer_id, valid_until=yesterday))[
        "vacancy_id"
    ]
    fresh = service.post_vacancy(XL, vacancy_body(employer_id))["vacancy_id"]
    seeker_id = service.register_seeker(XL, seeker_body())["seeker_id"]
    rows = wait_until(
        lambda: matches_of(service, seeker_id),
        lambda rows: fresh in [r["id"] for r in rows],
        timeout=5,
        what="the fresh vacancy",
    )
    assert expired not in [r["id"] for r in rows]


def test_hardship_priority_follows_the_dossier_and_goes_when_it_exits(
    service, container, publisher, vault
):
    employer_id = employer(service)
    vacancy_id = service.post_vacancy(XL, vacancy_body(employer_id))["vacancy_id"]
    id_number = new_id_number()
    seeker_id = service.register_seeker(XL, seeker_body(id_number))["seeker_id"]

    def reasons():
        rows = service.vacancy_matches(XL, vacancy_id, {"limit": "100"})
        return next((r["reasons"] for r in rows if r["id"] == seeker_id), None)

    wait_until(
        reasons, lambda r: r is not None and "hardship priority" not in r, timeout=5, what="listed"
    )
    opened = dossier_event(vault, id_number)
    deliver(container, publisher, opened, "on_dossier_established")
    wait_until(
        reasons, lambda r: r and "hardship priority" in r, timeout=5, what="the hardship boost"
    )
    exited = dossier_event(
        vault, id_number, "dossier_exited", revision=2, dossier_id=opened.payload["dossier_id"]
    )
    deliver(container, publisher, exited, "on_dossier_exited")
    wait_until(reasons, lambda r: r and "hardship priority" not in r, timeout=5, what="boost gone")


# ---- intents, hires, follow-ups --------------------------------------------------------------


def intent(service, seeker_id, vacancy_id, agreed_on="2018-06-01"):
    body = {
        "seeker_id": seeker_id,
        "vacancy_id": vacancy_id,
        "fair_id": None,
        "agreed_on": agreed_on,
    }
    return service.record_intent(XL, body)["intent_id"]


def test_two_hires_racing_for_the_last_place_exactly_one_wins(service, settings, db):
    employer_id = employer(service)
    vacancy_id = service.post_vacancy(XL, vacancy_body(employer_id, headcount=1))["vacancy_id"]
    intents = [
        intent(service, service.register_seeker(XL, seeker_body())["seeker_id"], vacancy_id)
        for _ in range(2)
    ]
    outcomes: list = [None, None]
    start = threading.Barrier(2)

    def hire(n):
        proxy = ClusterRpcProxy(
            nameko_config(settings), context_data={"correlation_id": f"race-{n}"}
        )
        with proxy as cluster:
            start.wait()
            try:
                outcomes[n] = cluster.jobs.hire(XL, intents[n], {"hired_on": "2018-06-10"})[
                    "status"
                ]
            except ApiError as error:
                outcomes[n] = (error.status, error.code)

    threads = [threading.Thread(target=hire, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes, key=str) == sorted(["hired", (409, "vacancy_filled")], key=str)
    shown = service.get_vacancy(XL, vacancy_id)
    assert (shown["open_headcount"], shown["status"]) == (0, "filled")
    assert len(db.vacancies.find_one({"_id": vacancy_id})["hires"]) == 1


def test_hire_lowers_the_headcount_and_the_last_closes_the_vacancy(service):
    employer_id = employer(service)
    vacancy_id = service.post_vacancy(XL, vacancy_body(employer_id, headcount=2))["vacancy_id"]
    seekers = [service.register_seeker(XL, seeker_body())["seeker_id"] for _ in range(3)]
    first, second, third = (intent(service, s, vacancy_id) for s in seekers)
    assert service.hire(XL, first, {"hired_on": "2018-06-10"})["status"] == "hired"
    assert service.hire(XL, first, {"hired_on": "2018-06-10"})["status"] == "hired"  # again: same
    assert service.get_vacancy(XL, vacancy_id)["open_headcount"] == 1
    service.hire(XL, second, {"hired_on": "2018-06-11"})
    assert service.get_vacancy(XL, vacancy_id)["status"] == "filled"
    error = refusal(lambda: service.hire(XL, third, {"hired_on": "2018-06-12"}))
    assert (error.status, error.code) == (409, "vacancy_filled")


def test_a_hire_dated_before_the_intent_was_agreed_is_a_422_and_takes_no_place(service):
    employer_id = employer(service)
    vacancy_id = service.post_vacancy(XL, vacancy_body(employer_id, headcount=1))["vacancy_id"]
    seeker_id = service.register_seeker(XL, seeker_body())["seeker_id"]
    intent_id = intent(service, seeker_id, vacancy_id, agreed_on="2018-06-01")
    error = refusal(lambda: service.hire(XL, intent_id, {"hired_on": "2018-05-31"}))
    assert (error.status, error.code) == (422, "rule_violation")
    assert "agreed_on (2018-06-01)" in error.fields["hired_on"][0]
    shown = service.get_vacancy(XL, vacancy_id)
    assert (shown["open_headcount"], shown["status"]) == (1, "open")
    # The day it was agreed is a valid hiring day.
    assert service.hire(XL, intent_id, {"hired_on": "2018-06-01"})["status"] == "hired"


def test_follow_ups_fall_due_and_are_recorded_once(service, jobs_events):
    employer_id = employer(service)
    vacancy_id = service.post_vacancy(XL, vacancy_body(employer_id))["vacancy_id"]
    seeker_id = service.register_seeker(XL, seeker_body())["seeker_id"]
    intent_id = intent(service, seeker_id, vacancy_id)
    service.hire(XL, intent_id, {"hired_on": "2018-06-10"})

    def tasks(before):
        rows = service.follow_ups(XL, {"county": "LY-XL", "due_before": before})["follow_ups"]
        return [(t["day"], t["due_on"]) for t in rows if t["intent_id"] == intent_id]

    assert tasks("2018-07-10") == []  # due on 10 July: not before it
    assert tasks("2018-07-11") == [(30, "2018-07-10")]
    assert tasks("2018-09-09") == [(30, "2018-07-10"), (90, "2018-09-08")]
    assert service.follow_ups(SH, {"county": "LY-XL"})["follow_ups"] == []  # not their county
    body = {"day": 30, "still_employed": True, "note": "在岗"}
    assert service.record_follow_up(XL, intent_id, body)["still_employed"] is True
    assert refusal(lambda: service.record_follow_up(XL, intent_id, body)).status == 409
    assert tasks("2018-09-09") == [(90, "2018-09-08")]
    # The 2018 follow-ups are long due: the service announces each once.
    due = wait_until(
        lambda: [e for e in jobs_events("follow_up_due") if e["payload"]["intent_id"] == intent_id],
        lambda found: len(found) == 2,
        timeout=10,
        what="two follow_up_due events",
    )
    assert sorted(e["payload"]["day"] for e in due) == [30, 90]


def test_a_hired_dossier_holder_is_told_to_dossiers_and_events_carry_no_clear_pii(
    service, container, publisher, vault, jobs_events
):
    id_number = new_id_number()
    seeker_id = service.register_seeker(XL, seeker_body(id_number))["seeker_id"]
    opened = dossier_event(vault, id_number)
    deliver(container, publisher, opened, "on_dossier_established")
    employer_id = employer(service)
    vacancy_id = service.post_vacancy(XL, vacancy_body(employer_id))["vacancy_id"]
    intent_id = intent(service, seeker_id, vacancy_id)
    service.hire(XL, intent_id, {"hired_on": "2018-06-10"})
    hired = wait_until(
        lambda: [e for e in jobs_events() if e["payload"].get("intent_id") == intent_id],
        lambda found: (
            {"dossier_holder_hired", "seeker_hired", "intent_recorded"}
            <= {e["event_type"] for e in found}
        ),
        timeout=10,
        what="the hire's events",
    )
    holder = next(e for e in hired if e["event_type"] == "dossier_holder_hired")["payload"]
    assert holder == {
        "intent_id": intent_id,
        "dossier_id": opened.payload["dossier_id"],
        "head_id_hash": vault.lookup_hash(id_number),
        "hired_on": "2018-06-10",
        "county": "LY-XL",
    }
    assert id_number not in str(hired) and "13800000000" not in str(hired)


def test_seeker_registered_carries_the_sealed_mobile(service, vault, jobs_events):
    seeker_id = service.register_seeker(XL, seeker_body())["seeker_id"]
    found = wait_until(
        lambda: [
            e for e in jobs_events("seeker_registered") if e["payload"]["seeker_id"] == seeker_id
        ],
        timeout=10,
        what="seeker_registered",
    )
    assert vault.decrypt(found[0]["payload"]["mobile_encrypted"]) == "13800000000"


# ---- 12345 referrals -------------------------------------------------------------------------


def platform() -> str:
    return mint_partner_assertion(
        {"code": "P0001", "kind": "city_platform", "level": None}, process_settings()
    )


def referral(id_number=None, **overrides) -> dict:
    return {
        "case_no": f"12345-2018-{uuid.uuid4().int % 10**6:06d}{uuid.uuid4().hex[:4]}",
        "kind": "job_seeking",
        "county": "LY-XL",
        "citizen": {
            "id_number": id_number or new_id_number(),
            "name": "李四",
            "phone": "13900000000",
        },
        "summary": "下岗后求职,会开叉车",
        **overrides,
    }


def test_a_job_seeking_referral_is_an_incomplete_seeker_staff_complete(service):
    sent = referral()
    taken = service.take_referral(platform(), sent)
    assert taken["created"] is True
    again = service.take_referral(platform(), sent)
    assert again == {"referral_id": taken["referral_id"], "created": False}
    listed = service.list_seekers(XL, {"status": "incomplete", "county": "LY-XL"})["seekers"]
    mine = [s for s in listed if s["referral_id"] == taken["referral_id"]]
    assert len(mine) == 1 and mine[0]["summary"] == sent["summary"]
    seeker_id = mine[0]["seeker_id"]
    assert refusal(lambda: matches_of(service, seeker_id)).code == "seeker_incomplete"
    profile = {k: v for k, v in seeker_body().items() if k not in ("id_number", "name", "county")}
    completed = service.complete_seeker(XL, seeker_id, profile)
    assert completed["status"] == "active"
    assert refusal(lambda: service.complete_seeker(XL, seeker_id, profile)).status == 409
    assert matches_of(service, seeker_id) is not None


def test_a_referral_needs_the_gateways_assertion(service):
    assert refusal(lambda: service.take_referral("forged", referral())).status == 401
    staff_token = XL
    assert refusal(lambda: service.take_referral(staff_token, referral())).status == 401


# ---- figures ---------------------------------------------------------------------------------


def test_figures_count_fairs_positions_intents_hires_and_retention_by_county_and_kind(service):
    fair_id = service.open_fair(
        XL, {"kind": "migrant_special", "name": "春风行动", "date": "2017-02-10", "county": "LY-XL"}
    )["fair_id"]
    employer_id = employer(service)
    service.register_at_fair(XL, fair_id, {"employer_id": employer_id})
    vacancy_id = service.post_vacancy(XL, vacancy_body(employer_id, headcount=3, fair_id=fair_id))[
        "vacancy_id"
    ]
    seeker_id = service.register_seeker(XL, seeker_body())["seeker_id"]
    service.register_at_fair(XL, fair_id, {"seeker_id": seeker_id})
    body = {
        "seeker_id": seeker_id,
        "vacancy_id": vacancy_id,
        "fair_id": fair_id,
        "agreed_on": "2017-02-10",
    }
    intent_id = service.record_intent(XL, body)["intent_id"]
    service.hire(XL, intent_id, {"hired_on": "2017-02-15"})
    service.record_follow_up(XL, intent_id, {"day": 90, "still_employed": True, "note": ""})
    stats = service.stats(ADMIN, {"from": "2017-02-01", "to": "2017-02-28"})
    kind = stats["by_fair_kind"]["migrant_special"]
    assert kind["fairs"]["migrant_special"] >= 1
    assert kind["positions"] >= 3 and kind["intents"] >= 1 and kind["hires"] >= 1
    assert kind["retained_90_days"] >= 1 and kind["seekers_served"] >= 1
    assert stats["by_county"]["LY-XL"]["hires"] >= 1
    sh = service.stats(
        staff("county_staff", "LY-SH", "sh-2"), {"from": "2017-02-01", "to": "2017-02-28"}
    )
    assert sh["hires"] == 0 and "LY-XL" not in sh["by_county"]


def test_two_replicas_each_answer_from_an_index_that_follows_the_store(run_service, service):
    """A second process of jobs (its own index, built from the store on start): calls alternate
    between the two, and both come to list a vacancy posted through either."""
    run_service(JobsService)
    employer_id = employer(service)
    seeker_id = service.register_seeker(XL, seeker_body())["seeker_id"]
    vacancy_id = service.post_vacancy(XL, vacancy_body(employer_id))["vacancy_id"]

    def six_answers_in_a_row():
        return [vacancy_id in [r["id"] for r in matches_of(service, seeker_id)] for _ in range(6)]

    wait_until(six_answers_in_a_row, all, timeout=10, what="both replicas listing the vacancy")
    # Filled through one replica: both drop it.
    seekers = [service.register_seeker(XL, seeker_body())["seeker_id"] for _ in range(2)]
    for other in seekers:
        service.hire(XL, intent(service, other, vacancy_id), {"hired_on": "2018-06-10"})
    wait_until(
        six_answers_in_a_row,
        lambda seen: not any(seen),
        timeout=10,
        what="both replicas dropping the filled vacancy",
    )
