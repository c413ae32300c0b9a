"""The hard filters at each boundary, and the score with its reasons (policy jobs/2018-v1:
skills 60, occupation 25, experience 15; hardship +20, migrant +10)."""

from datetime import date, timedelta

import pytest

from services.jobs.domain.matching import EDUCATION_RANK, passes, score, shares_a_term
from tests.unit.jobs.profiles import POLICY, TODAY, seeker, vacancy

EDU = EDUCATION_RANK


@pytest.mark.parametrize(
    ("seeker_changes", "vacancy_changes", "expected"),
    [
        # education: at least the required level
        ({"education": EDU["senior_high"]}, {"education": EDU["senior_high"]}, True),
        ({"education": EDU["junior_high"]}, {"education": EDU["senior_high"]}, False),
        ({"education": EDU["postgraduate"]}, {"education": EDU["senior_high"]}, True),
        ({"education": EDU["none"]}, {"education": EDU["none"]}, True),
        # salary: the seeker's minimum at most the vacancy's maximum
        ({"min_salary_fen": 450_000}, {}, True),
        ({"min_salary_fen": 450_001}, {}, False),
        ({"min_salary_fen": 0}, {}, True),
        ({"min_salary_fen": 299_999}, {}, True),  # below the range's minimum: still overlaps
        # county: the same, or willing to relocate
        ({"county": "LY-SH"}, {}, False),
        ({"county": "LY-SH", "willing_to_relocate": True}, {}, True),
        # the vacancy open (places left) and valid until today included
        ({}, {"open": False}, False),
        ({}, {"valid_until": TODAY.toordinal()}, True),
        ({}, {"valid_until": (TODAY - timedelta(days=1)).toordinal()}, False),
        # an incomplete seeker (a referral not yet completed) does not match
        ({"active": False}, {}, False),
    ],
)
def test_hard_filters_at_each_boundary(seeker_changes, vacancy_changes, expected):
    assert passes(seeker(**seeker_changes), vacancy(**vacancy_changes), TODAY) is expected


@pytest.mark.parametrize(
    ("seeker_changes", "vacancy_changes", "points", "reasons"),
    [
        # 3 of 4 skills: 45; occupation 25; experience 2/2: 15
        ({}, {}, 85.0, ["skills 3/4", "occupation 电焊工", "experience 2/2 years"]),
        # every skill
        (
            {"skills": ("焊接", "识图", "气割", "安全生产")},
            {},
            100.0,
            ["skills 4/4", "occupation 电焊工", "experience 2/2 years"],
        ),
        # no skill shared, occupation only
        ({"skills": ("厨艺",)}, {}, 40.0, ["occupation 电焊工", "experience 2/2 years"]),
        # experience below the asked years: in proportion
        (
            {"experience_years": 1},
            {},
            77.5,
            ["skills 3/4", "occupation 电焊工", "experience 1/2 years"],
        ),
        ({"experience_years": 0}, {}, 70.0, ["skills 3/4", "occupation 电焊工"]),
        # more than asked counts as met, not more
        (
            {"experience_years": 9},
            {},
            85.0,
            ["skills 3/4", "occupation 电焊工", "experience 9/2 years"],
        ),
        # none asked: all of it, no reason needed
        (
            {"experience_years": 0},
            {"experience_years": 0},
            85.0,
            ["skills 3/4", "occupation 电焊工"],
        ),
        # a vacancy listing no skill: no skill points
        ({}, {"skills": ()}, 40.0, ["occupation 电焊工", "experience 2/2 years"]),
        # another occupation
        ({"occupation": "叉车司机"}, {}, 60.0, ["skills 3/4", "experience 2/2 years"]),
        # the boosts
        (
            {"hardship": True},
            {},
            105.0,
            ["skills 3/4", "occupation 电焊工", "experience 2/2 years", "hardship priority"],
        ),
        (
            {"migrant_worker": True},
            {},
            95.0,
            ["skills 3/4", "occupation 电焊工", "experience 2/2 years", "migrant worker priority"],
        ),
        (
            {"hardship": True, "migrant_worker": True},
            {},
            115.0,
            [
                "skills 3/4",
                "occupation 电焊工",
                "experience 2/2 years",
                "hardship priority",
                "migrant worker priority",
            ],
        ),
    ],
)
def test_score_and_reasons(seeker_changes, vacancy_changes, points, reasons):
    assert score(seeker(**seeker_changes), vacancy(**vacancy_changes), POLICY) == (points, reasons)


def test_skills_are_a_third_of_a_point_apart_rounded_to_cents():
    three_skills = vacancy(skills=("焊接", "识图", "气割"))
    assert (
        score(seeker(skills=("焊接",), occupation="", experience_years=2), three_skills, POLICY)[0]
        == 35.0
    )


@pytest.mark.parametrize(
    ("seeker_changes", "vacancy_changes", "expected"),
    [
        ({}, {}, True),
        ({"skills": ()}, {}, True),  # the occupation alone
        ({"occupation": ""}, {}, True),  # a skill alone
        ({"skills": (), "occupation": "厨师"}, {}, False),
        ({"skills": (), "occupation": ""}, {"occupation": ""}, False),  # two blanks never meet
        ({"skills": (), "occupation": "", "hardship": True}, {}, False),  # a boost alone: no
    ],
)
def test_a_match_shares_a_skill_or_the_occupation(seeker_changes, vacancy_changes, expected):
    assert shares_a_term(seeker(**seeker_changes), vacancy(**vacancy_changes)) is expected


def test_today_matters_only_through_valid_until():
    assert passes(seeker(), vacancy(), date(2018, 12, 31))
    assert not passes(seeker(), vacancy(), date(2019, 1, 1))
