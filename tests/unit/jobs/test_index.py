"""The match index: the same answers as the rules applied to every candidate (ties: the earlier
registered first), following newer versions only."""

import random
from dataclasses import replace

import pytest

from services.jobs.domain.index import MatchIndex
from services.jobs.domain.matching import passes, score, shares_a_term
from shared import orgs
from tests.unit.jobs.profiles import POLICY, TODAY, seeker, vacancy

COUNTIES = sorted(orgs.tree().counties)
SKILLS = ["焊接", "识图", "气割", "安全生产", "叉车驾驶", "电工", "厨艺", "收银"]
OCCUPATIONS = ["电焊工", "叉车司机", "电工", "厨师", "收银员"]


def build(n_vacancies=300, n_seekers=300, seed=7):
    rnd = random.Random(seed)
    index = MatchIndex(COUNTIES)
    vacancies, seekers = [], []
    for n in range(n_vacancies):
        v = vacancy(
            id=f"V{n:04d}",
            county=rnd.choice(COUNTIES),
            education=rnd.randrange(7),
            salary_max_fen=rnd.randrange(200_000, 800_000, 25_000) + rnd.choice((0, 0, 1, -1)),
            experience_years=rnd.randrange(4),
            occupation=rnd.choice(OCCUPATIONS),
            skills=tuple(sorted(rnd.sample(SKILLS, rnd.randrange(0, 4)))),
            open=rnd.random() > 0.1,
            valid_until=TODAY.toordinal() + rnd.randrange(-5, 30),
            order=n + 1,
        )
        vacancies.append(v)
        index.put_vacancy(v)
    for n in range(n_seekers):
        s = seeker(
            id=f"S{n:04d}",
            county=rnd.choice(COUNTIES),
            education=rnd.randrange(7),
            min_salary_fen=rnd.randrange(100_000, 700_000, 25_000) + rnd.choice((0, 0, 1, -1)),
            experience_years=rnd.randrange(5),
            occupation=rnd.choice(OCCUPATIONS),
            skills=tuple(sorted(rnd.sample(SKILLS, rnd.randrange(0, 4)))),
            willing_to_relocate=rnd.random() < 0.2,
            migrant_worker=rnd.random() < 0.3,
            hardship=rnd.random() < 0.1,
            active=rnd.random() > 0.05,
            order=n + 1,
        )
        seekers.append(s)
        index.put_seeker(s)
    return index, vacancies, seekers


def brute(query_side, others, limit, seeker_asks):
    ranked = []
    for other in others:
        s, v = (query_side, other) if seeker_asks else (other, query_side)
        if passes(s, v, TODAY) and shares_a_term(s, v):
            points, reasons = score(s, v, POLICY)
            ranked.append((-points, other.order, other.id, reasons))
    ranked.sort()
    return [(i, -p, r) for p, _, i, r in ranked[:limit]]


@pytest.mark.parametrize("seed", [7, 11, 13])
def test_vacancies_for_a_seeker_are_the_best_of_all_by_the_rules(seed):
    index, vacancies, seekers = build(seed=seed)
    rnd = random.Random(seed)
    for s in seekers:
        limit = rnd.choice((1, 5, 20, 100))
        assert index.vacancies_for(s, POLICY, TODAY, limit) == brute(s, vacancies, limit, True)


@pytest.mark.parametrize("seed", [7, 11, 13])
def test_seekers_for_a_vacancy_are_the_best_of_all_by_the_rules(seed):
    index, vacancies, seekers = build(seed=seed)
    rnd = random.Random(seed)
    for v in vacancies:
        limit = rnd.choice((1, 5, 20, 100))
        assert index.seekers_for(v, POLICY, TODAY, limit) == brute(v, seekers, limit, False)


def test_a_query_looks_only_at_candidates_sharing_a_name_in_its_counties():
    index, _, _ = build()
    lonely = seeker(id="Sx", skills=("养蜂",), occupation="养蜂人")
    assert index.vacancies_for(lonely, POLICY, TODAY, 20) == []


def test_a_newer_version_replaces_the_old_and_an_older_one_is_ignored():
    index = MatchIndex(COUNTIES)
    v1 = vacancy(id="V1", seq=5, order=1)
    assert index.put_vacancy(v1)
    s = seeker(id="S1")
    assert [r[0] for r in index.vacancies_for(s, POLICY, TODAY, 20)] == ["V1"]
    # Filled (seq 6): it leaves the postings.
    assert index.put_vacancy(replace(v1, open=False, seq=6))
    assert index.vacancies_for(s, POLICY, TODAY, 20) == []
    # A late copy of seq 5 changes nothing... when the newer one is held.
    index.put_vacancy(replace(v1, seq=7, skills=("叉车驾驶",), occupation="叉车司机"))
    assert not index.put_vacancy(v1)
    assert index.vacancies_for(s, POLICY, TODAY, 20) == []


def test_a_seeker_who_relocates_is_found_from_every_county():
    index = MatchIndex(COUNTIES)
    index.put_seeker(seeker(id="S1", county="LY-SH", willing_to_relocate=True, order=1))
    index.put_seeker(seeker(id="S2", county="LY-SH", order=2))
    found = index.seekers_for(vacancy(county="LY-XL"), POLICY, TODAY, 20)
    assert [r[0] for r in found] == ["S1"]


def test_hardship_gained_and_lost_moves_the_seeker():
    index = MatchIndex(COUNTIES)
    index.put_seeker(seeker(id="S1", seq=1, order=1))
    index.put_seeker(seeker(id="S2", seq=1, order=2))
    index.put_seeker(seeker(id="S2", hardship=True, seq=2, order=2))
    ranked = index.seekers_for(vacancy(), POLICY, TODAY, 20)
    assert [(i, "hardship priority" in r) for i, _, r in ranked] == [("S2", True), ("S1", False)]
    index.put_seeker(seeker(id="S2", hardship=False, seq=3, order=2))
    ranked = index.seekers_for(vacancy(), POLICY, TODAY, 20)
    assert [i for i, _, _ in ranked] == ["S1", "S2"]  # equal scores: the earlier registered
    assert all("hardship priority" not in r for _, _, r in ranked)
