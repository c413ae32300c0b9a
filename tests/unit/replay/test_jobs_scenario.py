"""The jobs part of the year replay: the same seed gives the same steps; the figures expected at
a scale are the source's, scaled; every key is unique; steps come in (on, wave) order and only
use answers saved on an earlier (on, wave); every body passes the jobs contract; and the service's
own counting rules, run over what the steps would store, give exactly the expected figures."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest

from scripts.replay.city import City
from scripts.replay.model import Partner, Staff, scaled
from scripts.replay.scenarios import jobs
from services.jobs.domain.figures import figures as service_figures
from shared.contracts import jobs as contract

PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_:]+)\}")

SCHEMAS = [
    ("POST", re.compile(r"/api/v1/jobs/employers"), contract.EmployerRequestSchema),
    ("POST", re.compile(r"/api/v1/jobs/vacancies"), contract.VacancyRequestSchema),
    ("POST", re.compile(r"/api/v1/jobs/seekers"), contract.SeekerRequestSchema),
    ("PATCH", re.compile(r"/api/v1/jobs/seekers/[^/]+"), contract.SeekerCompletionSchema),
    ("POST", re.compile(r"/api/v1/jobs/fairs"), contract.FairRequestSchema),
    (
        "POST",
        re.compile(r"/api/v1/jobs/fairs/[^/]+/registrations"),
        contract.FairRegistrationRequestSchema,
    ),
    ("POST", re.compile(r"/api/v1/jobs/intents"), contract.IntentRequestSchema),
    ("POST", re.compile(r"/api/v1/jobs/intents/[^/]+/hire"), contract.HireRequestSchema),
    ("POST", re.compile(r"/api/v1/jobs/intents/[^/]+/follow-ups"), contract.FollowUpRequestSchema),
    ("POST", re.compile(r"/api/v1/city/referrals"), contract.ReferralSchema),
]


@pytest.fixture(scope="module")
def small():
    return list(jobs.SCENARIO.steps(City(), 0.05))


def schema_of(step):
    found = [s for m, p, s in SCHEMAS if m == step.method and p.fullmatch(step.path)]
    assert len(found) == 1, f"{step.key}: no single schema for {step.method} {step.path}"
    return found[0]


def test_same_seed_same_steps_and_another_seed_others():
    first = list(jobs.SCENARIO.steps(City(), 0.01))
    assert first == list(jobs.SCENARIO.steps(City(), 0.01))
    other = list(jobs.SCENARIO.steps(City(seed=2019), 0.01))
    assert [s.body for s in other] != [s.body for s in first]


@pytest.mark.parametrize("scale", [1, 0.05, 0.01])
def test_expected_figures_are_the_source_scaled(scale):
    figures = {f.name: f for f in jobs.SCENARIO.figures(scale)}
    assert figures["jobs.fairs"].expected == scaled(42, scale)
    assert figures["jobs.employers"].expected == scaled(2_157, scale)
    assert figures["jobs.positions"].expected == scaled(50_700, scale)
    assert figures["jobs.seekers_served"].expected == scaled(68_000, scale)
    assert figures["jobs.intents"].expected == scaled(18_360, scale)
    kinds = sum(figures[f"jobs.fairs.{k}"].expected for k in jobs.FAIR_KIND_LABELS)
    assert kinds == figures["jobs.fairs"].expected
    hires = figures["jobs.hires"].expected
    assert 0 < figures["jobs.retained_90_days"].expected <= hires < figures["jobs.intents"].expected
    assert figures["jobs.employers"].source == 2_157
    assert figures["jobs.intents"].source == "18000+"
    assert all(re.search(r"[\u4e00-\u9fff]", f.label) for f in figures.values())


def test_the_full_year_holds_42_fairs_of_three_kinds_by_30_november():
    figures = {f.name: f.expected for f in jobs.SCENARIO.figures(1)}
    assert figures["jobs.fairs"] == 42
    assert figures["jobs.fairs.monthly"] == 22
    assert figures["jobs.fairs.migrant_special"] == 10
    assert figures["jobs.fairs.campus_enterprise"] == 10
    assert all(jobs.FIGURES_FROM <= f.day <= jobs.FIGURES_TO for f in jobs.FAIRS)


def test_no_vacancy_hires_more_than_its_headcount():
    plan = jobs.plan(2018, 1)
    hires = Counter(i.vacancy for i in plan.intents if i.hired_on is not None)
    assert all(hires[v.number] <= v.headcount for v in plan.vacancies)
    assert len({plan.seeker_workers[i.seeker] for i in plan.intents}) == len(plan.intents)


def test_keys_are_unique(small):
    keys = Counter(step.key for step in small)
    assert [k for k, n in keys.items() if n > 1] == []


def test_steps_come_in_date_and_wave_order_within_2018(small):
    order = [(s.on, s.wave) for s in small]
    assert order == sorted(order)
    assert all(s.on.year == 2018 for s in small)


def test_a_placeholder_names_an_answer_saved_on_an_earlier_day_or_wave(small):
    saved_at = {}
    for step in small:
        for text in [step.path, *_strings(step.body)]:
            for name in PLACEHOLDER.findall(text):
                assert name in saved_at, f"{step.key} uses {name}, never saved before"
                assert saved_at[name] < (step.on, step.wave), f"{step.key} uses {name} too soon"
        for name in step.save:
            assert name not in saved_at, f"{name} saved twice"
            saved_at[name] = (step.on, step.wave)


def test_every_body_passes_the_jobs_contract(small):
    for step in small:
        errors = schema_of(step)().validate(step.body)
        assert errors == {}, f"{step.key}: {errors}"


def test_referrals_are_signed_by_the_city_platform_and_the_rest_by_the_desk(small):
    referrals = [s for s in small if s.path == "/api/v1/city/referrals"]
    assert referrals and all(s.actor == Partner("P0001") for s in referrals)
    assert all(isinstance(s.actor, Staff) for s in small if s not in referrals)


def test_the_services_counting_rules_over_what_the_steps_store_give_the_expected_figures(small):
    """Replays the steps into the rows the jobs service keeps (the fields its figures read, the
    dates it records: a vacancy posted for a fair by the fair's date, a seeker registered by
    staff on the day it is sent, so never in 2018) and counts them with the service's own
    ``domain.figures`` for the source's window."""
    ids: dict[str, str] = {}
    fairs, vacancies, registrations, intents = {}, {}, [], {}
    hires, retained = {}, set()

    def fill(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: ids[m.group(1)], text)

    for step in small:
        body = step.body if isinstance(step.body, dict) else {}
        body = {k: fill(v) if isinstance(v, str) else v for k, v in body.items()}
        path = fill(step.path)
        for name in step.save:
            ids[name] = step.key
        if path == "/api/v1/jobs/fairs":
            fairs[step.key] = {**body, "fair_id": step.key}
        elif path == "/api/v1/jobs/vacancies":
            vacancies[step.key] = body
        elif path.endswith("/registrations"):
            fair_id = path.split("/")[-2]
            registrations.append({**body, "fair_id": fair_id, "day": fairs[fair_id]["date"]})
        elif path == "/api/v1/jobs/intents":
            county = vacancies[body["vacancy_id"]]["county"]
            intents[step.key] = {**body, "county": county}
        elif path.endswith("/hire"):
            hires[path.split("/")[-2]] = body["hired_on"]
        elif path.endswith("/follow-ups") and body["day"] == 90 and body["still_employed"]:
            retained.add(path.split("/")[-2])

    start, end = jobs.FIGURES_FROM.isoformat(), jobs.FIGURES_TO.isoformat()
    kinds = {f: row["kind"] for f, row in fairs.items()}

    def within(day: str) -> bool:
        return start <= day <= end

    counted = service_figures(
        fairs=[f for f in fairs.values() if within(f["date"])],
        vacancies=[
            v for v in vacancies.values() if v["fair_id"] and within(fairs[v["fair_id"]]["date"])
        ],
        registrations=[
            {**r, "county": fairs[r["fair_id"]]["county"]}
            for r in registrations
            if within(r["day"])
        ],
        seekers=[],  # registered by staff on the day the replay runs, not in 2018
        intents_agreed=[i for i in intents.values() if within(i["agreed_on"])],
        hires=[
            {**intents[i], "retained": i in retained} for i, day in hires.items() if within(day)
        ],
        fair_kinds=kinds,
    )
    expected = {f.name: f.expected for f in jobs.SCENARIO.figures(0.05)}
    assert date.fromisoformat(end) == date(2018, 11, 30)
    assert jobs.SCENARIO.actual(StatsAnswer(counted, start, end)) == expected


def test_the_full_years_plan_counted_by_the_services_rules_for_the_window_gives_the_figures():
    """At scale 1 the year has what small scales lack: hires and follow-ups in December, after
    the source's window, which must not count."""
    plan = jobs.plan(2018, 1)
    start, end = jobs.FIGURES_FROM.isoformat(), jobs.FIGURES_TO.isoformat()
    fair = {f.number: f for f in plan.fairs}
    vacancy = {v.number: v for v in plan.vacancies}
    employer = {e.number: e for e in plan.employers}
    last_day = max(jobs.follow_up_days())

    def within(day: date) -> bool:
        return start <= day.isoformat() <= end

    def intent_row(i):
        v = vacancy[i.vacancy]
        return {
            "county": employer[v.employer].county,
            "fair_id": f"F{i.fair}",
            "seeker_id": i.seeker,
        }

    assert any(i.hired_on and not within(i.hired_on) for i in plan.intents)
    counted = service_figures(
        fairs=[
            {"fair_id": f"F{f.number}", "kind": f.kind, "county": f.county}
            for f in plan.fairs
            if within(f.day)
        ],
        vacancies=[
            {
                "county": employer[v.employer].county,
                "fair_id": f"F{v.fair}",
                "employer_id": v.employer,
                "headcount": v.headcount,
            }
            for v in plan.vacancies
            if within(fair[v.fair].day)
        ],
        registrations=[
            {"county": fair[f].county, "fair_id": f"F{f}", "employer_id": e.number}
            for e in plan.employers
            for f in e.fairs
            if within(fair[f].day)
        ]
        + [
            {"county": fair[f].county, "fair_id": f"F{f}", "seeker_id": s}
            for s, f in enumerate(plan.seeker_fair)
            if within(fair[f].day)
        ],
        seekers=[],
        intents_agreed=[intent_row(i) for i in plan.intents if within(i.agreed_on)],
        hires=[
            {**intent_row(i), "retained": dict(i.follow_ups).get(last_day, False)}
            for i in plan.intents
            if i.hired_on is not None and within(i.hired_on)
        ],
        fair_kinds={f"F{f.number}": f.kind for f in plan.fairs},
    )
    expected = {f.name: f.expected for f in jobs.SCENARIO.figures(1)}
    assert jobs.SCENARIO.actual(StatsAnswer(counted, start, end)) == expected


class StatsAnswer:
    """What the edge answers ``GET /api/v1/jobs/stats`` for the source's window (the scenario's
    ``actual`` reads nothing else)."""

    def __init__(self, stats: dict, start: str, end: str):
        self.stats, self.path = stats, f"/api/v1/jobs/stats?from={start}&to={end}"

    def get(self, path: str, actor=None) -> dict:
        assert path == self.path
        return contract.JobStatsSchema().load(self.stats)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
