"""The employment supermarket over HTTP, as API.md says: a 12345 job-seeking referral → the
seeker completed by staff → matches both ways → intent → hire → follow-up → figures; a hardship
referral routed to dossiers; the 409s naming the record."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from shared.identity import make_credit_code
from tests.support.client import new_id_number
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

XL = {"role": "county_staff", "org": "LY-XL", "sub": "xl-jobs"}
REFERRALS = "/api/v1/city/referrals"
VALID_UNTIL = (date.today() + timedelta(days=365)).isoformat()


@pytest.fixture(scope="module")
def hotline(gateway):
    """The city platform's 12345 hotline, registered as a partner: its code and secret."""
    response = gateway.staff(
        "POST",
        "/api/v1/partners",
        {"code": "HOTLINE12345", "kind": "city_platform", "name": "12345"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def refer(gateway, hotline, body):
    return gateway.signed(
        REFERRALS, body, hotline["secret"], headers={"X-Partner-Code": hotline["code"]}
    )


def referral(kind="job_seeking", **overrides) -> dict:
    return {
        "case_no": f"12345-2018-{uuid.uuid4().hex[:8]}",
        "kind": kind,
        "county": "LY-XL",
        "citizen": {"id_number": new_id_number(), "name": "王五", "phone": "13700000000"},
        "summary": "失业，会电焊，希望在新罗区就业",
        **overrides,
    }


def credit_code() -> str:
    return make_credit_code("91350800" + f"{uuid.uuid4().int % 10**9:09d}")


def test_referral_to_seeker_to_hire_to_follow_up_to_figures(gateway, hotline):
    sent = referral()
    taken = refer(gateway, hotline, sent)
    assert taken.status_code == 202, taken.text
    assert taken.json()["routed_to"] == "jobs"
    again = refer(gateway, hotline, {**sent, "summary": "再次转办"})
    assert again.status_code == 202 and again.json() == taken.json()

    listed = gateway.staff("GET", "/api/v1/jobs/seekers?status=incomplete&county=LY-XL", **XL)
    assert listed.status_code == 200, listed.text
    mine = [s for s in listed.json()["seekers"] if s["referral_id"] == taken.json()["referral_id"]]
    assert len(mine) == 1
    seeker_id = mine[0]["seeker_id"]
    assert (
        mine[0]["id_number"]
        == sent["citizen"]["id_number"][:6] + "********" + sent["citizen"]["id_number"][-4:]
    )

    completed = gateway.staff(
        "PATCH",
        f"/api/v1/jobs/seekers/{seeker_id}",
        {
            "skills": ["電焊", "识图"],
            "desired_occupation": "焊工",
            "willing_to_relocate": False,
            "min_salary": "3500.00",
            "education": "junior_high",
            "experience_years": 3,
            "migrant_worker": True,
            "graduating_student": False,
        },
        **XL,
    )
    assert completed.status_code == 200 and completed.json()["status"] == "active", completed.text

    employer = gateway.staff(
        "POST",
        "/api/v1/jobs/employers",
        {"credit_code": credit_code(), "name": "紫金矿业", "county": "LY-XL", "industry": "采矿"},
        **XL,
    )
    assert employer.status_code == 201, employer.text
    employer_id = employer.json()["employer_id"]
    fair = gateway.staff(
        "POST",
        "/api/v1/jobs/fairs",
        {"kind": "monthly", "name": "新罗区月度招聘会", "date": "2018-03-15", "county": "LY-XL"},
        **XL,
    )
    assert fair.status_code == 201, fair.text
    fair_id = fair.json()["fair_id"]
    for party in ({"employer_id": employer_id}, {"seeker_id": seeker_id}):
        registered = gateway.staff(
            "POST", f"/api/v1/jobs/fairs/{fair_id}/registrations", party, **XL
        )
        assert registered.status_code == 201, registered.text

    vacancy = gateway.staff(
        "POST",
        "/api/v1/jobs/vacancies",
        {
            "employer_id": employer_id,
            "title": "电焊工",
            "occupation": "电焊工",
            "headcount": 1,
            "salary_min": "3000.00",
            "salary_max": "4500.00",
            "education": "junior_high",
            "experience_years": 1,
            "county": "LY-XL",
            "skills": ["电焊", "识图"],
            "migrant_friendly": True,
            "valid_until": VALID_UNTIL,
            "fair_id": fair_id,
        },
        **XL,
    )
    assert vacancy.status_code == 201, vacancy.text
    assert vacancy.json()["status"] == "open" and vacancy.json()["open_headcount"] == 1
    vacancy_id = vacancy.json()["vacancy_id"]

    def seeker_matches():
        response = gateway.staff("GET", f"/api/v1/jobs/seekers/{seeker_id}/matches?limit=20", **XL)
        assert response.status_code == 200, response.text
        return response.json()

    found = wait_until(
        seeker_matches,
        lambda rows: vacancy_id in [r["id"] for r in rows],
        timeout=10,
        what="the vacancy among the seeker's matches",
    )
    row = next(r for r in found if r["id"] == vacancy_id)
    assert row["reasons"] == [
        "skills 2/2",
        "occupation 电焊工",
        "experience 3/1 years",
        "migrant worker priority",
    ]
    back = gateway.staff("GET", f"/api/v1/jobs/vacancies/{vacancy_id}/matches?limit=20", **XL)
    assert back.status_code == 200 and seeker_id in [r["id"] for r in back.json()]

    intent = gateway.staff(
        "POST",
        "/api/v1/jobs/intents",
        {
            "seeker_id": seeker_id,
            "vacancy_id": vacancy_id,
            "fair_id": fair_id,
            "agreed_on": "2018-03-15",
        },
        **XL,
    )
    assert intent.status_code == 201 and intent.json()["status"] == "intent", intent.text
    intent_id = intent.json()["intent_id"]
    hired = gateway.staff(
        "POST", f"/api/v1/jobs/intents/{intent_id}/hire", {"hired_on": "2018-03-20"}, **XL
    )
    assert hired.status_code == 200 and hired.json()["status"] == "hired", hired.text
    shown = gateway.staff("GET", f"/api/v1/jobs/vacancies/{vacancy_id}", **XL).json()
    assert (shown["open_headcount"], shown["status"]) == (0, "filled")

    due = gateway.staff("GET", "/api/v1/jobs/follow-ups?county=LY-XL&due_before=2018-06-30", **XL)
    assert due.status_code == 200, due.text
    days = sorted(t["day"] for t in due.json()["follow_ups"] if t["intent_id"] == intent_id)
    assert days == [30, 90]
    for day in (30, 90):
        recorded = gateway.staff(
            "POST",
            f"/api/v1/jobs/intents/{intent_id}/follow-ups",
            {"day": day, "still_employed": True, "note": "在岗"},
            **XL,
        )
        assert recorded.status_code == 201, recorded.text

    stats = gateway.staff("GET", "/api/v1/jobs/stats?from=2018-03-01&to=2018-03-31", **XL)
    assert stats.status_code == 200, stats.text
    monthly = stats.json()["by_fair_kind"]["monthly"]
    assert monthly["fairs"]["monthly"] >= 1
    assert monthly["positions"] >= 1 and monthly["employers"] >= 1
    assert monthly["intents"] >= 1 and monthly["hires"] >= 1 and monthly["retained_90_days"] >= 1
    assert stats.json()["by_county"]["LY-XL"]["hires"] >= 1


def test_a_hardship_referral_goes_to_the_countys_intake_queue_once(gateway, hotline):
    sent = referral("hardship")
    taken = refer(gateway, hotline, sent)
    assert taken.status_code == 202, taken.text
    assert taken.json()["routed_to"] == "dossiers"
    assert refer(gateway, hotline, sent).json() == taken.json()


def test_a_referral_unsigned_or_malformed_is_refused(gateway, hotline):
    unsigned = gateway.http.post(gateway.base_url + REFERRALS, json=referral(), timeout=15)
    assert unsigned.status_code == 401
    bad = refer(gateway, hotline, referral(county="LY-ZZ"))
    assert bad.status_code == 400 and "county" in bad.json()["error"]["fields"]


def test_the_same_credit_code_or_id_number_is_a_409_naming_the_record(gateway):
    body = {"credit_code": credit_code(), "name": "甲", "county": "LY-XL", "industry": "制造"}
    first = gateway.staff("POST", "/api/v1/jobs/employers", body, **XL)
    again = gateway.staff("POST", "/api/v1/jobs/employers", body, **XL)
    assert again.status_code == 409
    assert again.json()["error"]["employer_id"] == first.json()["employer_id"]
    bad = gateway.staff(
        "POST", "/api/v1/jobs/employers", {**body, "credit_code": "91350800MA2XXXXXXX"}, **XL
    )
    assert bad.status_code == 400 and "credit_code" in bad.json()["error"]["fields"]
    seeker = {
        "id_number": new_id_number(),
        "name": "赵六",
        "phone": None,
        "skills": [],
        "desired_occupation": "普工",
        "county": "LY-XL",
        "willing_to_relocate": False,
        "min_salary": "2000.00",
        "education": "none",
        "experience_years": 0,
        "migrant_worker": False,
        "graduating_student": False,
    }
    first = gateway.staff("POST", "/api/v1/jobs/seekers", seeker, **XL)
    assert first.status_code == 201, first.text
    again = gateway.staff("POST", "/api/v1/jobs/seekers", seeker, **XL)
    assert again.status_code == 409
    assert again.json()["error"]["seeker_id"] == first.json()["seeker_id"]
