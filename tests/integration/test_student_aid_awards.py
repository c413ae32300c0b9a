"""student_aid's approvals, notice, objections, disbursement and figures on nx-27017: the use
cases over the real store, as the service and the CLI call them."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from pathlib import Path

import pytest

from services.student_aid.application import awards, disbursements, figures
from services.student_aid.application.applications import (
    Channel,
    accept_application,
    application_org,
)
from services.student_aid.application.campaigns import open_campaign, raise_budget
from services.student_aid.domain.errors import NoticeNotEnded
from services.student_aid.store import StudentAidStore
from shared.domain_errors import Conflict, RuleViolation
from shared.events import make_event
from tests.support.client import new_id_number

pytestmark = pytest.mark.integration

POLICY_DIR = str(Path(__file__).resolve().parents[2] / "config" / "policy")
STAFF = Channel("staff", "xl-1")
U, J = 500_000, 300_000  # undergraduate and junior-college awards, fen


@pytest.fixture
def store(db, settings):
    store = StudentAidStore(db, settings)
    store.ensure_indexes()
    return store


def campaign(store, budget_fen):
    data = {"year": 2018, "opens_on": None, "closes_on": None, "budget": budget_fen}
    open_campaign(store, POLICY_DIR, data, "admin-1")


def parent_with_dossier(store, tier):
    parent = new_id_number()
    event = make_event(
        "dossier_established",
        {
            "dossier_id": uuid.uuid4().hex,
            "head_id_hash": store.id_hash(parent),
            "county": "LY-XL",
            "revision": 1,
            "tier": tier,
            "org": "LY-XL",
            "established_on": "2018-03-01",
        },
        producer="dossiers",
        correlation_id="c",
    )
    store.open_dossier_head(event, tier)
    return parent


def apply(store, path, day, level="undergraduate", name="张小明"):
    """An eligible application by ``path``, applied on ``day`` of July 2018; its id."""
    certified_by = "LY-XL-0042" if path == "migrant" else None
    parent = new_id_number() if path == "migrant" else parent_with_dossier(store, path)
    data = {
        "campaign": 2018,
        "student_id_number": new_id_number(),
        "student_name": name,
        "parent_id_number": parent,
        "education_level": level,
        "school": "福州大学",
        "school_kind": "regular",
        "aided_elsewhere": False,
        "migrant_hardship_certified_by": certified_by,
    }
    dossier = store.open_dossier_of(store.id_hash(parent))
    org = application_org(dossier, certified_by, "LY-XL")
    record = accept_application(store, POLICY_DIR, data, date(2018, 7, day), dossier, org, STAFF)
    assert record["status"] == "eligible", record["trace"]
    return record["_id"]


def status(store, application_id):
    return store.application(application_id)["status"]


@pytest.fixture
def ranked(store):
    """Budget 8,000.00: national (3,000) and the earlier local (5,000) fit; the later local and
    the migrant (who applied first of all) wait."""
    campaign(store, 800_000)
    ids = {
        "migrant": apply(store, "migrant", 1),
        "local_late": apply(store, "local", 5),
        "national": apply(store, "national", 10, level="junior_college", name="欧阳明辉"),
        "local_early": apply(store, "local", 3),
    }
    summary = awards.run_approvals(store, 2018, "admin-1")
    assert summary == {"approved": 2, "waitlisted": 2, "approved_total": J + U}
    return ids


def test_approvals_follow_priority_within_the_budget(store, ranked):
    assert {k: status(store, v) for k, v in ranked.items()} == {
        "migrant": "waitlisted",
        "local_late": "waitlisted",
        "national": "approved",
        "local_early": "approved",
    }


def test_approving_twice_changes_nothing(store, ranked):
    before = store.figure_rows(2018)
    assert awards.run_approvals(store, 2018, "admin-1") == {
        "approved": 2,
        "waitlisted": 2,
        "approved_total": J + U,
    }
    assert store.figure_rows(2018) == before
    runs = [e for e in store.audit_entries("campaign/2018") if e["action"] == "approvals_run"]
    assert [len(e["newly_approved"]) for e in runs] == [2, 0]


def test_a_second_run_of_the_approvals_at_once_refused(store, ranked):
    # Two runs reading the same revision: the one that takes it second must not spend the
    # budget again.
    revision = store.campaign(2018)["approvals_revision"]
    assert store.claim_approvals_run(2018, revision)
    assert not store.claim_approvals_run(2018, revision)


def test_a_budget_raise_approves_the_waitlist_in_order(store, ranked):
    raise_budget(store, 2018, 800_000 + U, "admin-1")
    summary = awards.run_approvals(store, 2018, "admin-1")
    assert summary == {"approved": 3, "waitlisted": 1, "approved_total": J + 2 * U}
    assert status(store, ranked["local_late"]) == "approved"
    assert status(store, ranked["migrant"]) == "waitlisted"


def test_notice_before_the_approvals_refused(store):
    campaign(store, 800_000)
    with pytest.raises(Conflict):
        awards.publish_notice(store, POLICY_DIR, 2018, date(2018, 9, 28), "admin-1")


def test_notice_lasts_five_working_days_and_shows_masked_entries_only(store, ranked):
    published = awards.publish_notice(store, POLICY_DIR, 2018, date(2018, 9, 28), "admin-1")
    assert published == {"published_on": date(2018, 9, 28), "ends_on": date(2018, 10, 9)}
    notice = awards.public_notice(store, 2018)
    assert sorted(notice["entries"], key=lambda e: e["amount"]) == [
        {"name": "欧**辉", "school": "福州大学", "education_level": "junior_college", "amount": J},
        {"name": "张*明", "school": "福州大学", "education_level": "undergraduate", "amount": U},
    ]
    with pytest.raises(Conflict):
        awards.publish_notice(store, POLICY_DIR, 2018, date(2018, 9, 29), "admin-1")


def published(store):
    awards.publish_notice(store, POLICY_DIR, 2018, date(2018, 9, 28), "admin-1")


@pytest.mark.parametrize("day", [date(2018, 9, 27), date(2018, 10, 10)], ids=str)
def test_objection_outside_the_notice_refused(store, ranked, day):
    published(store)
    with pytest.raises(RuleViolation) as refused:
        awards.record_objection(store, ranked["national"], "not a hardship family", day, "s1")
    assert refused.value.field == "received_on"
    assert status(store, ranked["national"]) == "approved"


def test_objection_to_an_award_not_approved_refused(store, ranked):
    published(store)
    with pytest.raises(Conflict):
        awards.record_objection(store, ranked["migrant"], "x", date(2018, 9, 28), "s1")


def test_upheld_objection_rejects_the_award_and_frees_its_budget(store, ranked):
    published(store)
    objection = awards.record_objection(
        store, ranked["local_early"], "income above the line", date(2018, 10, 9), "s1"
    )
    assert objection["status"] == "in_review"
    assert status(store, ranked["local_early"]) == "in_review"
    assert awards.public_notice(store, 2018)["entries"][-1]["amount"] == U  # still listed
    decided = awards.decide_objection(
        store, ranked["local_early"], objection["objection_id"], True, "admin-1"
    )
    assert decided["status"] == "rejected"
    assert awards.approvals_summary(store, 2018)["approved_total"] == J
    with pytest.raises(Conflict):
        awards.decide_objection(
            store, ranked["local_early"], objection["objection_id"], False, "admin-1"
        )
    # The freed amount is not re-allocated by itself: the next run approves the next in order.
    assert status(store, ranked["local_late"]) == "waitlisted"
    awards.run_approvals(store, 2018, "admin-1")
    assert status(store, ranked["local_late"]) == "approved"
    assert status(store, ranked["migrant"]) == "waitlisted"
    actions = [e["action"] for e in store.audit_entries("campaign/2018")]
    assert "objection_recorded" in actions and "objection_upheld" in actions


def test_dismissed_objection_puts_the_award_back(store, ranked):
    published(store)
    objection = awards.record_objection(store, ranked["national"], "x", date(2018, 9, 30), "s1")
    awards.decide_objection(store, ranked["national"], objection["objection_id"], False, "a")
    assert status(store, ranked["national"]) == "approved"


@pytest.mark.parametrize("day", [date(2018, 10, 8), date(2018, 10, 9)], ids=str)
def test_disbursement_on_or_before_notice_end_refused(store, ranked, day):
    published(store)
    with pytest.raises(NoticeNotEnded):
        disbursements.disbursement_batch(store, 2018, day, "fin-1")
    assert store.disbursement_of(2018) is None


def test_disbursement_without_a_notice_refused(store, ranked):
    with pytest.raises(NoticeNotEnded):
        disbursements.disbursement_batch(store, 2018, date(2018, 12, 1), "fin-1")


def test_disbursement_while_an_objection_is_undecided_refused(store, ranked):
    published(store)
    awards.record_objection(store, ranked["national"], "x", date(2018, 9, 30), "s1")
    with pytest.raises(Conflict):
        disbursements.disbursement_batch(store, 2018, date(2018, 10, 10), "fin-1")


def test_disbursement_pays_the_approved_awards_once_on_a_second_finance_user(store, ranked):
    published(store)
    batch, created = disbursements.disbursement_batch(store, 2018, date(2018, 10, 10), "fin-1")
    assert created and (batch["awards"], batch["total"]) == (2, J + U)
    again, created = disbursements.disbursement_batch(store, 2018, date(2018, 10, 11), "fin-1")
    assert (again, created) == (batch, False)

    rows = list(csv.DictReader(io.StringIO(disbursements.bank_file(store, batch["batch_id"], "f"))))
    assert sorted(r["amount_yuan"] for r in rows) == ["3000.00", "5000.00"]
    assert {r["application_id"] for r in rows} == {ranked["national"], ranked["local_early"]}

    with pytest.raises(Conflict):
        disbursements.confirm_disbursement(store, batch["batch_id"], "fin-1", "c")
    paid = disbursements.confirm_disbursement(store, batch["batch_id"], "fin-2", "c")
    assert paid["status"] == "paid"
    assert status(store, ranked["national"]) == "paid"
    outbox = store.applications.find_one({"_id": ranked["national"]})["outbox"]
    disbursed = [e for e in outbox.values() if e["event_type"] == "award_disbursed"]
    assert [e["payload"]["amount_fen"] for e in disbursed] == [J]

    disbursements.confirm_disbursement(store, batch["batch_id"], "fin-2", "c")
    outbox = store.applications.find_one({"_id": ranked["national"]})["outbox"]
    assert len([e for e in outbox.values() if e["event_type"] == "award_disbursed"]) == 1
    actions = [e["action"] for e in store.audit_entries("campaign/2018")]
    assert {"disbursement_created", "disbursement_file_downloaded"} <= set(actions)
    assert "disbursement_confirmed" in actions


def test_figures_by_county_level_and_path_in_fen(store, ranked):
    published(store)
    batch, _ = disbursements.disbursement_batch(store, 2018, date(2018, 10, 10), "fin-1")
    disbursements.confirm_disbursement(store, batch["batch_id"], "fin-2", "c")
    stats = figures.campaign_stats(store, 2018, "LY")
    assert (stats["applications"], stats["eligible"], stats["approved"], stats["waitlisted"]) == (
        4,
        4,
        2,
        2,
    )
    assert stats["paid"] == {"count": 2, "total": J + U}
    assert stats["by_county"]["LY-XL"]["applications"] == 4
    assert stats["by_level"]["junior_college"]["paid"] == {"count": 1, "total": J}
    assert stats["by_path"]["local"]["waitlisted"] == 1
    assert stats["by_path"]["migrant"]["applications"] == 1


def test_figures_count_only_the_callers_subtree(store, ranked):
    assert figures.campaign_stats(store, 2018, "LY-XL")["applications"] == 4
    elsewhere = figures.campaign_stats(store, 2018, "LY-SH")
    assert (elsewhere["applications"], elsewhere["by_county"]) == (0, {})
