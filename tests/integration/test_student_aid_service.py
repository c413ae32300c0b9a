"""The student_aid service on the real broker and nx-27017: campaigns, applications from staff and
the city portal ending in one record, eligibility with its trace, the dossier read model and the
late-dossier rule."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter
from pymongo import MongoClient

from services.student_aid.service import StudentAidService
from shared.auth import mint_partner_assertion
from shared.config import load_settings, process_settings
from shared.crypto import PiiVault
from shared.errors import ApiError
from shared.events import make_event
from shared.runner import nameko_config
from tests.support.client import new_id_number
from tests.support.principals import staff

pytestmark = pytest.mark.integration

ADMIN = staff("city_admin", "LY", "admin-1")
XL_STAFF = staff("county_staff", "LY-XL", "xl-1")
SH_STAFF = staff("county_staff", "LY-SH", "sh-1")
# Each test opens campaigns of its own years (one campaign per year): past years only, since an
# application may not be dated in the future, counted down from last year.
YEARS = range(date.today().year - 1, 1999, -1)


@pytest.fixture(scope="module", autouse=True)
def empty_student_aid_database(settings_for_module):
    """The module starts from an empty student_aid database: the session's other modules open
    campaigns of their own in it, and one campaign per year leaves only so many past years."""
    client = MongoClient(settings_for_module.mongo_uri)
    client.drop_database(settings_for_module.database_name("student_aid"))
    client.close()


@pytest.fixture(scope="module")
def settings_for_module(mongo_uri, amqp_uri):
    return load_settings({"APP_ENV": "test", "MONGO_URI": mongo_uri, "AMQP_URI": amqp_uri})


def portal(code: str = "P0001") -> str:
    """What the gateway forwards for the city platform whose signature it verified."""
    return mint_partner_assertion(
        {"code": code, "kind": "city_platform", "level": None}, process_settings()
    )


@pytest.fixture
def container(run_service):
    return run_service(StudentAidService)


@pytest.fixture
def service(container, settings):
    proxy = ClusterRpcProxy(nameko_config(settings), context_data={"correlation_id": "it-rpc"})
    with proxy as cluster:
        yield cluster.student_aid


@pytest.fixture
def vault(settings):
    return PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)


def unopened_year(service) -> int:
    """The next year without a campaign: the database is the session's, and the CLI's tests
    open years of their own in it."""
    for year in YEARS:
        try:
            service.get_campaign(ADMIN, year)
        except ApiError as missing:
            if missing.status != 404:
                raise
            return year
    raise AssertionError("no year left")


@pytest.fixture
def year(service) -> int:
    year = unopened_year(service)
    service.open_campaign(
        ADMIN,
        {
            "year": year,
            "opens_on": f"{year}-07-01",
            "closes_on": f"{year}-08-31",
            "budget": "2600000.00",
        },
    )
    return year


def application(year, parent, **overrides) -> dict:
    return {
        "campaign": year,
        "student_id_number": new_id_number(),
        "student_name": "张小明",
        "parent_id_number": parent,
        "education_level": "undergraduate",
        "school": "福州大学",
        "school_kind": "regular",
        "aided_elsewhere": False,
        "migrant_hardship_certified_by": None,
        "applied_on": f"{year}-07-15",
        **overrides,
    }


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call()
    return caught.value


def open_dossier(container, publisher, vault, parent, tier="national", county="LY-XL", revision=1):
    dossier_id = f"d-{uuid.uuid4().hex[:12]}"
    event = make_event(
        "dossier_established",
        {
            "dossier_id": dossier_id,
            "head_id_hash": vault.lookup_hash(parent),
            "county": county,
            "revision": revision,
            "tier": tier,
            "org": county,
            "established_on": "2018-01-05",
        },
        producer="dossiers",
        correlation_id="it-dossiers",
    )
    with entrypoint_waiter(container, "on_dossier_established"):
        publisher.publish(event)
    return event


# ---- campaigns ------------------------------------------------------------------------------


def test_campaign_takes_the_amount_table_of_the_policy_in_force_and_one_per_year(service, year):
    campaign = service.get_campaign(ADMIN, year)

    assert campaign["amounts"] == {
        "undergraduate": "5000.00",
        "junior_college": "3000.00",
        "vocational": "3000.00",
        "senior_high": "2000.00",
    }
    assert campaign["policy_version"] == "student_aid/2018-v1"
    again = refusal(lambda: service.open_campaign(ADMIN, {"year": year, "budget": "1.00"}))
    assert (again.status, again.fields) == (409, {"year": [again.message]})


def test_campaign_without_a_window_takes_the_policys_default(service):
    year = unopened_year(service)
    campaign = service.open_campaign(ADMIN, {"year": year, "budget": "100.00"})

    assert (campaign["opens_on"], campaign["closes_on"]) == (f"{year}-07-01", f"{year}-08-31")


def test_campaign_by_county_staff_refused(service):
    error = refusal(
        lambda: service.open_campaign(XL_STAFF, {"year": unopened_year(service), "budget": "1.00"})
    )

    assert error.status == 403


def test_budget_raised_and_lowering_refused(service, year):
    raised = service.set_budget(ADMIN, year, {"budget": "2700000.00"})
    lowered = refusal(lambda: service.set_budget(ADMIN, year, {"budget": "1.00"}))

    assert raised["budget"] == "2700000.00"
    assert (lowered.status, list(lowered.fields)) == (422, ["budget"])
    assert service.get_campaign(ADMIN, year)["budget"] == "2700000.00"


# ---- applications ---------------------------------------------------------------------------


def test_application_eligible_by_an_open_national_dossier_with_its_trace(
    service, container, publisher, vault, year
):
    parent = new_id_number()
    open_dossier(container, publisher, vault, parent, tier="national")

    decided = service.submit_application(XL_STAFF, application(year, parent))

    assert (decided["status"], decided["path"], decided["amount"]) == (
        "eligible",
        "national",
        "5000.00",
    )
    assert decided["reason_code"] is None
    assert any("national-tier dossier" in line for line in decided["trace"])
    assert decided["org"] == "LY-XL"
    assert service.get_application(XL_STAFF, decided["application_id"]) == decided


def test_application_without_hardship_ineligible_not_hardship(service, year):
    decided = service.submit_application(XL_STAFF, application(year, new_id_number()))

    assert (decided["status"], decided["reason_code"], decided["amount"]) == (
        "ineligible",
        "not_hardship",
        None,
    )


def test_same_student_in_the_same_campaign_refused(service, year):
    first = application(year, new_id_number())
    service.submit_application(XL_STAFF, first)

    again = refusal(lambda: service.submit_application(XL_STAFF, {**first, "school": "其他"}))

    assert (again.status, list(again.fields)) == (409, ["student_id_number"])


def test_application_outside_the_window_refused(service, year):
    late = refusal(
        lambda: service.submit_application(
            XL_STAFF, application(year, new_id_number(), applied_on=f"{year}-09-01")
        )
    )

    assert (late.status, late.code, list(late.fields)) == (422, "outside_window", ["applied_on"])


def test_application_to_a_campaign_never_opened_refused(service):
    error = refusal(
        lambda: service.submit_application(
            XL_STAFF, application(2999, new_id_number(), applied_on=None)
        )
    )

    assert (error.status, list(error.fields)) == (422, ["campaign"])


def test_migrant_certified_by_an_unknown_unit_refused_naming_the_field(service, year):
    for unit in ("LY-XL", "LY-ZZ-0001", "XX-0042"):
        body = application(year, new_id_number(), migrant_hardship_certified_by=unit)
        error = refusal(lambda body=body: service.submit_application(XL_STAFF, body))
        assert (error.status, list(error.fields)) == (400, ["migrant_hardship_certified_by"])


def test_migrant_certified_by_a_grassroots_unit_eligible_and_certification_recorded(
    service, db, settings, year
):
    body = application(year, new_id_number(), migrant_hardship_certified_by="LY-XL-0042")

    decided = service.submit_application(XL_STAFF, body)

    assert (decided["status"], decided["path"], decided["org"]) == (
        "eligible",
        "migrant",
        "LY-XL-0042",
    )
    stored = db.client[settings.database_name("student_aid")]["applications"].find_one(
        {"_id": decided["application_id"]}
    )
    assert stored["certification"]["unit"] == "LY-XL-0042"
    assert stored["certification"]["recorded_by"] == "xl-1"


def test_excluded_school_kind_ineligible_with_its_reason(service, year):
    decided = service.submit_application(
        XL_STAFF,
        application(
            year,
            new_id_number(),
            school_kind="military",
            migrant_hardship_certified_by="LY-XL-0042",
        ),
    )

    assert (decided["status"], decided["reason_code"]) == ("ineligible", "excluded_military")


def test_id_numbers_and_name_stored_sealed_hashed_and_masked_only(
    service, db, settings, vault, year
):
    body = application(year, new_id_number())
    decided = service.submit_application(XL_STAFF, body)

    stored = db.client[settings.database_name("student_aid")]["applications"].find_one(
        {"_id": decided["application_id"]}
    )
    text = repr(stored)
    assert body["student_id_number"] not in text
    assert body["parent_id_number"] not in text
    assert body["student_name"] not in text
    assert vault.decrypt(stored["student_id_enc"]) == body["student_id_number"]
    assert stored["parent_id_hash"] == vault.lookup_hash(body["parent_id_number"])
    assert decided["student_name_masked"] == "张*明"
    assert decided["student_id_number_masked"].count("*") == 8


def test_application_outside_the_callers_scope_reads_as_not_found(service, year):
    decided = service.submit_application(XL_STAFF, application(year, new_id_number()))

    error = refusal(lambda: service.get_application(SH_STAFF, decided["application_id"]))

    assert error.status == 404
    assert service.get_application(ADMIN, decided["application_id"])["status"] == "ineligible"


def test_staff_application_for_a_parent_of_another_county_refused(
    service, container, publisher, vault, year
):
    parent = new_id_number()
    open_dossier(container, publisher, vault, parent, county="LY-XL")

    error = refusal(lambda: service.submit_application(SH_STAFF, application(year, parent)))

    assert (error.status, list(error.fields)) == (403, ["parent_id_number"])


# ---- the city portal ------------------------------------------------------------------------


def test_portal_application_ends_in_the_same_record_and_a_replay_gets_the_first_answer(
    service, year
):
    body = application(year, new_id_number(), migrant_hardship_certified_by="LY-XL-0042")
    webhook_id = f"msg_{uuid.uuid4().hex}"

    first = service.submit_portal_application(portal(), webhook_id, body)
    replayed = service.submit_portal_application(portal(), webhook_id, body)

    assert replayed == first
    assert service.get_application(XL_STAFF, first["application_id"]) == first
    assert first["status"] == "eligible"
    # The same student through the other door is the same student.
    again = refusal(lambda: service.submit_application(XL_STAFF, body))
    assert again.status == 409


@pytest.mark.parametrize(
    "partner",
    [staff("city_admin"), "P0001", {"code": "P0001", "kind": "city_platform"}],
    ids=["staff-token", "code", "claims-dict"],
)
def test_portal_application_without_the_gateways_assertion_refused(service, partner):
    error = refusal(lambda: service.submit_portal_application(partner, "msg_x", {}))

    assert (error.status, error.code) == (401, "unauthorized")


# ---- the late dossier -----------------------------------------------------------------------


def test_late_dossier_makes_a_refused_application_eligible_once(
    service, container, publisher, vault, year
):
    parent = new_id_number()
    refused = service.submit_application(XL_STAFF, application(year, parent))
    assert refused["reason_code"] == "not_hardship"

    event = open_dossier(container, publisher, vault, parent, tier="local")
    decided = service.get_application(XL_STAFF, refused["application_id"])
    with entrypoint_waiter(container, "on_dossier_established"):
        publisher.publish(event)  # a duplicate delivery

    assert (decided["status"], decided["path"], decided["amount"]) == (
        "eligible",
        "local",
        "5000.00",
    )
    assert service.get_application(XL_STAFF, refused["application_id"]) == decided


def test_late_grassroots_tier_dossier_leaves_the_application_refused(
    service, container, publisher, vault, year
):
    parent = new_id_number()
    refused = service.submit_application(XL_STAFF, application(year, parent))

    open_dossier(container, publisher, vault, parent, tier="grassroots")

    assert service.get_application(XL_STAFF, refused["application_id"]) == refused
