"""The match index: inverted postings from canonical skill and occupation names to the open
vacancies and active seekers that carry them, bucketed by county, kept in each process's
memory (see services/jobs/README.md "The match index" for why and what it costs).

A query looks up only the postings of the asking side's own names in the counties it may match
(its own, or every county for a seeker willing to relocate; for a vacancy, its county plus the
seekers willing to relocate), then runs the hard filters and the score on those candidates
alone. Nothing here touches the store: the application layer feeds it rows in the store's
change order (``seq``), and a row older than the one held is ignored, so a replayed change is
harmless."""

from __future__ import annotations

import heapq
import sys
from collections.abc import Iterable
from datetime import date

from services.jobs.domain.matching import (
    SeekerProfile,
    VacancyProfile,
    passes,
    score,
    shares_a_term,
)
from services.jobs.domain.policy import JobsPolicy

ANY_COUNTY = "*"  # the bucket of seekers willing to relocate

Key = tuple[str, str, str]  # (kind "s" skill | "o" occupation, county, name)


def _keys(county: str, occupation: str, skills: Iterable[str]) -> list[Key]:
    keys = [("s", county, skill) for skill in skills]
    if occupation:
        keys.append(("o", county, occupation))
    return keys


class MatchIndex:
    def __init__(self, counties: Iterable[str]):
        self.counties = tuple(counties)
        self.vacancies: dict[str, VacancyProfile] = {}
        self.seekers: dict[str, SeekerProfile] = {}
        self._vacancy_postings: dict[Key, set[str]] = {}
        self._seeker_postings: dict[Key, set[str]] = {}

    def __len__(self) -> int:
        return len(self.vacancies) + len(self.seekers)

    # ---- keeping it ------------------------------------------------------------------------

    def put_vacancy(self, vacancy: VacancyProfile) -> bool:
        """Hold this version of a vacancy (dropped from the postings when it no longer matches
        anyone); False when the index holds a newer one."""
        held = self.vacancies.get(vacancy.id)
        if held is not None:
            if held.seq > vacancy.seq:
                return False
            self._unpost(self._vacancy_postings, held.id, self._vacancy_keys(held))
            del self.vacancies[held.id]
        if vacancy.open:
            vacancy = _interned_vacancy(vacancy)
            self.vacancies[vacancy.id] = vacancy
            self._post(self._vacancy_postings, vacancy.id, self._vacancy_keys(vacancy))
        return True

    def put_seeker(self, seeker: SeekerProfile) -> bool:
        held = self.seekers.get(seeker.id)
        if held is not None:
            if held.seq > seeker.seq:
                return False
            self._unpost(self._seeker_postings, held.id, self._seeker_keys(held))
            del self.seekers[held.id]
        if seeker.active:
            seeker = _interned_seeker(seeker)
            self.seekers[seeker.id] = seeker
            self._post(self._seeker_postings, seeker.id, self._seeker_keys(seeker))
        return True

    @staticmethod
    def _vacancy_keys(vacancy: VacancyProfile) -> list[Key]:
        return _keys(vacancy.county, vacancy.occupation, vacancy.skills)

    @staticmethod
    def _seeker_keys(seeker: SeekerProfile) -> list[Key]:
        county = ANY_COUNTY if seeker.willing_to_relocate else seeker.county
        return _keys(county, seeker.occupation, seeker.skills)

    @staticmethod
    def _post(postings: dict[Key, set[str]], entity_id: str, keys: list[Key]) -> None:
        for key in keys:
            postings.setdefault(key, set()).add(entity_id)

    @staticmethod
    def _unpost(postings: dict[Key, set[str]], entity_id: str, keys: list[Key]) -> None:
        for key in keys:
            bucket = postings.get(key)
            if bucket is not None:
                bucket.discard(entity_id)
                if not bucket:
                    del postings[key]

    # ---- asking it -------------------------------------------------------------------------

    def vacancies_for(
        self, seeker: SeekerProfile, policy: JobsPolicy, today: date, limit: int
    ) -> list[tuple[str, float, list[str]]]:
        """The best ``limit`` vacancies for a seeker: (id, score, reasons), best first, ties by
        id."""
        counties = self.counties if seeker.willing_to_relocate else (seeker.county,)
        candidates: set[str] = set()
        for county in counties:
            for key in _keys(county, seeker.occupation, seeker.skills):
                candidates.update(self._vacancy_postings.get(key, ()))
        vacancies = self.vacancies
        ranked = []
        for vacancy_id in candidates:
            vacancy = vacancies[vacancy_id]
            if passes(seeker, vacancy, today) and shares_a_term(seeker, vacancy):
                points, reasons = score(seeker, vacancy, policy)
                ranked.append((points, vacancy_id, reasons))
        return _best(ranked, limit)

    def seekers_for(
        self, vacancy: VacancyProfile, policy: JobsPolicy, today: date, limit: int
    ) -> list[tuple[str, float, list[str]]]:
        """The best ``limit`` seekers for a vacancy: its county's and those willing to move."""
        candidates: set[str] = set()
        for county in (vacancy.county, ANY_COUNTY):
            for key in _keys(county, vacancy.occupation, vacancy.skills):
                candidates.update(self._seeker_postings.get(key, ()))
        seekers = self.seekers
        ranked = []
        for seeker_id in candidates:
            seeker = seekers[seeker_id]
            if passes(seeker, vacancy, today) and shares_a_term(seeker, vacancy):
                points, reasons = score(seeker, vacancy, policy)
                ranked.append((points, seeker_id, reasons))
        return _best(ranked, limit)


def _best(ranked: list[tuple[float, str, list[str]]], limit: int):
    best = heapq.nsmallest(limit, ranked, key=lambda row: (-row[0], row[1]))
    return [(entity_id, points, reasons) for points, entity_id, reasons in best]


def _interned(names: tuple[str, ...]) -> tuple[str, ...]:
    # A city's names are a few hundred: one string each, shared by every profile and posting.
    return tuple(sys.intern(name) for name in names)


def _interned_vacancy(v: VacancyProfile) -> VacancyProfile:
    return VacancyProfile(
        id=v.id,
        county=sys.intern(v.county),
        education=v.education,
        salary_min_fen=v.salary_min_fen,
        salary_max_fen=v.salary_max_fen,
        experience_years=v.experience_years,
        occupation=sys.intern(v.occupation),
        skills=_interned(v.skills),
        migrant_friendly=v.migrant_friendly,
        open=v.open,
        valid_until=v.valid_until,
        seq=v.seq,
    )


def _interned_seeker(s: SeekerProfile) -> SeekerProfile:
    return SeekerProfile(
        id=s.id,
        county=sys.intern(s.county),
        education=s.education,
        min_salary_fen=s.min_salary_fen,
        experience_years=s.experience_years,
        occupation=sys.intern(s.occupation),
        skills=_interned(s.skills),
        willing_to_relocate=s.willing_to_relocate,
        migrant_worker=s.migrant_worker,
        hardship=s.hardship,
        active=s.active,
        seq=s.seq,
    )
