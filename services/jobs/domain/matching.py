"""The matching rules: the hard filters a pair must pass, then a score from skill overlap,
occupation and experience plus the priority boosts, with the reasons that made it. Both
directions use the same two functions, so a seeker's top vacancies and a vacancy's top seekers
always agree on a pair."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.jobs.domain.policy import JobsPolicy
from shared.contracts.jobs import EDUCATION

EDUCATION_RANK = {level: rank for rank, level in enumerate(EDUCATION)}


@dataclass(frozen=True, slots=True)
class VacancyProfile:
    """What matching reads of a vacancy; names are canonical (services.jobs.domain.normalise)."""

    id: str
    county: str
    education: int  # rank in EDUCATION
    salary_min_fen: int
    salary_max_fen: int
    experience_years: int
    occupation: str
    skills: tuple[str, ...]  # a tuple: 120k profiles in memory, a frozenset costs 3× more
    migrant_friendly: bool
    open: bool  # status open and headcount left
    valid_until: int  # date ordinal, the last day it matches
    seq: int = 0  # the store's change sequence of the version this is
    order: int = 0  # the order it was registered in: equal scores rank the earlier first


@dataclass(frozen=True, slots=True)
class SeekerProfile:
    id: str
    county: str
    education: int
    min_salary_fen: int
    experience_years: int
    occupation: str
    skills: tuple[str, ...]
    willing_to_relocate: bool
    migrant_worker: bool
    hardship: bool  # heads an open dossier, from the dossiers read model
    active: bool  # complete (a referral's seeker matches once staff complete it)
    seq: int = 0
    order: int = 0


def passes(seeker: SeekerProfile, vacancy: VacancyProfile, today: date) -> bool:
    """The hard filters: both sides open, education at least the required one, the seeker's
    minimum salary within the vacancy's range (the seeker asks ``[min, ∞)``, so the ranges
    overlap when the minimum is at most the vacancy's maximum), same county or willing to
    relocate, and the vacancy valid on ``today`` (its ``valid_until`` day included)."""
    return (
        seeker.active
        and vacancy.open
        and vacancy.valid_until >= today.toordinal()
        and seeker.education >= vacancy.education
        and seeker.min_salary_fen <= vacancy.salary_max_fen
        and (seeker.county == vacancy.county or seeker.willing_to_relocate)
    )


def points(
    shared: int,
    asked: int,
    same_occupation: bool,
    seeker_years: int,
    asked_years: int,
    hardship: bool,
    migrant: bool,
    policy: JobsPolicy,
) -> float:
    """The score of a pair from what decides it: skills shared of those asked, the occupation,
    the seeker's years against the years asked, and the boosts. The index ranks whole classes of
    candidates by this same function, so a class and each of its members score alike."""
    total = 0.0
    if asked and shared:
        total += policy.skills_weight * shared / asked
    if same_occupation:
        total += policy.occupation_weight
    if asked_years == 0:
        total += policy.experience_weight
    elif seeker_years:
        total += policy.experience_weight * min(1.0, seeker_years / asked_years)
    if hardship:
        total += policy.hardship_boost
    if migrant:
        total += policy.migrant_boost
    return round(total, 2)


def score(
    seeker: SeekerProfile, vacancy: VacancyProfile, policy: JobsPolicy
) -> tuple[float, list[str]]:
    """Points for a pair that passed the filters, and the reasons, strongest first."""
    shared = len(set(seeker.skills).intersection(vacancy.skills)) if vacancy.skills else 0
    same_occupation = bool(seeker.occupation) and seeker.occupation == vacancy.occupation
    reasons: list[str] = []
    if shared:
        reasons.append(f"skills {shared}/{len(vacancy.skills)}")
    if same_occupation:
        reasons.append(f"occupation {vacancy.occupation}")
    if vacancy.experience_years and seeker.experience_years:
        reasons.append(f"experience {seeker.experience_years}/{vacancy.experience_years} years")
    if seeker.hardship:
        reasons.append("hardship priority")
    if seeker.migrant_worker:
        reasons.append("migrant worker priority")
    total = points(
        shared,
        len(vacancy.skills),
        same_occupation,
        seeker.experience_years,
        vacancy.experience_years,
        seeker.hardship,
        seeker.migrant_worker,
        policy,
    )
    return total, reasons


def shares_a_term(seeker: SeekerProfile, vacancy: VacancyProfile) -> bool:
    """A pair is a match only when it shares a skill or the occupation: boosts and experience
    alone never make one."""
    return not set(seeker.skills).isdisjoint(vacancy.skills) or (
        bool(seeker.occupation) and seeker.occupation == vacancy.occupation
    )
