"""The dossiers' queues over HTTP: the county's intake requests (12345 hardship referrals) and
the re-evaluation tasks a hire raises keep to the caller's county and role. (The referral's
own path, through the city platform's signed route, is in tests/integration/
test_dossiers_referrals.py until that route is on main.)"""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e

INTAKE_REQUESTS = "/api/v1/dossiers/intake-requests"
TASKS = "/api/v1/dossiers/re-evaluation-tasks"
XL = {"role": "county_staff", "org": "LY-XL"}
YD = {"role": "county_staff", "org": "LY-YD"}


def listed(gateway, path, key, **who) -> list[dict]:
    response = gateway.staff("GET", path, **who)
    assert response.status_code == 200, response.text
    return response.json()[key]


def test_the_queues_keep_to_the_callers_county_and_role(gateway):
    for path, key in ((INTAKE_REQUESTS, "intake_requests"), (TASKS, "tasks")):
        assert all(r["county"] == "LY-XL" for r in listed(gateway, path, key, **XL))
        elsewhere = gateway.staff("GET", f"{path}?county=LY-YD", **XL)
        assert elsewhere.status_code == 403, (path, elsewhere.text)
        bad = gateway.staff("GET", f"{path}?status=whatever", **XL)
        assert bad.status_code == 400, (path, bad.text)
    unit = gateway.staff("GET", INTAKE_REQUESTS, role="grassroots_staff", org="LY-XL-0042")
    assert unit.status_code == 403, unit.text
    missing = gateway.staff("POST", f"{INTAKE_REQUESTS}/{uuid.uuid4().hex}/close", {"note": "x"})
    assert missing.status_code == 404, missing.text
