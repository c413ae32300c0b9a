"""The OpenAPI document states what the endpoints enforce and every status they answer."""

import pytest

from services.gateway.openapi import build_spec
from services.gateway.service import GatewayService  # noqa: F401 - registers every route

ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def spec():
    return build_spec()


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def properties(spec, name):
    return spec["components"]["schemas"][name]["properties"]


def test_id_numbers_are_published_with_their_pattern(spec):
    for schema, field in [("Member", "id_number"), ("DischargeBill", "patient_id_number")]:
        published = properties(spec, schema)[field]
        assert published["pattern"] == "^[1-9][0-9]{16}[0-9Xx]$"
        assert published["format"] == "gb11643"


def test_money_is_published_as_a_yuan_string(spec):
    amount = properties(spec, "GrantRequest")["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == "^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,2})?$"


def test_codes_enums_and_ranges_are_published(spec):
    assert properties(spec, "PartnerRequest")["code"]["pattern"] == "^[A-Z][A-Z0-9]{1,15}$"
    assert properties(spec, "DischargeBill")["bill_no"]["pattern"] == "^[A-Za-z0-9_-]{1,40}$"
    assert properties(spec, "DischargeBill")["hospital_level"]["enum"] == [1, 2, 3]
    festival = properties(spec, "CondolenceBatchRequest")["festival"]["pattern"]
    assert festival == "^(20[0-9][0-9]|2100)-(spring|new_year)$"
    year = properties(spec, "FundRequest")["year"]
    assert (year["minimum"], year["maximum"]) == (2000, 2100)


def test_query_parameters_are_published(spec):
    parameters = spec["paths"]["/api/v1/notifications/deliveries"]["get"]["parameters"]
    assert [(p["in"], p["name"], p["required"]) for p in parameters] == [("query", "ref", True)]


def test_every_staff_endpoint_documents_its_errors_with_the_error_body(spec):
    for name, operation in operations(spec):
        if "security" not in operation:
            continue
        responses = operation["responses"]
        expected = {"400", "401", "403", "404", "429", "503"}
        if name.startswith("POST"):
            expected |= {"409", "422"}
        if "requestBody" in operation:
            expected.add("413")
        assert expected <= set(responses), name
        for status in expected:
            assert responses[status]["content"]["application/json"]["schema"] == ERROR_REF


def test_every_endpoint_documents_the_servers_414(spec):
    # eventlet answers a request line over 8 KiB before any route: any operation can meet it.
    for name, operation in operations(spec):
        assert "414" in operation["responses"], name


def test_throttled_answers_document_retry_after(spec):
    throttled = spec["paths"]["/api/v1/dossiers"]["get"]["responses"]["429"]
    assert throttled["headers"]["Retry-After"]["schema"] == {"type": "integer"}


def test_error_fields_are_an_object_never_a_string(spec):
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert detail["properties"]["fields"]["type"] == "object"
    assert set(detail["required"]) == {"code", "message"}
    assert detail["additionalProperties"] is False
    assert spec["components"]["schemas"]["Error"]["additionalProperties"] is False


def test_every_success_states_its_body(spec):
    for name, operation in operations(spec):
        if name == "GET /openapi.json":
            continue
        for status, response in operation["responses"].items():
            if status == "204":  # No Content (API.md: the contacts, the read mark)
                assert not response.get("content"), f"{name} {status}"
            elif status.startswith("2"):
                assert response.get("content"), f"{name} {status}"


def test_path_integers_are_published_with_the_range_the_route_accepts(spec):
    stats = spec["paths"]["/api/v1/mutual-aid/periods/{period}/stats"]["get"]["parameters"]
    assert stats[0]["schema"] == {"type": "integer", "minimum": 1, "maximum": 9999}
    fund = spec["paths"]["/api/v1/assistance-funds/{fund}/{year}"]["get"]["parameters"]
    assert fund[1]["schema"] == {"type": "integer", "minimum": 2000, "maximum": 2100}


def test_dossier_filters_are_published_as_query_parameters(spec):
    listed = spec["paths"]["/api/v1/dossiers"]["get"]["parameters"]
    published = {p["name"]: p["schema"] for p in listed}
    assert set(published) == {"county", "status", "tier", "limit", "offset"}
    assert {"proposed", "open", "declined", "closed"} <= set(published["status"]["enum"])
    assert (published["limit"]["minimum"], published["limit"]["maximum"]) == (1, 500)
    one = spec["paths"]["/api/v1/dossiers/{dossier_id}"]["get"]["parameters"]
    assert "ids" in [p["schema"] for p in one if p["name"] == "reveal"][0]["enum"]


def test_answers_publish_the_keys_they_always_carry(spec):
    schemas = spec["components"]["schemas"]
    assert set(schemas["BillAccepted"]["required"]) == {"claim_id", "status"}
    assert {"claim_id", "status", "amount", "trace"} <= set(schemas["Claim"]["required"])
    assert set(schemas["Proposal"]["required"]) == {
        "dossier_id",
        "status",
        "proposed_tier",
        "trace",
    }


def test_enrolment_rows_publish_the_member_schema(spec):
    members = properties(spec, "EnrollmentRequest")["members"]
    assert members["items"] == {"$ref": "#/components/schemas/EnrollmentMember"}
    assert properties(spec, "EnrollmentMember")["id_number"]["format"] == "gb11643"
