"""Notifications obey org scope through the HTTP edge: a worker's inbox and deliveries are
answered only to staff whose org subtree holds the member (404 otherwise), and every inbox
lookup is in the audit log."""

from __future__ import annotations

import pytest

from tests.e2e.test_bill_to_notice import BILLS, bill, bind_mobile, decided, enrol, inbox_after
from tests.support.client import new_id_number

pytestmark = pytest.mark.e2e

INBOX = "/api/v1/notifications/inbox/query"
DELIVERIES = "/api/v1/notifications/deliveries"
LOOKUPS = "/api/v1/notifications/inbox/lookups/query"


def test_inbox_and_deliveries_outside_the_clerks_county_are_404_inside_200_and_audited(
    gateway, hospital
):
    id_number = new_id_number()
    enrol(gateway, id_number)  # employer LY-XL-0042
    bind_mobile(gateway, id_number)
    claim_id = gateway.signed(BILLS, bill(id_number), hospital["secret"]).json()["claim_id"]
    decided(gateway, claim_id)
    inbox_after(gateway, id_number)

    other_county = gateway.staff(
        "POST", INBOX, {"id_number": id_number}, role="county_staff", org="LY-YD"
    )
    assert other_county.status_code == 404, other_county.text
    assert other_county.json()["error"]["code"] == "not_found"
    own_county = gateway.staff(
        "POST", INBOX, {"id_number": id_number}, role="county_staff", org="LY-XL"
    )
    assert own_county.status_code == 200, own_county.text
    assert [m["ref"] for m in own_county.json()["messages"]] == [claim_id]

    params = {"ref": claim_id}
    assert (
        gateway.staff(
            "GET", DELIVERIES, role="county_staff", org="LY-YD", params=params
        ).status_code
        == 404
    )
    rows = gateway.staff("GET", DELIVERIES, role="county_staff", org="LY-XL", params=params)
    assert sorted(d["channel"] for d in rows.json()["deliveries"]) == ["inbox", "sms"]
    assert gateway.staff("POST", INBOX, {"id_number": id_number}, role="finance").status_code == 403

    audit = gateway.staff("POST", LOOKUPS, {"id_number": id_number}, role="auditor")
    assert audit.status_code == 200, audit.text
    lookups = [(e["role"], e["org"], e["messages"]) for e in audit.json()["entries"]]
    assert ("county_staff", "LY-YD", 0) in lookups
    assert ("county_staff", "LY-XL", 1) in lookups
