"""Verification campaigns and exits as pure rules: opening days, ids, visit outcomes, retention."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.dossiers.domain.policy import DossierPolicy
from services.dossiers.domain.tiers import TierProposal
from services.dossiers.domain.verification import (
    campaign_closes_on,
    campaign_due_on,
    campaign_id,
    evaluate_visit,
    proposal_expiry,
    purge_due,
)
from shared.policy import PolicyError, PolicyStore, read_policy

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def policy() -> DossierPolicy:
    store = PolicyStore.for_service(ROOT / "config" / "policy", "dossiers")
    return DossierPolicy.from_document(store.versions()[-1])


def proposal(tier, not_eligible=()):
    return TierProposal(tier, None, tuple(not_eligible), (), 65_000, "dossiers/2018-v1")


@pytest.mark.parametrize(
    ("day", "due"),
    [
        (date(2019, 4, 1), True),
        (date(2019, 10, 1), True),
        (date(2019, 4, 2), False),
        (date(2019, 3, 31), False),
        (date(2019, 1, 1), False),
    ],
)
def test_campaigns_open_on_1_april_and_1_october(policy, day, due):
    assert campaign_due_on(day, policy) is due


def test_campaign_id_is_the_same_for_every_replica_and_closes_after_30_days(policy):
    assert campaign_id(date(2019, 4, 1)) == "2019-04"
    assert campaign_closes_on(date(2019, 4, 1), policy) == date(2019, 5, 1)


def test_visit_with_the_same_tier_changes_nothing():
    assert evaluate_visit("local", proposal("local")).kind == "unchanged"


def test_visit_where_a_lower_tier_fits_is_a_tier_change():
    outcome = evaluate_visit("national", proposal("grassroots"))
    assert (outcome.kind, outcome.tier) == ("tier_changed", "grassroots")


def test_visit_out_of_hardship_is_an_exit_income_above_line():
    outcome = evaluate_visit("grassroots", proposal(None))
    assert (outcome.kind, outcome.exit_reason) == ("exit", "income_above_line")


def test_visit_finding_a_not_eligible_case_is_an_exit_not_eligible():
    outcome = evaluate_visit("national", proposal(None, ["owns_multiple_homes"]))
    assert (outcome.kind, outcome.exit_reason) == ("exit", "not_eligible")


def test_closed_dossiers_are_purged_ten_years_after_closure(policy):
    assert not purge_due(date(2018, 5, 2), date(2028, 5, 1), policy)
    assert purge_due(date(2018, 5, 2), date(2028, 5, 2), policy)
    assert not purge_due(date(2016, 2, 29), date(2026, 2, 28), policy)
    assert purge_due(date(2016, 2, 28), date(2028, 2, 29), policy)


def test_policy_refuses_an_unknown_cause(tmp_path):
    source = (ROOT / "config" / "policy" / "dossiers" / "2018-v1.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(source.replace('"accident", "disaster"', '"accident", "flood"'))
    with pytest.raises(PolicyError, match="flood"):
        DossierPolicy.from_document(read_policy(bad))


def test_proposals_expire_only_under_a_policy_that_sets_a_limit(policy):
    store = PolicyStore.for_service(ROOT / "config" / "policy", "dossiers")
    before = DossierPolicy.from_document(store.by_version("dossiers/2018-v1"))

    assert (policy.version, policy.proposal_expiry_days) == ("dossiers/2026-v2", 30)
    assert proposal_expiry(date(2026, 12, 31), before) is None


@pytest.mark.parametrize(
    ("received_at", "due"),
    [
        ("2026-11-01T23:59:59.999+08:00", True),  # 30 days waited on 1 December
        ("2026-11-02T00:00:00.000+08:00", False),  # 29 days
    ],
)
def test_an_unconfirmed_proposal_expires_on_the_policy_day_after_it_was_recorded(
    policy, received_at, due
):
    expiry = proposal_expiry(date(2026, 12, 1), policy)

    assert expiry.is_due(received_at) is due
    assert expiry.policy_version == "dossiers/2026-v2"
