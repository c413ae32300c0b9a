"""The real jobs policy and profile builders for the matching tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from services.jobs.domain.matching import EDUCATION_RANK, SeekerProfile, VacancyProfile
from services.jobs.domain.policy import JobsPolicy
from shared.policy import PolicyStore

POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policy" / "jobs"
POLICY = JobsPolicy.from_document(PolicyStore(POLICY_DIR).by_version("jobs/2018-v1"))
TODAY = date(2018, 6, 1)

VACANCY = VacancyProfile(
    id="V1",
    county="LY-XL",
    education=EDUCATION_RANK["senior_high"],
    salary_min_fen=300_000,
    salary_max_fen=450_000,
    experience_years=2,
    occupation="电焊工",
    skills=("焊接", "识图", "气割", "安全生产"),
    migrant_friendly=True,
    open=True,
    valid_until=date(2018, 12, 31).toordinal(),
)
SEEKER = SeekerProfile(
    id="S1",
    county="LY-XL",
    education=EDUCATION_RANK["senior_high"],
    min_salary_fen=300_000,
    experience_years=2,
    occupation="电焊工",
    skills=("焊接", "识图", "气割"),
    willing_to_relocate=False,
    migrant_worker=False,
    hardship=False,
    active=True,
)


def vacancy(**changes) -> VacancyProfile:
    return replace(VACANCY, **changes)


def seeker(**changes) -> SeekerProfile:
    return replace(SEEKER, **changes)
