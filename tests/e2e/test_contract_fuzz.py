"""Schemathesis against the running stack's /openapi.json, as city_admin: no 500, no status the
document does not list, no body that does not match its published schema.

Signed webhook endpoints are left out: a generated body cannot carry a valid signature, so
every case would stop at the 401 (test_bill_to_notice and test_gateway_contract speak to them
with signed bodies). Each operation gets a bounded number of schema-valid and schema-invalid
cases, derandomized: a run sends the same cases every time. The fuzzer runs on a stack of its
own (its own nx-27017 and vhost): its campaigns, funds and condolence batches would otherwise
reach the dossiers the other end-to-end tests reason about."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.openapi import build_spec
from services.gateway.service import GatewayService  # noqa: F401 - registers every route
from shared.identity import make_id_number
from tests.e2e.conftest import JWT_SECRET, running_stack, stack_env
from tests.support.client import Gateway
from tests.support.infra import NxServer, RabbitVhost

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 50


@schemathesis.check
def city_admin_is_let_in(ctx, response, case):
    """A case that carries the city_admin token and gets a 401 or a 429 tested the door, not
    the operation (a token the gateway no longer takes, or a throttled fuzzer). Negative cases
    that leave the token out are answered 401, as documented."""
    sent_token = response.request.headers.get("Authorization", "").startswith("Bearer ey")
    if sent_token and response.status_code in (401, 429):
        raise AssertionError(f"city_admin was turned away: {response.status_code}")


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    city_admin_is_let_in,
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


def fuzzed_operations() -> list:
    """Every operation of the document (built here from the same route table), but the
    signed webhooks."""
    return [
        pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
        for path, methods in build_spec()["paths"].items()
        for method, operation in methods.items()
        if not any(p.get("name") == "webhook-signature" for p in operation.get("parameters", []))
    ]


@pytest.fixture(scope="module")
def fuzzed_gateway(tmp_path_factory):
    nx, vhost = NxServer(tmp_path_factory.mktemp("fuzz-nx")), RabbitVhost()
    env = stack_env(nx.start(), vhost.create())
    try:
        with running_stack(tmp_path_factory.mktemp("fuzz-stack"), env) as stack:
            yield Gateway(stack.gateway_url, JWT_SECRET)
    finally:
        vhost.delete()
        nx.stop()


@pytest.fixture(scope="module")
def contract(fuzzed_gateway):
    return schemathesis.openapi.from_url(fuzzed_gateway.base_url + "/openapi.json")


@pytest.mark.parametrize(("method", "path"), fuzzed_operations())
def test_operation_keeps_its_published_contract(contract, fuzzed_gateway, method, path):
    operation = contract[path][method]
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if operation.body or any(True for _ in operation.iter_parameters()):
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def keeps_contract(case):
        headers = {"Authorization": f"Bearer {fuzzed_gateway.token('city_admin', 'LY')}"}
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    keeps_contract()
