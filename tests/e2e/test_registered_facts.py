"""Facts the rules depend on are ours, over HTTP: a bill's hospital level is the one registered
for the partner (changed only by an audited re-registration), and its single-disease group
must be in the policy's table, both refused at intake with nothing stored."""

from __future__ import annotations

import pytest

from tests.e2e.test_bill_to_notice import BILLS, bill
from tests.support.client import new_id_number

pytestmark = pytest.mark.e2e


def test_bill_stating_another_level_than_registered_is_422_hospital_level_mismatch(
    gateway, hospital
):
    body = bill(new_id_number(), hospital_level=1)  # H0001 is registered at level 3
    refused = gateway.signed(BILLS, body, hospital["secret"])
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "hospital_level_mismatch"
    assert list(error["fields"]) == ["hospital_level"]
    # Nothing was stored: the same bill number at the registered level is a new claim (202).
    accepted = gateway.signed(BILLS, {**body, "hospital_level": 3}, hospital["secret"])
    assert accepted.status_code == 202, accepted.text


def test_single_disease_code_not_in_the_policy_table_is_400_at_intake(gateway, hospital):
    body = bill(new_id_number(), single_disease_code="K40.9")  # hernia: not a table group
    refused = gateway.signed(BILLS, body, hospital["secret"])
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == ["single_disease_code"]
    assert "K35" in error["fields"]["single_disease_code"][0]  # names what the table holds
    not_a_code = gateway.signed(
        BILLS, {**body, "single_disease_code": "appendix"}, hospital["secret"]
    )
    assert not_a_code.status_code == 400
    assert list(not_a_code.json()["error"]["fields"]) == ["single_disease_code"]
    accepted = gateway.signed(BILLS, {**body, "single_disease_code": "K35.8"}, hospital["secret"])
    assert accepted.status_code == 202, accepted.text


def test_reregistering_a_hospital_level_is_audited_and_bills_follow_it_at_once(gateway):
    code = "H0701"
    created = gateway.staff(
        "POST",
        "/api/v1/partners",
        {"code": code, "kind": "hospital", "name": "上杭县医院", "level": 3},
    )
    assert created.status_code == 201, created.text
    secret, bills = created.json()["secret"], f"/api/v1/hospitals/{code}/discharge-bills"
    # A first bill puts the partner in the gateway's cache at level 3.
    assert gateway.signed(bills, bill(new_id_number(), hospital_level=3), secret).status_code == 202

    partner = f"/api/v1/partners/{code}"
    county = gateway.staff("PATCH", partner, {"level": 2}, role="county_staff", org="LY-SH")
    assert county.status_code == 403
    unknown = gateway.staff("PATCH", "/api/v1/partners/H0799", {"level": 2})
    assert unknown.status_code == 404
    rotate = gateway.staff("PATCH", partner, {"level": 2, "secret": "whsec_AAAA"})
    assert rotate.status_code == 400  # re-registration changes the level and nothing else
    changed = gateway.staff("PATCH", partner, {"level": 2})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"code": code, "kind": "hospital", "name": "上杭县医院", "level": 2}

    stale = gateway.signed(bills, bill(new_id_number(), hospital_level=3), secret)
    assert stale.status_code == 422 and stale.json()["error"]["code"] == "hospital_level_mismatch"
    assert gateway.signed(bills, bill(new_id_number(), hospital_level=2), secret).status_code == 202

    audit = gateway.staff("GET", f"{partner}/audit", role="auditor")
    assert audit.status_code == 200, audit.text
    [entry] = audit.json()["entries"]
    assert (entry["action"], entry["actor"], entry["role"]) == (
        "partner_reregistered",
        "test-city_admin",
        "city_admin",
    )
    assert entry["detail"] == {"level_from": 3, "level_to": 2}
