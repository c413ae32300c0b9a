"""What reaches a service over RabbitMQ is verified there, not trusted because it arrived: the
caller's staff token, typed arguments instead of raw filters, a principal for dead letters.

Each test runs the service under a name of its own (its own database and queues)."""

from __future__ import annotations

import time
import uuid

import pytest
from nameko.exceptions import IncorrectSignature
from nameko.standalone.rpc import ServiceRpcProxy

from services.dossiers.service import DossiersService
from services.mutual_aid.service import MutualAidService
from shared.auth import mint_partner_assertion, mint_staff_token
from shared.config import process_settings
from shared.errors import ApiError
from shared.runner import nameko_config
from tests.support.principals import hospital, staff

pytestmark = pytest.mark.integration

FORGED_SECRET = "someone-who-reached-the-broker-but-not-the-secret"


@pytest.fixture
def dossiers(run_service, settings):
    replica = type(
        "DossiersTrust", (DossiersService,), {"name": f"dossiers_t_{uuid.uuid4().hex[:8]}"}
    )
    run_service(replica)
    with ServiceRpcProxy(replica.name, nameko_config(settings)) as rpc:
        yield rpc


@pytest.fixture
def mutual_aid(run_service, settings):
    replica = type(
        "MutualAidTrust", (MutualAidService,), {"name": f"mutual_aid_t_{uuid.uuid4().hex[:8]}"}
    )
    run_service(replica)
    with ServiceRpcProxy(replica.name, nameko_config(settings)) as rpc:
        yield rpc


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    # The status crosses the bus as text (nameko rebuilds the exception from its string args).
    caught.value.status = int(caught.value.status)
    return caught.value


def test_rpc_with_a_principal_dict_instead_of_a_staff_token_is_refused(dossiers):
    claimed = {"sub": "anyone", "role": "city_admin", "org": "LY"}

    error = refusal(lambda: dossiers.list_dossiers(claimed))

    assert (error.status, error.code) == (401, "unauthorized")


def test_rpc_with_a_staff_token_signed_by_another_secret_is_refused(dossiers):
    forged = mint_staff_token(FORGED_SECRET, sub="anyone", role="city_admin", org="LY")

    error = refusal(lambda: dossiers.list_dossiers(forged))

    assert (error.status, error.code, error.message) == (
        401,
        "unauthorized",
        "token signature is invalid",
    )


def test_rpc_with_an_expired_staff_token_is_refused(dossiers):
    expired = staff("city_admin", now=time.time() - 9 * 3600)

    error = refusal(lambda: dossiers.list_dossiers(expired))

    assert (error.status, error.message) == (401, "token has expired")


def test_rpc_with_a_valid_staff_token_of_another_role_is_forbidden(dossiers):
    error = refusal(lambda: dossiers.audit_log(staff("city_admin")))

    assert (error.status, error.code) == (403, "forbidden")


def test_rpc_with_a_valid_staff_token_is_answered(dossiers):
    assert dossiers.list_dossiers(staff("city_admin")) == {"dossiers": []}


def test_dossier_list_with_a_raw_mongo_filter_is_refused_not_executed(dossiers):
    county_staff = staff("county_staff", "LY-XL")

    with pytest.raises(IncorrectSignature):
        dossiers.list_dossiers(county_staff, {"$where": "sleep(5000) || true"})
    with pytest.raises(IncorrectSignature):
        dossiers.export(county_staff, **{"$where": "true"})


@pytest.mark.parametrize(
    "filters",
    [
        {"county": {"$regex": ".*"}},
        {"status": {"$ne": None}},
        {"tier": {"$exists": True}},
        {"county": "LY-XL' || '1'=='1"},
        {"status": "everything"},
    ],
)
def test_dossier_filter_that_is_not_a_plain_known_value_is_refused(dossiers, filters):
    county_staff = staff("county_staff", "LY-XL")

    for call in (dossiers.list_dossiers, dossiers.export):
        error = refusal(lambda call=call: call(county_staff, **filters))
        assert (error.status, error.code) == (400, "validation_error")
        assert set(error.fields) == set(filters)


def test_audit_log_filter_with_a_mongo_operator_is_refused(dossiers):
    auditor = staff("auditor")

    error = refusal(lambda: dossiers.audit_log(auditor, action={"$regex": ".*"}))

    assert (error.status, error.fields) == (400, {"action": ["must be str | None"]})


@pytest.mark.parametrize(
    ("method", "arguments", "field"),
    [
        ("get_dossier", ({"$ne": None},), "dossier_id"),
        ("get_campaign", ({"$gt": ""},), "campaign_id_"),
        ("get_fund", ("F1", {"$gt": 0}), "year"),
        ("get_fund", ("F1", True), "year"),
        ("overdue", ("2018-10", {"$ne": None}), "county"),
    ],
)
def test_rpc_argument_of_another_type_than_declared_is_refused(dossiers, method, arguments, field):
    error = refusal(lambda: getattr(dossiers, method)(staff("city_admin"), *arguments))

    assert (error.status, error.code) == (400, "validation_error")
    assert list(error.fields) == [field]


def forged_assertion() -> str:
    settings = process_settings()
    forged = type(settings)(**{**settings.__dict__, "staff_jwt_secret": FORGED_SECRET})
    return mint_partner_assertion({"code": "H0001", "kind": "hospital", "level": 3}, forged)


@pytest.mark.parametrize(
    "partner",
    [
        {"code": "H0001", "kind": "hospital", "level": 3},
        "H0001",
        staff("city_admin"),
        hospital(now=time.time() - 120),
        mint_partner_assertion(
            {"code": "P0001", "kind": "city_platform", "level": None}, process_settings()
        ),
        forged_assertion(),
    ],
    ids=["claims-dict", "code", "staff-token", "expired", "city-platform", "forged"],
)
def test_bill_without_the_gateways_fresh_hospital_assertion_is_refused_before_anything_else(
    mutual_aid, partner
):
    # An empty bill: were the assertion not checked first, this would be a 400 naming fields.
    error = refusal(lambda: mutual_aid.submit_bill(partner, f"msg_{uuid.uuid4().hex}", {}))

    assert (error.status, error.code) == (401, "unauthorized")


def test_bill_with_the_gateways_hospital_assertion_reaches_validation(mutual_aid):
    error = refusal(lambda: mutual_aid.submit_bill(hospital(), f"msg_{uuid.uuid4().hex}", {}))

    assert (error.status, error.code) == (400, "validation_error")


def test_partner_assertion_is_not_accepted_as_a_staff_token(mutual_aid):
    error = refusal(lambda: mutual_aid.get_claim(hospital(), "any-claim"))

    assert (error.status, error.code) == (401, "unauthorized")
