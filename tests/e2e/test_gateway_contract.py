"""The edge contract of API.md: auth, scope, errors, enrolment, OpenAPI, health and 503s."""

from __future__ import annotations

import pytest

from tests.e2e.test_bill_to_notice import BILLS, bill, decided, enrol
from tests.support.client import new_id_number

pytestmark = pytest.mark.e2e

ENROL = "/api/v1/mutual-aid/enrollments"


def enrolment(members, **overrides):
    body = {
        "period": 11,
        "employer_org": "LY-XL-0042",
        "plan": "A",
        "enrolled_on": "2017-11-20",
        "members": members,
    }
    body.update(overrides)
    return body


def test_openapi_document_is_generated_from_the_schemas(gateway):
    spec = gateway.http.get(gateway.base_url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    bills = spec["paths"]["/api/v1/hospitals/{hospital_code}/discharge-bills"]["post"]
    assert {"202", "200", "400", "401"} <= set(bills["responses"])
    schema_name = bills["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[
        -1
    ]
    properties = spec["components"]["schemas"][schema_name]["properties"]
    assert {"bill_no", "patient_id_number", "self_pay_in_catalogue", "flags"} <= set(properties)
    assert "/api/v1/mutual-aid/claims/{claim_id}" in spec["paths"]


def test_staff_endpoints_need_a_valid_token(gateway):
    response = gateway.http.get(gateway.base_url + "/api/v1/mutual-aid/claims/x")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    forged = gateway.http.get(
        gateway.base_url + "/api/v1/mutual-aid/claims/x",
        headers={"Authorization": "Bearer abc.def.ghi"},
    )
    assert forged.status_code == 401


def test_only_city_admin_registers_partners(gateway):
    body = {"code": "H0099", "kind": "hospital", "name": "x", "level": 2}
    assert (
        gateway.staff(
            "POST", "/api/v1/partners", body, role="county_staff", org="LY-XL"
        ).status_code
        == 403
    )
    assert gateway.staff("POST", "/api/v1/partners", body).status_code == 201
    again = gateway.staff("POST", "/api/v1/partners", body)
    assert again.status_code == 409 and again.json()["error"]["fields"] == {
        "code": ["already registered"]
    }


def test_partner_without_level_is_400_naming_level(gateway):
    response = gateway.staff(
        "POST", "/api/v1/partners", {"code": "H0100", "kind": "hospital", "name": "x"}
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["level"]


def test_unknown_path_is_a_json_404(gateway):
    response = gateway.http.get(gateway.base_url + "/api/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_enrolment_reports_bad_rows_and_enrols_nobody_twice(gateway):
    good = new_id_number()
    members = [
        {"id_number": good, "name": "李四", "coverage_start": "2018-01-01"},
        {"id_number": "350802198001011235", "name": "坏号", "coverage_start": "2018-01-01"},
        {"id_number": new_id_number(), "name": "王五", "coverage_start": "2017-12-01"},
    ]
    first = gateway.staff("POST", ENROL, enrolment(members))
    assert first.status_code == 201, first.text
    result = first.json()
    assert (result["enrolled"], result["already_enrolled"]) == (1, 0)
    assert [(r["index"], list(r["error"]["fields"])) for r in result["rejected"]] == [
        (1, ["id_number"]),
        (2, ["coverage_start"]),
    ]
    again = gateway.staff("POST", ENROL, enrolment(members[:1])).json()
    assert (again["enrolled"], again["already_enrolled"]) == (0, 1)


def test_enrolment_outside_the_window_is_422(gateway):
    response = gateway.staff(
        "POST",
        ENROL,
        enrolment(
            [{"id_number": new_id_number(), "name": "赵六", "coverage_start": "2018-12-15"}],
            enrolled_on="2018-12-01",
        ),
    )
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["enrolled_on"]


def test_enrolment_outside_your_org_is_403(gateway):
    response = gateway.staff(
        "POST",
        ENROL,
        enrolment([{"id_number": new_id_number(), "name": "赵六", "coverage_start": "2018-01-01"}]),
        role="county_staff",
        org="LY-YD",
    )
    assert response.status_code == 403


def test_claim_outside_your_org_reads_as_not_found(gateway, hospital):
    id_number = new_id_number()
    enrol(gateway, id_number)
    claim_id = gateway.signed(BILLS, bill(id_number), hospital["secret"]).json()["claim_id"]
    decided(gateway, claim_id)
    own = gateway.staff(
        "GET", f"/api/v1/mutual-aid/claims/{claim_id}", role="county_staff", org="LY-XL"
    )
    other = gateway.staff(
        "GET", f"/api/v1/mutual-aid/claims/{claim_id}", role="county_staff", org="LY-YD"
    )
    assert own.status_code == 200
    assert other.status_code == 404


def test_a_service_that_is_down_is_a_503_naming_it(gateway, stack):
    stack.stop_service("notifications")
    try:
        health = gateway.http.get(gateway.base_url + "/health")
        assert health.status_code == 503
        services = health.json()["services"]
        assert services.pop("notifications") == "unavailable"
        assert set(services.values()) == {"ok"}
        inbox = gateway.staff(
            "POST", "/api/v1/notifications/inbox/query", {"id_number": new_id_number()}
        )
        assert inbox.status_code == 503
        assert "notifications" in inbox.json()["error"]["message"]
    finally:
        stack.start_service("notifications")
        stack.wait_healthy()
