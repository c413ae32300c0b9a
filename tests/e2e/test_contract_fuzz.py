"""Schemathesis against the running stack's /openapi.json, as city_admin: no 500, no status the
document does not list, no body that does not match its published schema.

Signed webhooks are fuzzed too: each generated body is sent for a hospital registered on this
stack and signed with its secret (a random body with random signature headers would stop at
the 401). Each operation gets a bounded number of schema-valid and schema-invalid cases,
derandomized: a run sends the same cases every time. The fuzzer runs on a stack of its
own (its own nx-27017 and vhost): its campaigns, funds and condolence batches would otherwise
reach the dossiers the other end-to-end tests reason about."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.openapi import build_spec
from services.gateway.service import GatewayService  # noqa: F401 - registers every route
from shared.identity import make_id_number
from tests.e2e.conftest import JWT_SECRET, running_stack, stack_env
from tests.e2e.test_bill_to_notice import bill
from tests.e2e.test_dossiers import household
from tests.support.client import Gateway, new_id_number
from tests.support.infra import NxServer, RabbitVhost
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 50


HOSPITAL = {"code": "HFUZZ01", "kind": "hospital", "name": "模糊测试医院", "level": 2}
CITY_PLATFORM = {"code": "CFUZZ01", "kind": "city_platform", "name": "模糊测试平台"}


@schemathesis.check
def credentials_are_let_in(ctx, response, case):
    """A case that carries the city_admin token or a valid signature and gets a 401 or a 429
    tested the door, not the operation (credentials the gateway no longer takes, or a throttled
    fuzzer). Negative cases that leave the token out are answered 401, as documented."""
    headers = response.request.headers
    sent = (
        headers.get("Authorization", "").startswith("Bearer ey") or "webhook-signature" in headers
    )
    if sent and response.status_code in (401, 429):
        raise AssertionError(f"valid credentials were turned away: {response.status_code}")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    credentials_are_let_in,
]

# The "gb11643" format the ID number fields publish: valid numbers, so cases get past
# validation to the rules behind it (the pattern alone would give a wrong check digit).
schemathesis.openapi.format(
    "gb11643",
    st.builds(
        make_id_number,
        st.just("350881"),
        st.dates(date(1930, 1, 1), date(2005, 12, 31)),
        st.integers(0, 999),
    ),
)


def signed(operation: dict) -> bool:
    return any(p.get("name") == "webhook-signature" for p in operation.get("parameters", []))


def fuzzed_operations() -> list:
    """Every operation of the document (built here from the same route table)."""
    return [
        pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
        for path, methods in build_spec()["paths"].items()
        for method, operation in methods.items()
    ]


@pytest.fixture(scope="module")
def fuzzed_gateway(tmp_path_factory):
    nx, vhost = NxServer(tmp_path_factory.mktemp("fuzz-nx")), RabbitVhost()
    env = stack_env(nx.start(), vhost.create())
    try:
        with running_stack(tmp_path_factory.mktemp("fuzz-stack"), env) as stack:
            with closing(Gateway(stack.gateway_url, JWT_SECRET)) as gateway:
                yield gateway
    finally:
        vhost.delete()
        nx.stop()


@pytest.fixture(scope="module")
def contract(fuzzed_gateway):
    return schemathesis.openapi.from_url(fuzzed_gateway.base_url + "/openapi.json")


@pytest.fixture(scope="module")
def hospital_secret(fuzzed_gateway):
    response = fuzzed_gateway.staff("POST", "/api/v1/partners", HOSPITAL)
    assert response.status_code == 201, response.text
    return response.json()["secret"]


@pytest.fixture(scope="module")
def city_platform_secret(fuzzed_gateway):
    response = fuzzed_gateway.staff("POST", "/api/v1/partners", CITY_PLATFORM)
    assert response.status_code == 201, response.text
    return response.json()["secret"]


@pytest.mark.parametrize(("method", "path"), fuzzed_operations())
def test_operation_keeps_its_published_contract(
    contract, fuzzed_gateway, hospital_secret, city_platform_secret, method, path
):
    operation = contract[path][method]
    webhook = signed(operation.definition.raw)
    # A hospital signs under its code in the path; the city platform's routes name no partner.
    by_hospital = "{hospital_code}" in path
    fixed = {"path_parameters": {"hospital_code": HOSPITAL["code"]}} if by_hospital else {}
    secret = hospital_secret if by_hospital else city_platform_secret
    strategies = [operation.as_strategy(GenerationMode.POSITIVE, **fixed)]
    if operation.body or any(True for _ in operation.iter_parameters()):
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE, **fixed))

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def keeps_contract(case):
        if webhook:
            if case.body is NOT_SET:
                raw = b""
            elif isinstance(case.body, bytes):
                raw = case.body
            else:
                raw = json.dumps(case.body).encode()
            response = fuzzed_gateway.signed(case.formatted_path, None, secret, raw=raw)
            case.validate_response(response, checks=CHECKS)
        else:
            headers = {"Authorization": f"Bearer {fuzzed_gateway.token('city_admin', 'LY')}"}
            case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    keeps_contract()


def test_successful_answers_match_their_published_schemas(
    contract, fuzzed_gateway, hospital_secret
):
    """Random cases rarely get past the rules to a 2xx: one real journey does, and every
    answer on it must match the schema the document publishes for its status."""
    gw = fuzzed_gateway

    def conforms(method: str, template: str, response, status: int) -> dict:
        assert response.status_code == status, response.text
        contract[template][method].validate_response(response)
        return response.json() if "json" in response.headers["Content-Type"] else {}

    member = new_id_number()
    enrolment = {
        "period": 11,
        "employer_org": "LY-XL-0042",
        "plan": "A",
        "enrolled_on": "2017-11-20",
        "members": [{"id_number": member, "name": "张三明", "coverage_start": "2018-01-01"}],
    }
    enrolments = "/api/v1/mutual-aid/enrollments"
    conforms("POST", enrolments, gw.staff("POST", enrolments, enrolment), 201)
    bills = "/api/v1/hospitals/{hospital_code}/discharge-bills"
    path = bills.format(hospital_code=HOSPITAL["code"])
    accepted = conforms(
        "POST", bills, gw.signed(path, bill(member, hospital_level=2), hospital_secret), 202
    )
    claim_path = f"/api/v1/mutual-aid/claims/{accepted['claim_id']}"
    wait_until(
        lambda: gw.staff("GET", claim_path).json(),
        lambda c: c.get("status") not in (None, "received"),  # 404 for a moment after the 202
        what="the claim decided",
    )
    conforms("GET", "/api/v1/mutual-aid/claims/{claim_id}", gw.staff("GET", claim_path), 200)
    for path in ("/api/v1/mutual-aid/policies", "/api/v1/mutual-aid/review-queue"):
        conforms("GET", path, gw.staff("GET", path), 200)
    stats = "/api/v1/mutual-aid/periods/{period}/stats"
    conforms("GET", stats, gw.staff("GET", stats.format(period=11)), 200)

    dossiers = "/api/v1/dossiers"
    proposal = conforms("POST", dossiers, gw.staff("POST", dossiers, household()), 201)
    one = f"{dossiers}/{proposal['dossier_id']}"
    confirm = {"tier": proposal["proposed_tier"]}
    conforms(
        "POST",
        "/api/v1/dossiers/{dossier_id}/confirm",
        gw.staff("POST", f"{one}/confirm", confirm),
        200,
    )
    conforms("GET", "/api/v1/dossiers/{dossier_id}", gw.staff("GET", one), 200)
    conforms("GET", "/api/v1/dossiers/{dossier_id}", gw.staff("GET", f"{one}?reveal=ids"), 200)
    conforms("GET", dossiers, gw.staff("GET", f"{dossiers}?status=open"), 200)
    conforms("GET", "/api/v1/dossiers/export", gw.staff("GET", f"{dossiers}/export"), 200)
