"""Medical mutual aid over HTTP only: enrolment → bill → review → payout → paid → notice."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from shared import orgs
from tests.e2e.test_bill_to_notice import BILLS, bill, decided, inbox_after
from tests.support.client import new_id_number

pytestmark = pytest.mark.e2e


def test_enrolment_bill_review_payout_paid_notice(gateway, hospital):
    # A random unit of a real county (scope fails closed on made-up ones): figures asked at
    # this employer's scope are ours.
    counties = sorted(orgs.tree().counties)
    n = uuid.uuid4().int
    county = counties[n % len(counties)]
    employer = f"{county}-{n // len(counties) % 10000:04d}"
    id_number = new_id_number()
    enrolled = gateway.staff(
        "POST",
        "/api/v1/mutual-aid/enrollments",
        {
            "period": 11,
            "employer_org": employer,
            "plan": "C",
            "enrolled_on": "2017-11-20",
            "members": [
                {
                    "id_number": id_number,
                    "name": "张三明",
                    "coverage_start": "2018-01-01",
                    "bank_account": "6222020200112233445",
                },
                {"id_number": "350802197001010000", "name": "李四", "coverage_start": "2018-01-01"},
            ],
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["enrolled"] == 1
    assert [r["index"] for r in enrolled.json()["rejected"]] == [1]

    # Plan C: (30000 − 800) × 50 % = 14600.00 ≥ 10000.00, so two reviewers must approve.
    accepted = gateway.signed(
        BILLS,
        bill(id_number, self_pay_in_catalogue="30000.00", total_cost="50000.00"),
        hospital["secret"],
    )
    assert accepted.status_code == 202, accepted.text
    claim_id = accepted.json()["claim_id"]
    claim = decided(gateway, claim_id)
    assert (claim["status"], claim["amount"]) == ("needs_review", "14600.00")

    queue = gateway.staff("GET", "/api/v1/mutual-aid/review-queue", role="reviewer", org=county)
    assert queue.status_code == 200
    assert claim_id in [c["claim_id"] for c in queue.json()["claims"]]

    reviews = f"/api/v1/mutual-aid/claims/{claim_id}/reviews"
    first = gateway.staff(
        "POST",
        reviews,
        {"decision": "approve", "amount": "12000.00", "note": "a drug line billed twice"},
        role="reviewer",
        org=county,
    )
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "needs_review"
    # The same reviewer twice: 409, whatever the token says of its org.
    same = gateway.staff("POST", reviews, {"decision": "approve"}, role="reviewer", org="LY")
    assert same.status_code == 409, same.text
    not_reviewer = gateway.staff("POST", reviews, {"decision": "approve"}, role="finance")
    assert not_reviewer.status_code == 403
    second = gateway.http.post(
        gateway.base_url + reviews,
        json={"decision": "approve"},
        headers={"Authorization": "Bearer " + checker_token(gateway, county)},
        timeout=15,
    )
    assert second.status_code == 200, second.text
    assert (second.json()["status"], second.json()["amount"]) == ("approved", "12000.00")
    approved = inbox_after(gateway, id_number, 2)
    assert any("12000.00" in m["text"] and "审核通过" in m["text"] for m in approved)

    month = f"{3000 + uuid.uuid4().int % 5000}-06"
    batch = gateway.staff(
        "POST", "/api/v1/mutual-aid/payout-batches", {"month": month}, role="finance"
    )
    assert batch.status_code == 201, batch.text
    again = gateway.staff(
        "POST", "/api/v1/mutual-aid/payout-batches", {"month": month}, role="finance"
    )
    assert again.status_code == 200 and again.json() == batch.json()
    batch_id = batch.json()["batch_id"]

    file = gateway.staff(
        "GET", f"/api/v1/mutual-aid/payout-batches/{batch_id}/file", role="finance"
    )
    assert file.status_code == 200 and file.headers["content-type"].startswith("text/csv")
    line = next(r for r in csv.DictReader(io.StringIO(file.text)) if claim_id in r["claim_ids"])
    assert line["amount_yuan"] == "12000.00" and line["account_masked"] == "6222***********3445"
    assert id_number not in file.text and "6222020200112233445" not in file.text

    confirmed = gateway.staff(
        "POST",
        f"/api/v1/mutual-aid/payout-batches/{batch_id}/confirm",
        role="finance",
        sub="finance-checker",
    )
    assert confirmed.status_code == 200, confirmed.text
    assert gateway.staff("GET", f"/api/v1/mutual-aid/claims/{claim_id}").json()["status"] == "paid"
    messages = inbox_after(gateway, id_number, 3)
    paid = [m for m in messages if "已于" in m["text"]]
    assert len(paid) == 1 and "12000.00" in paid[0]["text"] and "K80" not in paid[0]["text"]
    # Every notice, the payout's too, carries the member's org: the employer's county reads them.
    scoped = gateway.staff(
        "POST",
        "/api/v1/notifications/inbox/query",
        {"id_number": id_number},
        role="county_staff",
        org=county,
    )
    assert scoped.status_code == 200, scoped.text
    assert len(scoped.json()["messages"]) == 3

    stats = gateway.staff(
        "GET", "/api/v1/mutual-aid/periods/11/stats", role="county_staff", org=employer
    )
    assert stats.status_code == 200
    assert stats.json() == {
        "person_times": 1,
        "paid_total": "12000.00",
        "approved_total": "12000.00",
        "by_plan": {
            "C": {"person_times": 1, "approved_total": "12000.00", "paid_total": "12000.00"}
        },
        "by_county": {
            county: {"person_times": 1, "approved_total": "12000.00", "paid_total": "12000.00"}
        },
        "by_month": {  # the month the hospital submitted the bill
            "2018-05": {
                "person_times": 1, "approved_total": "12000.00", "paid_total": "12000.00",
                "by_county": {county: {"person_times": 1, "approved_total": "12000.00",
                                       "paid_total": "12000.00"}},
            }
        },
    }  # fmt: skip
    audit = gateway.staff("GET", f"/api/v1/mutual-aid/claims/{claim_id}/audit", role="auditor")
    assert [e["outcome"] for e in audit.json()["entries"]] == ["awaiting_second_review", "approved"]


def test_payout_batch_by_county_finance_or_confirmed_by_its_creator_refused(gateway):
    batches = "/api/v1/mutual-aid/payout-batches"
    month = {"month": f"{3000 + uuid.uuid4().int % 5000}-07"}
    county = gateway.staff("POST", batches, month, role="finance", org="LY-XL")
    assert county.status_code == 403, county.text
    maker = {"role": "finance", "sub": "finance-maker"}
    created = gateway.staff("POST", batches, month, **maker)
    assert created.status_code == 201, created.text
    batch_id = created.json()["batch_id"]
    confirm = f"{batches}/{batch_id}/confirm"
    assert gateway.staff("POST", confirm, role="finance", org="LY-XL").status_code == 403
    own = gateway.staff("POST", confirm, **maker)
    assert own.status_code == 409, own.text
    assert gateway.staff("GET", f"{batches}/{batch_id}/file", **maker).status_code == 200
    checked = gateway.staff("POST", confirm, role="finance", sub="finance-checker")
    assert checked.status_code == 200 and checked.json()["status"] == "paid", checked.text
    audit = gateway.staff("GET", f"{batches}/{batch_id}/audit", role="auditor")
    assert audit.status_code == 200, audit.text
    assert [(e["action"], e["by"]) for e in audit.json()["entries"]] == [
        ("payout_created", "finance-maker"),
        ("payout_file_downloaded", "finance-maker"),
        ("payout_confirmed", "finance-checker"),
    ]


def checker_token(gateway, org: str) -> str:
    """A second reviewer: another staff id than the maker's ``test-reviewer``."""
    from shared.auth import mint_staff_token

    return mint_staff_token(gateway.jwt_secret, sub="checker-2", role="reviewer", org=org)


def test_policy_versions_are_listed_and_loading_needs_city_admin(gateway):
    listed = gateway.staff("GET", "/api/v1/mutual-aid/policies")
    assert listed.status_code == 200
    assert listed.json()["versions"][0]["version"] == "mutual_aid/2018-v1"
    refused = gateway.staff(
        "POST", "/api/v1/mutual-aid/policies", {"document": "x"}, role="finance"
    )
    assert refused.status_code == 403
    invalid = gateway.staff("POST", "/api/v1/mutual-aid/policies", {"document": "version = 1"})
    assert invalid.status_code == 400 and "document" in invalid.json()["error"]["fields"]


def test_single_reviewer_raising_a_one_review_claim_above_threshold_refused(gateway, hospital):
    """The bypass found through the edge: a 9,750.00 duplicate-stay claim (one review) raised
    to 15,000.00 by its only reviewer. It now waits for a second reviewer of 15,000.00."""
    id_number = new_id_number()
    enrolled = gateway.staff(
        "POST",
        "/api/v1/mutual-aid/enrollments",
        {
            "period": 11,
            "employer_org": "LY-XL-0042",
            "plan": "C",
            "enrolled_on": "2017-11-20",
            "members": [{"id_number": id_number, "name": "张三明", "coverage_start": "2018-01-01"}],
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    # Plan C, level 3: (20300 − 800) × 50 % = 9750.00 for each of two bills over one stay.
    stay = {"self_pay_in_catalogue": "20300.00", "total_cost": "40000.00"}
    first = gateway.signed(BILLS, bill(id_number, **stay), hospital["secret"])
    assert decided(gateway, first.json()["claim_id"])["status"] == "approved"
    overlapping = bill(
        id_number,
        **stay,
        admission_date="2018-05-08",
        discharge_date="2018-05-12",
        submitted_on="2018-05-13",
    )
    accepted = gateway.signed(BILLS, overlapping, hospital["secret"])
    assert accepted.status_code == 202, accepted.text
    claim_id = accepted.json()["claim_id"]
    claim = decided(gateway, claim_id)
    assert (claim["status"], claim["reason_code"], claim["amount"]) == (
        "needs_review",
        "duplicate_stay",
        "9750.00",
    )

    reviews = f"/api/v1/mutual-aid/claims/{claim_id}/reviews"
    maker = {"role": "reviewer", "sub": "maker-1"}
    above_self_pay = gateway.staff(
        "POST", reviews, {"decision": "approve", "amount": "20300.01", "note": "x"}, **maker
    )
    assert above_self_pay.status_code == 422, above_self_pay.text
    assert list(above_self_pay.json()["error"]["fields"]) == ["amount"]
    raised = gateway.staff(
        "POST",
        reviews,
        {"decision": "approve", "amount": "15000.00", "note": "a second ward bill"},
        **maker,
    )
    assert raised.status_code == 200, raised.text
    assert (raised.json()["status"], raised.json()["amount"]) == ("needs_review", "15000.00")
    again = gateway.staff("POST", reviews, {"decision": "approve"}, **maker)
    assert again.status_code == 409, again.text
    queue = gateway.staff("GET", "/api/v1/mutual-aid/review-queue", role="reviewer").json()
    [queued] = [c for c in queue["claims"] if c["claim_id"] == claim_id]
    assert (queued["approvals_needed"], queued["approved_by"]) == (2, ["maker-1"])

    checked = gateway.staff(
        "POST", reviews, {"decision": "approve"}, role="reviewer", sub="checker-1"
    )
    assert checked.status_code == 200, checked.text
    assert (checked.json()["status"], checked.json()["amount"]) == ("approved", "15000.00")
    audit = gateway.staff("GET", f"/api/v1/mutual-aid/claims/{claim_id}/audit", role="auditor")
    assert [(e["by"], e["outcome"]) for e in audit.json()["entries"]] == [
        ("maker-1", "awaiting_second_review"),
        ("checker-1", "approved"),
    ]
