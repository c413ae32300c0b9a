"""The match index of this process: built from the store on start, then following the store's
change sequence every ``REFRESH_SECONDS`` (≤ 1 s), so every replica answers from an index that
reflects a write within a second. Queries read the asking side from the store (the truth, so a
write is seen at once on the side that asks) and the candidates from the index.

Change numbers are taken before the write they mark, so writers can commit out of order: a
poll that sees seq 7 before seq 6 is committed would skip 6. So the feed remembers the gaps
below the highest number it has seen and asks for them again on each poll until they appear or
``GAP_SECONDS`` pass (a number taken by a write that never happened, or by a record written
again since under a newer number)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import date

from services.jobs.domain.index import MatchIndex
from services.jobs.domain.matching import EDUCATION_RANK, SeekerProfile, VacancyProfile
from services.jobs.domain.normalise import canonical
from services.jobs.domain.policy import JobsPolicy
from services.jobs.store import JobsStore
from shared import orgs

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
GAP_SECONDS = 10.0
BATCH = 2000


def vacancy_profile(doc: dict, policy: JobsPolicy) -> VacancyProfile:
    synonyms = policy.synonyms
    return VacancyProfile(
        id=doc["_id"],
        county=doc["county"],
        education=EDUCATION_RANK[doc["education"]],
        salary_min_fen=doc["salary_min_fen"],
        salary_max_fen=doc["salary_max_fen"],
        experience_years=doc["experience_years"],
        occupation=canonical(doc["occupation"], synonyms),
        skills=_names(doc["skills"], synonyms),
        migrant_friendly=doc["migrant_friendly"],
        open=doc["status"] == "open" and doc["open_headcount"] > 0,
        valid_until=date.fromisoformat(doc["valid_until"]).toordinal(),
        seq=doc.get("seq", 0),
        order=doc.get("order", 0),
    )


def seeker_profile(doc: dict, policy: JobsPolicy) -> SeekerProfile:
    synonyms = policy.synonyms
    active = doc["status"] == "active"
    return SeekerProfile(
        id=doc["_id"],
        county=doc["county"],
        education=EDUCATION_RANK[doc["education"]] if active else 0,
        min_salary_fen=doc.get("min_salary_fen") or 0,
        experience_years=doc.get("experience_years") or 0,
        occupation=canonical(doc.get("desired_occupation") or "", synonyms),
        skills=_names(doc.get("skills") or [], synonyms),
        willing_to_relocate=bool(doc.get("willing_to_relocate")),
        migrant_worker=bool(doc.get("migrant_worker")),
        hardship=bool(doc.get("hardship")),
        active=active,
        seq=doc.get("seq", 0),
        order=doc.get("order", 0),
    )


def _names(names: list[str], synonyms) -> tuple[str, ...]:
    return tuple(sorted({c for c in (canonical(n, synonyms) for n in names) if c}))


class _Feed:
    """One side's change feed: the highest number seen, and the gaps below it. Each poll first
    reads the side's counter (one lookup by key): with nothing new, no query runs. A number
    taken by a write that never landed keeps the counter above what was seen; the feed asks for
    it for ``GAP_SECONDS``, then waits for the counter to move again."""

    def __init__(self, changes, at, top):
        self.changes, self.at, self.top = changes, at, top
        self.high = 0
        self.gaps: dict[int, float] = {}
        self.asked_top = 0
        self.asked_since = 0.0
        self.built = False

    def pull(self) -> Iterator[list[dict]]:
        """The changed records since the last pull, in batches of the store's change order."""
        now = time.monotonic()
        if self.gaps:
            found = self.at(sorted(self.gaps))
            for doc in found:
                self.gaps.pop(doc["seq"], None)
            for seq, since in list(self.gaps.items()):
                if now - since > GAP_SECONDS:
                    del self.gaps[seq]
            if found:
                yield found
        top = self.top()
        # The first pull builds the index from everything stored: numbers missing below what
        # it finds are records written again since, not writes still in flight.
        building, self.built = not self.built, True
        if top <= self.high:
            return
        if top != self.asked_top:
            self.asked_top, self.asked_since = top, now
        elif now - self.asked_since > GAP_SECONDS:
            return
        while True:
            batch = self.changes(self.high, BATCH)
            for doc in batch:
                seq = doc["seq"]
                if not building:
                    for missing in range(self.high + 1, seq):
                        self.gaps.setdefault(missing, now)
                self.high = max(self.high, seq)
            if batch:
                yield batch
            if len(batch) < BATCH:
                return


class MatchFeed:
    """The index and the two feeds that keep it; ``refresh`` is one poll."""

    def __init__(self, store: JobsStore, policy: JobsPolicy):
        self.store = store
        self.policy = policy
        self.index = MatchIndex(sorted(orgs.tree().counties))
        self.vacancies = _Feed(
            store.vacancy_changes, store.vacancies_at, lambda: store.last_seq("vacancies")
        )
        self.seekers = _Feed(
            store.seeker_changes, store.seekers_at, lambda: store.last_seq("seekers")
        )

    def refresh(self, pause: Callable[[], None] = lambda: None) -> int:
        """One poll of both sides; ``pause`` runs between batches (the service yields to its
        other green threads there: a rebuild of 120,000 records takes seconds)."""
        changed = 0
        for batch in self.vacancies.pull():
            changed += self.index.put_vacancies(vacancy_profile(d, self.policy) for d in batch)
            pause()
        for batch in self.seekers.pull():
            changed += self.index.put_seekers(seeker_profile(d, self.policy) for d in batch)
            pause()
        return changed


def vacancies_for_seeker(feed: MatchFeed, seeker: dict, today: date, limit: int) -> list[dict]:
    profile = seeker_profile(seeker, feed.policy)
    rows = feed.index.vacancies_for(profile, feed.policy, today, limit)
    return [{"id": i, "score": s, "reasons": r} for i, s, r in rows]


def seekers_for_vacancy(feed: MatchFeed, vacancy: dict, today: date, limit: int) -> list[dict]:
    profile = vacancy_profile(vacancy, feed.policy)
    rows = feed.index.seekers_for(profile, feed.policy, today, limit)
    return [{"id": i, "score": s, "reasons": r} for i, s, r in rows]
