"""The student-aid part of the year replay: the same seed gives the same steps; every request
passes the published contract; and the applications the steps send, decided and ranked by the
service's own rules against the dossiers the dossiers scenario opens, give exactly the awards,
levels, paths and total the scenario expects."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from scripts.replay.city import CITY_PLATFORM, City
from scripts.replay.model import Partner, Step
from scripts.replay.scenarios import dossiers, student_aid
from services.student_aid.domain.eligibility import ParentDossier, decide_eligibility
from services.student_aid.domain.policy import StudentAidPolicy
from services.student_aid.domain.ranking import Candidate, rank_for_approval
from shared.contracts.student_aid import (
    AidApplicationRequestSchema,
    AidCampaignRequestSchema,
    AidDisbursementRequestSchema,
    AidNoticeRequestSchema,
)
from shared.policy import PolicyStore

ROOT = Path(__file__).resolve().parents[3]
SCALES = (1, 0.05, 0.01, 0.005)  # 0.005: the end-to-end tier's year
CAMPAIGN = "/api/v1/student-aid/campaigns/2018"


def fresh(scale: float, seed: int = 2018) -> tuple[list[Step], list[Step]]:
    for cached in (dossiers.plan, student_aid.award_plan, student_aid.applications):
        cached.cache_clear()
    city = City(seed)
    return list(dossiers.SCENARIO.steps(city, scale)), list(student_aid.SCENARIO.steps(city, scale))


@pytest.fixture(scope="module", params=SCALES, ids=lambda s: f"scale{s}")
def year(request):
    scale = request.param
    dossier_steps, steps = fresh(scale)
    figures = {f.name: f for f in student_aid.SCENARIO.figures(scale)}
    return scale, dossier_steps, steps, figures


def policy() -> StudentAidPolicy:
    store = PolicyStore.for_service(ROOT / "config" / "policy", "student_aid")
    return StudentAidPolicy.from_document(store.in_force_on(date(2018, 1, 1)))


def test_same_seed_same_steps_and_another_seed_another_year():
    assert fresh(0.01) == fresh(0.01)
    assert fresh(0.01, seed=7)[1] != fresh(0.01)[1]


def test_keys_unique_and_in_order(year):
    _scale, dossier_steps, steps, _figures = year
    keys = [s.key for s in steps]
    assert len(keys) == len(set(keys))
    assert not set(keys) & {s.key for s in dossier_steps}
    assert [(s.on, s.wave) for s in steps] == sorted((s.on, s.wave) for s in steps)
    (disburse,) = [s for s in steps if s.save]
    (confirm,) = [s for s in steps if s.path.endswith("/confirm")]
    assert (disburse.on, disburse.wave) < (confirm.on, confirm.wave)
    assert "{" + next(iter(disburse.save)) + "}" in confirm.path
    assert disburse.actor != confirm.actor  # a second finance user confirms


def test_bodies_pass_the_published_contract(year):
    _scale, _dossier_steps, steps, _figures = year
    schemas = {
        "/api/v1/student-aid/campaigns": AidCampaignRequestSchema(),
        "/api/v1/student-aid/applications": AidApplicationRequestSchema(),
        "/api/v1/city/student-aid-applications": AidApplicationRequestSchema(),
        f"{CAMPAIGN}/notice": AidNoticeRequestSchema(),
        f"{CAMPAIGN}/disbursements": AidDisbursementRequestSchema(),
    }
    for s in steps:
        if s.path in schemas:
            assert schemas[s.path].validate(s.body) == {}, s.key
        else:
            assert s.body is None, s.key
    portal = [s for s in steps if s.path == "/api/v1/city/student-aid-applications"]
    assert portal and all(s.actor == Partner(CITY_PLATFORM[0]) for s in portal)


def test_awards_follow_from_the_rules_and_the_dossiers(year):
    scale, dossier_steps, steps, figures = year
    rules = policy()
    (campaign,) = [s for s in steps if s.path == "/api/v1/student-aid/campaigns"]
    (approvals,) = [s for s in steps if s.path.endswith("/approvals")]
    opens = date.fromisoformat(campaign.body["opens_on"])
    closes = date.fromisoformat(campaign.body["closes_on"])
    assert (opens, closes) == rules.default_window(2018)
    # The dossiers open when the approvals run, by head: the intake's head and the confirmed tier.
    confirmed = {
        s.key.split(":")[2]: s.body["tier"] for s in dossier_steps if s.path.endswith("/confirm")
    }
    heads = {
        s.body["head_id_number"]: confirmed[s.key.split(":")[2]]
        for s in dossier_steps
        if s.path == "/api/v1/dossiers" and s.on < approvals.on
    }
    candidates, statuses, apps = [], Counter(), {}
    for received, s in enumerate(
        s for s in steps if "student-aid-applications" in s.path or s.path.endswith("/applications")
    ):
        body = AidApplicationRequestSchema().load(s.body)
        assert body["applied_on"] == s.on
        tier = heads.get(body["parent_id_number"])
        decision = decide_eligibility(
            rules,
            applied_on=body["applied_on"],
            opens_on=opens,
            closes_on=closes,
            education_level=body["education_level"],
            school_kind=body["school_kind"],
            aided_elsewhere=body["aided_elsewhere"],
            parent_dossier=ParentDossier(tier=tier, status="open") if tier else None,
            migrant_certified_by=body["migrant_hardship_certified_by"],
        )
        statuses[decision.status] += 1
        if decision.status == "eligible":
            key = str(received)
            apps[key] = body
            candidates.append(
                Candidate(key, decision.path, body["applied_on"], received, decision.amount)
            )
    ranking = rank_for_approval(candidates, int(Decimal(campaign.body["budget"]) * 100))
    awarded = [apps[c.application_id] for c in ranking.approved]
    total = Decimal(ranking.approved_total) / 100
    assert figures["student_aid.awards"].expected == len(awarded)
    assert figures["student_aid.total"].expected == f"{total:.2f}"
    assert figures["student_aid.applications"].expected == sum(statuses.values())
    assert figures["student_aid.ineligible"].expected == statuses["ineligible"]
    assert figures["student_aid.waitlisted"].expected == len(ranking.waitlisted)
    paths = Counter(c.path for c in ranking.approved)
    for path in ("national", "local", "migrant"):
        assert figures[f"student_aid.path.{path}"].expected == paths[path]
    levels = Counter(a["education_level"] for a in awarded)
    for level in student_aid.LEVEL_NAMES:
        assert figures[f"student_aid.level.{level}"].expected == levels[level]
    # The scaled source: the awards exactly; the total as near the scaled funds as the table
    # (whole thousands of yuan) reaches without passing them.
    assert len(awarded) == max(1, round(684 * scale))
    raised = Decimal(campaign.body["budget"])
    assert raised == round(2_503_200 * scale)
    assert raised - Decimal(min(rules.amount_by_level.values())) / 100 < total <= raised
    # Waitlisted only because the money ran out, never because they came from elsewhere.
    assert all(Decimal(c.amount) / 100 > raised - total for c in ranking.waitlisted)


def test_children_are_the_dossier_households_children(year):
    _scale, dossier_steps, steps, _figures = year
    children = {
        m["id_number"]: s.body["head_id_number"]
        for s in dossier_steps
        if s.path == "/api/v1/dossiers"
        for m in s.body["members"]
        if m["relation"] == "child"
    }
    apps = [s.body for s in steps if s.body and "student_id_number" in s.body]
    for body in apps:
        if body["migrant_hardship_certified_by"] is None:
            assert children[body["student_id_number"]] == body["parent_id_number"]
    assert len({b["student_id_number"] for b in apps}) == len(apps)


def test_figures_name_the_source():
    figures = {f.name: f for f in student_aid.SCENARIO.figures(1)}
    assert figures["student_aid.awards"].source == 684
    assert figures["student_aid.total"].source == "2503200.00"
    assert figures["student_aid.total"].expected == "2503000.00"
