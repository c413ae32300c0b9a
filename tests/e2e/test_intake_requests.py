"""The dossiers' queues over HTTP. A 12345 hardship referral signed by the city platform lands
once in the county's intake-request queue (the same case number twice is the same referral);
county staff see their own county's requests masked and close one into the household they took
in. A dossier head whose cause is unemployment, hired through the jobs service, becomes a
re-evaluation task in the county's list. Both lists keep to the caller's county and role."""

from __future__ import annotations

import uuid

import pytest

from shared.identity import make_credit_code
from tests.e2e.test_dossiers import household, open_dossier
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

REFERRALS = "/api/v1/city/referrals"
INTAKE_REQUESTS = "/api/v1/dossiers/intake-requests"
TASKS = "/api/v1/dossiers/re-evaluation-tasks"
XL = {"role": "county_staff", "org": "LY-XL"}
YD = {"role": "county_staff", "org": "LY-YD"}


@pytest.fixture(scope="module")
def hotline(gateway):
    """The 12345 hotline platform, registered as a city platform: its code and secret."""
    response = gateway.staff(
        "POST", "/api/v1/partners", {"code": "HOTLINE", "kind": "city_platform", "name": "12345"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def refer(gateway, platform, body):
    return gateway.signed(
        REFERRALS, body, platform["secret"], headers={"X-Partner-Code": platform["code"]}
    )


def referral(id_number: str, county: str = "LY-XL") -> dict:
    return {
        "case_no": f"12345-2018-{uuid.uuid4().int % 10**8:08d}",
        "kind": "hardship",
        "county": county,
        "citizen": {"id_number": id_number, "name": "陈大明", "phone": "13800001234"},
        "summary": "下岗后家庭困难，请工会帮扶",
    }


def listed(gateway, path, key, **who) -> list[dict]:
    response = gateway.staff("GET", path, **who)
    assert response.status_code == 200, response.text
    return response.json()[key]


def test_a_hardship_referral_is_one_request_in_its_countys_queue_closed_into_the_dossier(
    gateway, hotline
):
    body = household(county="LY-XL")
    dossier_id = open_dossier(gateway, body)
    sent = referral(body["head_id_number"])

    first = refer(gateway, hotline, sent)
    assert first.status_code == 202, first.text
    assert first.json()["routed_to"] == "dossiers"
    referral_id = first.json()["referral_id"]
    again = refer(gateway, hotline, sent)  # the platform forwards the case again
    assert again.status_code == 202, again.text
    assert again.json() == {"referral_id": referral_id, "routed_to": "dossiers"}

    mine = [r for r in listed(gateway, INTAKE_REQUESTS, "intake_requests", **XL)
            if r["case_no"] == sent["case_no"]]  # fmt: skip
    assert [r["referral_id"] for r in mine] == [referral_id]
    assert body["head_id_number"] not in str(mine) and "13800001234" not in str(mine)
    assert mine[0]["citizen"]["phone"] == "138****1234"
    assert referral_id not in str(listed(gateway, INTAKE_REQUESTS, "intake_requests", **YD))
    other_county = gateway.staff("GET", f"{INTAKE_REQUESTS}?county=LY-YD", **XL)
    assert other_county.status_code == 403, other_county.text

    close = f"{INTAKE_REQUESTS}/{referral_id}/close"
    assert gateway.staff("POST", close, {"note": "x"}, **YD).status_code == 404
    closed = gateway.staff("POST", close, {"dossier_id": dossier_id}, **XL)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["dossier_id"]) == ("closed", dossier_id)
    assert gateway.staff("POST", close, {"note": "again"}, **XL).status_code == 409

    audit = gateway.staff("GET", f"/api/v1/audit-log?target={referral_id}", role="auditor")
    assert audit.status_code == 200, audit.text
    actions = sorted(e["action"] for e in audit.json()["entries"])
    assert actions == ["close_intake_request", "take_referral"]


# jobs writes seeker_hired and dossier_holder_hired on the intent in that order, and its relay
# stops at the first event it cannot route: notifications reads jobs.intent_recorded and
# jobs.seeker_hired, so dossier_holder_hired follows them out.
def test_an_unemployed_dossier_heads_hire_is_a_re_evaluation_task_for_the_county(gateway):
    body = household(county="LY-XL", causes=("unemployment",))
    dossier_id = open_dossier(gateway, body)
    seeker = gateway.staff(
        "POST",
        "/api/v1/jobs/seekers",
        {
            "id_number": body["head_id_number"],
            "name": "陈大明",
            "phone": None,
            "skills": ["电焊"],
            "desired_occupation": "电焊工",
            "county": "LY-XL",
            "willing_to_relocate": False,
            "min_salary": "3000.00",
            "education": "junior_high",
            "experience_years": 3,
            "migrant_worker": False,
            "graduating_student": False,
        },
        **XL,
    )
    assert seeker.status_code == 201, seeker.text
    seeker_id = seeker.json()["seeker_id"]
    employer = gateway.staff(
        "POST",
        "/api/v1/jobs/employers",
        {
            "credit_code": make_credit_code("91350800" + f"{uuid.uuid4().int % 10**9:09d}"),
            "name": "龙岩某机械厂",
            "county": "LY-XL",
            "industry": "制造",
        },
        **XL,
    )
    assert employer.status_code == 201, employer.text
    vacancy = gateway.staff(
        "POST",
        "/api/v1/jobs/vacancies",
        {
            "employer_id": employer.json()["employer_id"],
            "title": "电焊工",
            "occupation": "电焊工",
            "headcount": 1,
            "salary_min": "3000.00",
            "salary_max": "4500.00",
            "education": "junior_high",
            "experience_years": 1,
            "county": "LY-XL",
            "skills": ["电焊"],
            "migrant_friendly": False,
            "valid_until": "2099-12-31",
            "fair_id": None,
        },
        **XL,
    )
    assert vacancy.status_code == 201, vacancy.text
    vacancy_id = vacancy.json()["vacancy_id"]

    def reasons():
        response = gateway.staff("GET", f"/api/v1/jobs/seekers/{seeker_id}/matches?limit=20", **XL)
        assert response.status_code == 200, response.text
        return next((r["reasons"] for r in response.json() if r["id"] == vacancy_id), [])

    # The jobs service knows the seeker heads a dossier once its read model has the dossier.
    wait_until(reasons, lambda found: "hardship priority" in found, timeout=15,
               what="the seeker's hardship priority from the dossiers events")  # fmt: skip
    intent = gateway.staff(
        "POST",
        "/api/v1/jobs/intents",
        {"seeker_id": seeker_id, "vacancy_id": vacancy_id, "fair_id": None,
         "agreed_on": "2018-03-15"},
        **XL,
    )  # fmt: skip
    assert intent.status_code == 201, intent.text
    hired = gateway.staff(
        "POST",
        f"/api/v1/jobs/intents/{intent.json()['intent_id']}/hire",
        {"hired_on": "2018-03-20"},
        **XL,
    )
    assert hired.status_code == 200, hired.text

    def tasks_of_the_dossier():
        return [t for t in listed(gateway, TASKS, "tasks", **XL) if t["dossier_id"] == dossier_id]

    tasks = wait_until(tasks_of_the_dossier, lambda found: found, timeout=15,
                       what="the dossier's re-evaluation task")  # fmt: skip
    assert [(t["status"], t["reason"], t["hired_on"]) for t in tasks] == [
        ("pending", "hired", "2018-03-20")
    ]
    assert dossier_id not in str(listed(gateway, TASKS, "tasks", **YD))


def test_the_queues_keep_to_the_callers_county_and_role(gateway):
    for path, key in ((INTAKE_REQUESTS, "intake_requests"), (TASKS, "tasks")):
        assert all(r["county"] == "LY-XL" for r in listed(gateway, path, key, **XL))
        elsewhere = gateway.staff("GET", f"{path}?county=LY-YD", **XL)
        assert elsewhere.status_code == 403, (path, elsewhere.text)
        bad = gateway.staff("GET", f"{path}?status=whatever", **XL)
        assert bad.status_code == 400, (path, bad.text)
    unit = gateway.staff("GET", INTAKE_REQUESTS, role="grassroots_staff", org="LY-XL-0042")
    assert unit.status_code == 403, unit.text
    missing = gateway.staff("POST", f"{INTAKE_REQUESTS}/{uuid.uuid4().hex}/close", {"note": "x"})
    assert missing.status_code == 404, missing.text
