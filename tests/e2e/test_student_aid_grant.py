"""Golden Autumn over HTTP, the whole way as the household lives it: a dossier opened → the
child's application from the city portal → approval → public notice → an objection heard and
not upheld → disbursement by two finance users → an education grant on the dossier → a
message in the parent's inbox, read in the dossier county's scope only."""

from __future__ import annotations

import pytest

from tests.e2e.test_bill_to_notice import inbox
from tests.e2e.test_dossiers import DOSSIERS, household, new_id_number, open_dossier
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

# A year of this file's own: the stack, and its one campaign per year, is shared by the session.
YEAR = 2019
CAMPAIGNS = "/api/v1/student-aid/campaigns"
APPLICATIONS = "/api/v1/student-aid/applications"


def test_portal_application_to_paid_award_is_a_grant_on_the_dossier_and_a_message_in_the_inbox(
    gateway,
):
    body = household()
    dossier_id = open_dossier(gateway, body)
    parent = body["head_id_number"]
    opened = gateway.staff("POST", CAMPAIGNS, {"year": YEAR, "budget": "100000.00"})
    assert opened.status_code == 201, opened.text
    platform = gateway.staff(
        "POST", "/api/v1/partners", {"code": "EPORTAL", "kind": "city_platform", "name": "e·龙岩"}
    )
    assert platform.status_code == 201, platform.text
    # Signed as API.md says: the city routes name no partner, the signature tells which.
    applied = gateway.signed(
        "/api/v1/city/student-aid-applications",
        {
            "campaign": YEAR,
            "student_id_number": new_id_number(),
            "student_name": "陈小红",
            "parent_id_number": parent,
            "education_level": "undergraduate",
            "school": "福州大学",
            "school_kind": "regular",
            "aided_elsewhere": False,
            "migrant_hardship_certified_by": None,
            "applied_on": f"{YEAR}-07-15",
        },
        platform.json()["secret"],
    )
    assert applied.status_code == 201, applied.text
    application_id = applied.json()["application_id"]
    # The dossier's event may reach student aid after the application: it is then decided again.
    wait_until(
        lambda: gateway.staff("GET", f"{APPLICATIONS}/{application_id}").json(),
        lambda seen: seen.get("status") == "eligible",
        what="the application eligible through the parent's dossier",
    )
    assert gateway.staff("POST", f"{CAMPAIGNS}/{YEAR}/approvals").status_code == 200
    # Monday 23 September 2019: five working days end on Friday 27th, before National Day.
    notice = gateway.staff("POST", f"{CAMPAIGNS}/{YEAR}/notice", {"published_on": f"{YEAR}-09-23"})
    assert notice.status_code == 201, notice.text
    objections = f"{APPLICATIONS}/{application_id}/objections"
    objection = gateway.staff(
        "POST", objections, {"note": "核实家庭收入", "received_on": f"{YEAR}-09-24"}
    )
    assert objection.status_code == 201, objection.text
    assert gateway.staff("GET", f"{APPLICATIONS}/{application_id}").json()["status"] == "in_review"
    heard = gateway.staff(
        "POST", f"{objections}/{objection.json()['objection_id']}/decision", {"upheld": False}
    )
    assert heard.status_code == 200, heard.text
    assert gateway.staff("GET", f"{APPLICATIONS}/{application_id}").json()["status"] == "approved"
    batch = gateway.staff(
        "POST", f"{CAMPAIGNS}/{YEAR}/disbursements", {}, role="finance", sub="fin-1"
    )
    assert batch.status_code == 201, batch.text
    confirm = f"/api/v1/student-aid/disbursements/{batch.json()['batch_id']}/confirm"
    paid = gateway.staff("POST", confirm, role="finance", sub="fin-2")
    assert paid.status_code == 200, paid.text

    dossier = wait_until(
        lambda: gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json(),
        lambda seen: seen.get("ledger"),
        what="the education grant on the parent's dossier",
    )
    assert [(g["type"], g["amount"], g["campaign"], g["source"]) for g in dossier["ledger"]] == [
        ("education", "5000.00", YEAR, "student_aid")
    ]
    assert dossier["assistance_total"] == "5000.00"
    # Confirming again pays nobody twice, so the ledger keeps one grant.
    assert gateway.staff("POST", confirm, role="finance", sub="fin-2").status_code == 200

    # The parent hears of each step (dossier, eligibility, approval, payment): the payment once.
    def paid_notices():
        return [m for m in inbox(gateway, parent) if m["event_type"] == "award_disbursed"]

    messages = wait_until(paid_notices, what="the payment told to the parent")
    assert len(messages) == 1
    wait_until(
        lambda: {m["event_type"] for m in inbox(gateway, parent)},
        lambda told: (
            told
            == {"dossier_established", "eligibility_decided", "award_approved", "award_disbursed"}
        ),
        what="each step told to the parent",
    )
    text = messages[0]["text"]
    assert "金秋助学" in text and "发放" in text
    assert "5000" not in text and "5,000" not in text and "困难" not in text
    in_county = gateway.staff(
        "POST",
        "/api/v1/notifications/inbox/query",
        {"id_number": parent},
        role="county_staff",
        org=body["county"],
    )
    assert in_county.status_code == 200, in_county.text
    assert paid_notices() == messages
    elsewhere = gateway.staff(
        "POST",
        "/api/v1/notifications/inbox/query",
        {"id_number": parent},
        role="county_staff",
        org="LY-SH",
    )
    assert elsewhere.status_code == 404
    assert len(gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()["ledger"]) == 1
