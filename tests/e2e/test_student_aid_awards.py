"""Student aid over HTTP after the applications: approvals within the budget → public notice
(no token, JSON and CSV) → objection upheld → approvals again → disbursement → confirmation by
a second finance user → figures."""

from __future__ import annotations

import csv
import io

import pytest

from shared import orgs
from tests.support.client import new_id_number

pytestmark = pytest.mark.e2e

YEAR = 2017  # a year of its own in the session's database (one campaign per year)
CAMPAIGNS = "/api/v1/student-aid/campaigns"


def apply(gateway, unit, day, level, name, year=YEAR):
    response = gateway.staff(
        "POST",
        "/api/v1/student-aid/applications",
        {
            "campaign": year,
            "student_id_number": new_id_number(),
            "student_name": name,
            "parent_id_number": new_id_number(),
            "education_level": level,
            "school": "龙岩学院",
            "school_kind": "regular",
            "aided_elsewhere": False,
            "migrant_hardship_certified_by": unit,
            "applied_on": f"{year}-07-{day:02d}",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "eligible", response.json()
    return response.json()["application_id"]


def status(gateway, application_id):
    response = gateway.staff("GET", f"/api/v1/student-aid/applications/{application_id}")
    return response.json()["status"]


def test_approval_notice_objection_disbursement_figures(gateway):
    county = sorted(orgs.tree().counties)[0]
    unit = f"{county}-0042"
    opened = gateway.staff(
        "POST", CAMPAIGNS, {"year": YEAR, "budget": "8000.00"}
    )  # window: the policy's 1 July – 31 August
    assert opened.status_code == 201, opened.text
    first = apply(gateway, unit, 1, "undergraduate", "张小明")
    second = apply(gateway, unit, 2, "junior_college", "欧阳明辉")
    third = apply(gateway, unit, 3, "senior_high", "李华")

    refused = gateway.staff("POST", f"{CAMPAIGNS}/{YEAR}/approvals", role="county_staff")
    assert refused.status_code == 403
    approvals = gateway.staff("POST", f"{CAMPAIGNS}/{YEAR}/approvals")
    assert approvals.status_code == 200, approvals.text
    assert approvals.json() == {"approved": 2, "waitlisted": 1, "approved_total": "8000.00"}
    again = gateway.staff("POST", f"{CAMPAIGNS}/{YEAR}/approvals")
    assert again.json() == approvals.json()
    assert [status(gateway, a) for a in (first, second, third)] == [
        "approved",
        "approved",
        "waitlisted",
    ]

    published = gateway.staff(
        "POST", f"{CAMPAIGNS}/{YEAR}/notice", {"published_on": f"{YEAR}-09-28"}
    )
    assert published.status_code == 201, published.text
    # Thu 28 Sept, Fri 29, the make-up Saturday 30 Sept, then 9 and 10 Oct after the holiday.
    assert published.json() == {"published_on": "2017-09-28", "ends_on": "2017-10-10"}

    public = gateway.http.get(gateway.base_url + f"{CAMPAIGNS}/{YEAR}/notice", timeout=15)
    assert public.status_code == 200, public.text
    assert sorted(public.json()["entries"], key=lambda e: e["amount"]) == [
        {"name": "欧**辉", "school": "龙岩学院", "education_level": "junior_college", "amount": "3000.00"},
        {"name": "张*明", "school": "龙岩学院", "education_level": "undergraduate", "amount": "5000.00"},
    ]  # fmt: skip
    as_csv = gateway.http.get(
        gateway.base_url + f"{CAMPAIGNS}/{YEAR}/notice",
        headers={"Accept": "text/csv"},
        timeout=15,
    )
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert sorted(r["name"] for r in rows) == ["张*明", "欧**辉"]
    assert set(rows[0]) == {"name", "school", "education_level", "amount"}

    elsewhere = sorted(orgs.tree().counties)[-1]
    out_of_scope = gateway.staff(
        "POST",
        f"/api/v1/student-aid/applications/{second}/objections",
        {"note": "x"},
        role="county_staff",
        org=elsewhere,
    )
    assert out_of_scope.status_code == 404, out_of_scope.text
    objection = gateway.staff(
        "POST",
        f"/api/v1/student-aid/applications/{second}/objections",
        {"note": "收入超过标准", "received_on": f"{YEAR}-10-09"},
    )
    assert objection.status_code == 201, objection.text
    assert status(gateway, second) == "in_review"
    objection_id = objection.json()["objection_id"]
    decision = gateway.staff(
        "POST",
        f"/api/v1/student-aid/applications/{second}/objections/{objection_id}/decision",
        {"upheld": True},
    )
    assert decision.status_code == 200, decision.text
    assert status(gateway, second) == "rejected"
    rerun = gateway.staff("POST", f"{CAMPAIGNS}/{YEAR}/approvals")
    assert rerun.json() == {"approved": 2, "waitlisted": 0, "approved_total": "7000.00"}

    county_finance = gateway.staff(
        "POST", f"{CAMPAIGNS}/{YEAR}/disbursements", {}, role="finance", org=county
    )
    assert county_finance.status_code == 403
    batch = gateway.staff(
        "POST", f"{CAMPAIGNS}/{YEAR}/disbursements", {}, role="finance", sub="fin-1"
    )
    assert batch.status_code == 201, batch.text
    assert (batch.json()["awards"], batch.json()["total"]) == (2, "7000.00")
    batch_id = batch.json()["batch_id"]
    same = gateway.staff(
        "POST", f"{CAMPAIGNS}/{YEAR}/disbursements", {}, role="finance", sub="fin-1"
    )
    assert (same.status_code, same.json()["batch_id"]) == (200, batch_id)

    bank = gateway.staff(
        "GET", f"/api/v1/student-aid/disbursements/{batch_id}/file", role="finance"
    )
    assert bank.status_code == 200, bank.text
    lines = list(csv.DictReader(io.StringIO(bank.text)))
    assert sorted(line["amount_yuan"] for line in lines) == ["2000.00", "5000.00"]

    confirm = f"/api/v1/student-aid/disbursements/{batch_id}/confirm"
    by_maker = gateway.staff("POST", confirm, role="finance", sub="fin-1")
    assert by_maker.status_code == 409
    paid = gateway.staff("POST", confirm, role="finance", sub="fin-2")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert [status(gateway, a) for a in (first, second, third)] == ["paid", "rejected", "paid"]

    stats = gateway.staff("GET", f"{CAMPAIGNS}/{YEAR}/stats")
    assert stats.status_code == 200, stats.text
    figures = stats.json()
    assert (figures["applications"], figures["eligible"], figures["approved"]) == (3, 3, 2)
    assert figures["paid"] == {"count": 2, "total": "7000.00"}
    assert figures["by_path"]["migrant"]["paid"] == {"count": 2, "total": "7000.00"}
    assert figures["by_county"][county]["applications"] == 3
    assert figures["by_level"]["junior_college"]["approved"] == 0
    theirs = gateway.staff("GET", f"{CAMPAIGNS}/{YEAR}/stats", role="county_staff", org=county)
    assert theirs.json()["applications"] == 3
    others = gateway.staff("GET", f"{CAMPAIGNS}/{YEAR}/stats", role="county_staff", org=elsewhere)
    assert others.json()["applications"] == 0

    audit = gateway.staff("GET", f"{CAMPAIGNS}/{YEAR}/audit", role="auditor")
    assert audit.status_code == 200, audit.text
    actions = [entry["action"] for entry in audit.json()["entries"]]
    for action in (
        "approvals_run",
        "objection_recorded",
        "objection_upheld",
        "disbursement_created",
        "disbursement_file_downloaded",
        "disbursement_confirmed",
    ):
        assert action in actions
    assert gateway.staff("GET", f"{CAMPAIGNS}/{YEAR}/audit", role="county_staff").status_code == 403


def test_budget_raise_approves_the_waitlist_and_disbursement_waits_for_the_notice(gateway):
    # A fixed year of its own (campaigns are one per year; other files hold 2016, 2017, 2019)
    # that the calendar library knows, whatever day the suite runs.
    year = 2014
    assert gateway.staff("POST", CAMPAIGNS, {"year": year, "budget": "5000.00"}).status_code == 201
    unit = f"{sorted(orgs.tree().counties)[-1]}-0007"
    first = apply(gateway, unit, 15, "undergraduate", "王小五", year)
    second = apply(gateway, unit, 16, "senior_high", "赵六", year)
    approvals = gateway.staff("POST", f"{CAMPAIGNS}/{year}/approvals")
    assert approvals.json() == {"approved": 1, "waitlisted": 1, "approved_total": "5000.00"}
    assert status(gateway, second) == "waitlisted"

    raised = gateway.staff("PATCH", f"{CAMPAIGNS}/{year}", {"budget": "7000.00"})
    assert raised.status_code == 200, raised.text
    assert [status(gateway, a) for a in (first, second)] == ["approved", "approved"]

    # Published Sunday 2014-09-28, a make-up working day: 28, 29, 30 September, then the
    # National Day holiday, then 8 and 9 October; disbursing on ends_on itself is too early.
    published = gateway.staff("POST", f"{CAMPAIGNS}/{year}/notice", {"published_on": "2014-09-28"})
    assert published.status_code == 201, published.text
    assert published.json()["ends_on"] == "2014-10-09"
    refused = gateway.staff(
        "POST", f"{CAMPAIGNS}/{year}/disbursements", {"disbursed_on": "2014-10-09"}, role="finance"
    )
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert (error["code"], list(error["fields"])) == ("notice_not_ended", ["disbursed_on"])
