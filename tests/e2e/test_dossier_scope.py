"""Scope fails closed over HTTP: an org outside the org tree sees nothing, and a 409 at intake
names another dossier only to a caller who may read it."""

from __future__ import annotations

import pytest

from tests.e2e.test_dossiers import DOSSIERS, household, open_dossier, submit

pytestmark = pytest.mark.e2e

READS = (
    DOSSIERS,
    f"{DOSSIERS}?status=open",
    f"{DOSSIERS}/export",
    "/api/v1/verification-campaigns/2019-04",
    "/api/v1/verification-campaigns/2019-04/overdue",
    "/api/v1/mutual-aid/periods/11/stats",
    "/api/v1/mutual-aid/periods/11/contributions",
    "/api/v1/mutual-aid/review-queue",
)


@pytest.mark.parametrize("org", ["LY-ZZ", "XX", "LY-XL-42"])
def test_an_org_outside_the_tree_sees_nothing_never_everything(gateway, org):
    dossier_id = open_dossier(gateway)
    gateway.staff("POST", "/api/v1/verification-campaigns", {"opened_on": "2019-04-01"})
    who = {"role": "city_admin", "org": org}

    for path in (*READS, f"{DOSSIERS}/{dossier_id}"):
        response = gateway.staff("GET", path, **who)
        assert response.status_code == 403, (path, response.status_code, response.text)
        assert dossier_id not in response.text
    intake = submit(gateway, household(), **who)
    assert intake.status_code == 403, intake.text


def test_an_intake_conflict_names_another_countys_dossier_only_to_whom_may_read_it(gateway):
    body = household(county="LY-XL")
    dossier_id = open_dossier(gateway, body)
    member = body["members"][1]
    elsewhere = household(county="LY-YD", members=[member])

    refused = submit(gateway, elsewhere, role="county_staff", org="LY-YD")
    assert refused.status_code == 409, refused.text
    assert dossier_id not in refused.text, refused.text
    assert refused.json()["error"]["fields"] == {
        "members.1.id_number": ["already in a live dossier outside your org unit"]
    }

    city = submit(gateway, elsewhere)
    assert city.status_code == 409
    assert city.json()["error"]["fields"] == {
        "members.1.id_number": [f"already in dossier {dossier_id}"]
    }
