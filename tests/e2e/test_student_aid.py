"""Student aid over HTTP only: a dossier opened, a city-portal application decided eligible with
its trace, a staff application, one application per student per campaign, the window."""

from __future__ import annotations

import pytest

from tests.e2e.test_dossiers import household, new_id_number, open_dossier
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

CAMPAIGNS = "/api/v1/student-aid/campaigns"
APPLICATIONS = "/api/v1/student-aid/applications"
PORTAL = "/api/v1/city/student-aid-applications"
# A year of this file's own: the stack is shared by the whole e2e session.
YEAR = 2016
XL = {"role": "county_staff", "org": "LY-XL"}


@pytest.fixture(scope="module")
def campaign(gateway):
    opened = gateway.staff(
        "POST",
        CAMPAIGNS,
        {"year": YEAR, "opens_on": f"{YEAR}-07-01", "closes_on": f"{YEAR}-08-31",
         "budget": "2600000.00"},
    )  # fmt: skip
    assert opened.status_code == 201, opened.text
    return opened.json()


@pytest.fixture(scope="module")
def city_platform(gateway):
    """The city's public-welfare portal (e·龙岩), registered as a partner: its code and secret."""
    response = gateway.staff(
        "POST", "/api/v1/partners", {"code": "ELONGYAN", "kind": "city_platform", "name": "e·龙岩"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def application(parent, **overrides) -> dict:
    return {
        "campaign": YEAR,
        "student_id_number": new_id_number(),
        "student_name": "张小明",
        "parent_id_number": parent,
        "education_level": "undergraduate",
        "school": "福州大学",
        "school_kind": "regular",
        "aided_elsewhere": False,
        "migrant_hardship_certified_by": None,
        "applied_on": f"{YEAR}-07-15",
        **overrides,
    }


def from_portal(gateway, platform, body, **kwargs):
    return gateway.signed(
        PORTAL, body, platform["secret"], headers={"X-Partner-Code": platform["code"]}, **kwargs
    )


def test_campaign_opened_with_the_policy_amount_table(gateway, campaign):
    assert campaign["amounts"]["undergraduate"] == "5000.00"
    assert campaign["amounts"]["senior_high"] == "2000.00"
    again = gateway.staff("POST", CAMPAIGNS, {"year": YEAR, "budget": "1.00"})
    assert again.status_code == 409, again.text
    by_county = gateway.staff("POST", CAMPAIGNS, {"year": YEAR + 1, "budget": "1.00"}, **XL)
    assert by_county.status_code == 403, by_county.text


def test_dossier_opened_then_city_portal_application_eligible_with_its_trace(
    gateway, campaign, city_platform
):
    body = household()
    open_dossier(gateway, body)

    posted = from_portal(gateway, city_platform, application(body["head_id_number"]))
    assert posted.status_code == 201, posted.text
    application_id = posted.json()["application_id"]
    # The dossier's event may reach student aid after the application: the late dossier
    # then decides it again.
    decided = wait_until(
        lambda: gateway.staff("GET", f"{APPLICATIONS}/{application_id}", **XL).json(),
        lambda seen: seen.get("status") == "eligible",
        what="the portal application eligible",
    )

    assert decided["amount"] == "5000.00"
    assert decided["path"] in ("national", "local")
    assert any("dossier" in line for line in decided["trace"])
    assert decided["org"] == "LY-XL"
    assert "parent_id_number" not in decided
    outside = gateway.staff(
        "GET", f"{APPLICATIONS}/{application_id}", role="county_staff", org="LY-SH"
    )
    assert outside.status_code == 404


def test_portal_application_badly_signed_refused_named_or_not(gateway, campaign, city_platform):
    body = application(new_id_number())
    forger = {**city_platform, "secret": "whsec_" + "A" * 32}
    forged = from_portal(gateway, forger, body)
    forged_unnamed = gateway.signed(PORTAL, body, forger["secret"])

    assert forged.status_code == 401, forged.text
    assert forged_unnamed.status_code == 401, forged_unnamed.text
    assert forged_unnamed.json() == forged.json()


def test_portal_application_signed_as_api_md_says_is_accepted_without_naming_the_partner(
    gateway, campaign, city_platform
):
    """API.md's city routes name no partner: the signature alone says which platform sent it."""
    body = application(new_id_number())
    unnamed = gateway.signed(PORTAL, body, city_platform["secret"])

    assert unnamed.status_code == 201, unnamed.text
    assert unnamed.json()["status"] in ("eligible", "ineligible")


def test_staff_application_decided_at_once_and_the_same_student_refused(gateway, campaign):
    body = application(new_id_number(), migrant_hardship_certified_by="LY-XL-0042")

    posted = gateway.staff("POST", APPLICATIONS, body, **XL)
    again = gateway.staff("POST", APPLICATIONS, {**body, "school": "厦门大学"}, **XL)

    assert posted.status_code == 201, posted.text
    assert (posted.json()["status"], posted.json()["path"]) == ("eligible", "migrant")
    assert again.status_code == 409, again.text
    assert "student_id_number" in again.json()["error"]["fields"]


def test_application_outside_the_window_refused(gateway, campaign, city_platform):
    late = application(new_id_number(), applied_on=f"{YEAR}-09-01")

    by_staff = gateway.staff("POST", APPLICATIONS, late, **XL)
    by_portal = from_portal(gateway, city_platform, late)

    for refused in (by_staff, by_portal):
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "outside_window"


def test_unknown_certifying_unit_is_a_400_naming_the_field(gateway, campaign):
    body = application(new_id_number(), migrant_hardship_certified_by="LY-XL")

    refused = gateway.staff("POST", APPLICATIONS, body, **XL)

    assert refused.status_code == 400, refused.text
    assert list(refused.json()["error"]["fields"]) == ["migrant_hardship_certified_by"]


def test_openapi_describes_the_student_aid_endpoints(gateway):
    paths = gateway.http.get(gateway.base_url + "/openapi.json").json()["paths"]

    assert {CAMPAIGNS, f"{APPLICATIONS}/{{application_id}}", PORTAL} <= set(paths)


def test_health_asks_student_aid_too(gateway):
    health = gateway.http.get(gateway.base_url + "/health")

    assert health.status_code == 200, health.text
    assert health.json()["services"]["student_aid"] == "ok"
