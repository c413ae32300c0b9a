"""Diagnoses are for reviewers, through the HTTP edge: a claim's trace shows ICD codes and
diagnosis exclusions to reviewer, auditor and city_admin only; other roles read the same rule
steps with the diagnosis masked."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_bill_to_notice import BILLS, bill, decided, enrol
from tests.support.client import new_id_number

pytestmark = pytest.mark.e2e

ICD_CODE = re.compile(r"\b[A-Z][0-9]{2}(\.[0-9A-Z]+)?\b")


def claim_as(gateway, claim_id, role, org="LY"):
    response = gateway.staff("GET", f"/api/v1/mutual-aid/claims/{claim_id}", role=role, org=org)
    assert response.status_code == 200, response.text
    return response.json()


def test_county_staff_reading_a_claim_sees_no_icd_code_while_a_reviewer_does(gateway, hospital):
    id_number = new_id_number()
    enrol(gateway, id_number)  # employer LY-XL-0042
    excluded = gateway.signed(BILLS, bill(id_number, diagnoses=["X70.1"]), hospital["secret"])
    covered = gateway.signed(
        BILLS,
        bill(
            id_number,
            admission_date="2018-07-02",
            discharge_date="2018-07-09",
            submitted_on="2018-07-10",
            diagnoses=["K80.1"],
        ),
        hospital["secret"],
    )
    excluded_id, covered_id = excluded.json()["claim_id"], covered.json()["claim_id"]
    assert decided(gateway, excluded_id)["reason_code"] == "excluded_self_harm"
    assert decided(gateway, covered_id)["status"] == "approved"

    for claim_id in (excluded_id, covered_id):
        seen = claim_as(gateway, claim_id, "county_staff", "LY-XL")
        assert len(seen["trace"]) >= 3
        assert not [line for line in seen["trace"] if ICD_CODE.search(line)], seen["trace"]
        assert "self_harm" not in str(seen)
    masked = claim_as(gateway, excluded_id, "county_staff", "LY-XL")
    assert masked["reason_code"] == "excluded_diagnosis"
    assert masked["trace"][-1].startswith("3 exclusions: [diagnosis hidden] → rejected")

    assert "diagnosis X70.1 in X60–X84" in claim_as(gateway, excluded_id, "reviewer")["trace"][-1]
    assert "K80.1" in claim_as(gateway, covered_id, "auditor")["trace"][2]
