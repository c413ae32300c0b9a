"""The dossiers part of the year replay: the same seed gives the same steps; every request
passes the published contract; and what the steps send gives, by the policy, the figures the
scenario expects (tiers as the service's own rules propose them, the condolence batch as the
policy's table pays it, the grants as staff set them)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from scripts.replay.city import City
from scripts.replay.model import Step
from scripts.replay.scenarios import dossiers, student_aid
from services.dossiers.application.dossiers import household_of_request
from services.dossiers.domain.policy import DossierPolicy
from services.dossiers.domain.tiers import propose_tier
from shared.contracts.dossiers import (
    CondolenceBatchRequestSchema,
    ConfirmSchema,
    DossierRequestSchema,
    FundRequestSchema,
    GrantRequestSchema,
)
from shared.policy import PolicyStore

ROOT = Path(__file__).resolve().parents[3]
SCALES = (1, 0.05, 0.01, 0.005)  # 0.005: the end-to-end tier's year
PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)\}")


def fresh_steps(scale: float, seed: int = 2018) -> list[Step]:
    for cached in (dossiers.plan, student_aid.award_plan, student_aid.applications):
        cached.cache_clear()
    return list(dossiers.SCENARIO.steps(City(seed), scale))


@pytest.fixture(scope="module", params=SCALES, ids=lambda s: f"scale{s}")
def year(request) -> tuple[float, list[Step], dict]:
    scale = request.param
    steps = fresh_steps(scale)
    figures = {f.name: f for f in dossiers.SCENARIO.figures(scale)}
    return scale, steps, figures


def yuan(text: str) -> Decimal:
    return Decimal(text)


def service_policy(day: date) -> DossierPolicy:
    store = PolicyStore.for_service(ROOT / "config" / "policy", "dossiers")
    return DossierPolicy.from_document(store.in_force_on(day))


def test_same_seed_same_steps_and_another_seed_another_year():
    assert fresh_steps(0.01) == fresh_steps(0.01)
    assert fresh_steps(0.01, seed=7) != fresh_steps(0.01)
    # The command line gives a float: 1 and 1.0 are the same year, whichever is drawn first.
    assert fresh_steps(1) == fresh_steps(1.0)


def test_keys_unique_steps_in_order_and_placeholders_saved_earlier(year):
    _scale, steps, _figures = year
    keys = [s.key for s in steps]
    assert len(keys) == len(set(keys))
    assert all(k.startswith("dossiers:") for k in keys)
    assert [(s.on, s.wave) for s in steps] == sorted((s.on, s.wave) for s in steps)
    saved_at: dict[str, tuple] = {}
    for s in steps:
        for text in [s.path, *(v for v in (s.body or {}).values() if isinstance(v, str))]:
            for name in PLACEHOLDER.findall(text):
                assert name in saved_at, f"{s.key} names {name} before it is saved"
                assert saved_at[name] < (s.on, s.wave), f"{s.key}: {name} saved in the same wave"
        for name in s.save:
            assert name not in saved_at
            saved_at[name] = (s.on, s.wave)
    assert all(s.on.year == 2018 for s in steps)


def test_bodies_pass_the_published_contract(year):
    _scale, steps, _figures = year
    schemas = {
        "/api/v1/dossiers": DossierRequestSchema(),
        "/api/v1/assistance": GrantRequestSchema(),
        "/api/v1/assistance-funds": FundRequestSchema(),
        "/api/v1/condolence-batches": CondolenceBatchRequestSchema(),
    }
    for s in steps:
        schema = ConfirmSchema() if s.path.endswith("/confirm") else schemas[s.path]
        assert schema.validate(s.body) == {}, s.key


def test_each_household_gets_the_tier_the_service_rules_propose(year):
    _scale, steps, _figures = year
    intakes = {s.key.split(":")[2]: s for s in steps if s.path == "/api/v1/dossiers"}
    confirms = {s.key.split(":")[2]: s for s in steps if s.path.endswith("/confirm")}
    assert intakes.keys() == confirms.keys()
    for number, s in intakes.items():
        data = DossierRequestSchema().load(s.body)
        household = household_of_request(data)
        proposal = propose_tier(household, service_policy(s.on), s.on.year)
        assert proposal.tier == confirms[number].body["tier"], (s.key, proposal.trace)
        assert confirms[number].on == s.on and confirms[number].wave > s.wave
        assert data["intake_date"] == s.on


def test_member_id_numbers_are_unique_across_the_year(year):
    _scale, steps, _figures = year
    ids = [m["id_number"] for s in steps if s.path == "/api/v1/dossiers" for m in s.body["members"]]
    assert len(ids) == len(set(ids))


def test_tier_counts_follow_from_the_confirmations(year):
    _scale, steps, figures = year
    tiers = Counter(s.body["tier"] for s in steps if s.path.endswith("/confirm"))
    assert figures["dossiers.open"].expected == sum(tiers.values())
    for tier in ("national", "local", "grassroots"):
        assert figures[f"dossiers.{tier}"].expected == tiers[tier]


def test_condolence_batch_reaches_the_scaled_households_and_total_by_the_policy(year):
    scale, steps, figures = year
    (batch,) = [s for s in steps if s.path == "/api/v1/condolence-batches"]
    # The batch pays every open dossier: those confirmed before it, by the table in force on
    # 1 January of the festival's year.
    table = service_policy(date(2018, 1, 1)).condolence
    open_then = [
        s for s in steps if s.path.endswith("/confirm") and (s.on, s.wave) < (batch.on, batch.wave)
    ]
    batch_fen = sum(table[s.body["tier"]] for s in open_then)
    supplements = [
        s for s in steps if s.path == "/api/v1/assistance" and s.body["fund"] == batch.body["fund"]
    ]
    assert all(s.body["type"] == "condolence" and s.on == batch.on for s in supplements)
    assert all(yuan(s.body["amount"]) * 100 < min(table.values()) for s in supplements)
    total = Decimal(batch_fen) / 100 + sum(yuan(s.body["amount"]) for s in supplements)
    assert figures["dossiers.condolence_households"].expected == len(open_then)
    assert figures["dossiers.condolence_total"].expected == f"{total:.2f}"
    # The scaled source figures themselves, exactly, at the scales CI and the full year run.
    assert len(open_then) == max(1, round(174 * scale))
    assert total == round(519_400 * scale)
    (fund,) = [
        s
        for s in steps
        if s.path == "/api/v1/assistance-funds" and s.body["fund"] == batch.body["fund"]
    ]
    assert yuan(fund.body["budget"]) >= total


def test_assistance_grants_reach_the_scaled_households_and_total(year):
    scale, steps, figures = year
    opened = {s.save and next(iter(s.save)): s.on for s in steps if s.path == "/api/v1/dossiers"}
    grants = [
        s
        for s in steps
        if s.path == "/api/v1/assistance" and s.body["fund"] == dossiers.ASSISTANCE_FUND
    ]
    households = {PLACEHOLDER.fullmatch(s.body["dossier_id"]).group(1) for s in grants}
    total = sum(yuan(s.body["amount"]) for s in grants)
    assert (
        figures["dossiers.assisted_households"].expected
        == len(households)
        == max(1, round(629 * scale))
    )
    assert figures["dossiers.assistance_total"].expected == f"{total:.2f}"
    assert figures["dossiers.assistance_fund_spent"].expected == f"{total:.2f}"
    assert total == round(943_000 * scale)
    for s in grants:
        name = PLACEHOLDER.fullmatch(s.body["dossier_id"]).group(1)
        assert opened[name] < s.on <= date(2018, 11, 30)
        assert s.body["granted_on"] == s.on.isoformat()
        assert dossiers.GRANT_MIN <= yuan(s.body["amount"]) <= dossiers.GRANT_MAX
    (fund,) = [
        s
        for s in steps
        if s.path == "/api/v1/assistance-funds" and s.body["fund"] == dossiers.ASSISTANCE_FUND
    ]
    assert yuan(fund.body["budget"]) >= total
    assert fund.on < min(s.on for s in grants)


def test_figures_name_the_source_where_the_document_states_one():
    figures = {f.name: f for f in dossiers.SCENARIO.figures(1)}
    assert figures["dossiers.assisted_households"].source == 629
    assert figures["dossiers.assistance_total"].source == "943000.00"
    assert figures["dossiers.condolence_households"].source == 174
    assert figures["dossiers.condolence_total"].source == "519400.00"
    assert "400" in figures["dossiers.condolence_total"].how  # the staff-set part is said
