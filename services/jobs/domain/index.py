"""The match index: each side (open vacancies, active seekers) kept in memory as bitmaps over
the order the records were registered in (Python integers, one bit per record), so a query
never looks at candidates one by one until it knows they are among the best.

A side keeps one bitmap per skill and occupation name (the postings), and one per value of
every field a filter or the score reads: county, education, salary band, number of skills asked,
years of experience, the boosts. A query then

1. takes the candidates sharing a skill or the occupation that pass the filters, as whole
   bitmaps (OR of postings, AND of the filter bitmaps: word-wise operations in C);
2. counts the skills each shares with the query by bit-sliced addition over its postings
   (``at_least[c]``: shares at least c), and splits the candidates into classes of equal score
   (shared skills, skills asked, occupation, years, boosts), each a bitmap, whose score is
   ``matching.points`` of the class;
3. takes the classes best first and the members of each in registration order (lowest bit
   first), checks each against the full filters (``matching.passes``: the last day of validity
   and the exact salary) and stops once it holds ``limit``.

So a query's cost grows with the number of classes and the width of the bitmaps (a few KB at
city scale: ANDs of microseconds), not with the number of candidates. Equal scores rank the
earlier registered first (``order``, the same in every replica). A newer version of a record
(``seq``) replaces the older; a closed or filled vacancy and an incomplete seeker leave."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import date

from services.jobs.domain.matching import (
    SeekerProfile,
    VacancyProfile,
    passes,
    points,
    score,
    shares_a_term,
)
from services.jobs.domain.policy import JobsPolicy

ANY_COUNTY = "*"  # the county bitmap of seekers willing to relocate
SALARY_BAND_FEN = 100_000  # 1,000 yuan
MAX_BAND = 100  # 100,000 yuan and above share the last band

Match = tuple[str, float, list[str]]


def _band(fen: int) -> int:
    return min(MAX_BAND, max(0, fen) // SALARY_BAND_FEN)


class _Side:
    """One side's records by order, its named bitmaps, and the values each field takes."""

    def __init__(self):
        self.by_order: dict[int, object] = {}
        self.by_id: dict[str, object] = {}
        self.bitmaps: dict[tuple, int] = {}
        self._values: dict[str, set] = {}

    def get(self, key: tuple) -> int:
        return self.bitmaps.get(key, 0)

    def remove(self, held, held_keys: list[tuple]) -> None:
        bit = 1 << held.order
        for key in held_keys:
            remaining = self.bitmaps.get(key, 0) & ~bit
            if remaining:
                self.bitmaps[key] = remaining
            elif self.bitmaps.pop(key, None) is not None and len(key) == 2:
                self._values.get(key[0], set()).discard(key[1])
        del self.by_id[held.id]
        del self.by_order[held.order]

    def add_many(self, entries: list[tuple[object, list[tuple]]]) -> None:
        """Add records (none held now): each key's bits are set in one new integer per call,
        not one per record, so building the index from the store costs linear time."""
        orders: dict[tuple, list[int]] = {}
        for profile, keys in entries:
            self.by_id[profile.id] = profile
            self.by_order[profile.order] = profile
            for key in keys:
                orders.setdefault(key, []).append(profile.order)
        for key, positions in orders.items():
            if len(positions) == 1:
                bits = 1 << positions[0]
            else:
                raw = bytearray(max(positions) // 8 + 1)
                for position in positions:
                    raw[position >> 3] |= 1 << (position & 7)
                bits = int.from_bytes(raw, "little")
            self.bitmaps[key] = self.bitmaps.get(key, 0) | bits
            if len(key) == 2:
                self._values.setdefault(key[0], set()).add(key[1])

    def any_of(self, keys: Iterable[tuple]) -> int:
        found = 0
        for key in keys:
            found |= self.bitmaps.get(key, 0)
        return found

    def values(self, field: str) -> list:
        return sorted(self._values.get(field, ()))


def _vacancy_keys(v: VacancyProfile) -> list[tuple]:
    keys = [("all",), ("county", v.county), ("edu", v.education), ("band", _band(v.salary_max_fen))]
    keys += [("size", len(v.skills)), ("exp", v.experience_years)]
    keys += [("s", skill) for skill in v.skills]
    if v.occupation:
        keys.append(("o", v.occupation))
    return keys


def _seeker_keys(s: SeekerProfile) -> list[tuple]:
    county = ANY_COUNTY if s.willing_to_relocate else s.county
    keys = [("county", county), ("edu", s.education), ("band", _band(s.min_salary_fen))]
    keys += [("exp", s.experience_years)]
    if s.hardship:
        keys.append(("hardship",))
    if s.migrant_worker:
        keys.append(("migrant",))
    keys += [("s", skill) for skill in s.skills]
    if s.occupation:
        keys.append(("o", s.occupation))
    return keys


def _at_least(base: int, postings: list[int]) -> list[int]:
    """``at_least[c]``: the members of ``base`` in at least ``c`` of ``postings``."""
    counts = [base] + [0] * len(postings)
    for posting in postings:
        if not posting:
            continue
        for c in range(len(postings), 0, -1):
            counts[c] |= counts[c - 1] & posting
    return counts


def _exactly(at_least: list[int]) -> list[int]:
    return [
        at_least[c] & ~at_least[c + 1] if c + 1 < len(at_least) else at_least[c]
        for c in range(len(at_least))
    ]


def _bits(bitmap: int) -> Iterator[int]:
    """The orders in a bitmap, lowest first."""
    while bitmap:
        low = bitmap & -bitmap
        yield low.bit_length() - 1
        bitmap ^= low


class MatchIndex:
    def __init__(self, counties: Iterable[str]):
        self.counties = tuple(counties)
        self._vacancies = _Side()
        self._seekers = _Side()

    @property
    def vacancies(self) -> dict[str, VacancyProfile]:
        return self._vacancies.by_id  # type: ignore[return-value]

    @property
    def seekers(self) -> dict[str, SeekerProfile]:
        return self._seekers.by_id  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.vacancies) + len(self.seekers)

    # ---- keeping it ------------------------------------------------------------------------

    def put_vacancy(self, vacancy: VacancyProfile) -> bool:
        """Hold this version of a vacancy while it is open; False when a newer one is held."""
        return self.put_vacancies([vacancy]) == 1

    def put_seeker(self, seeker: SeekerProfile) -> bool:
        return self.put_seekers([seeker]) == 1

    def put_vacancies(self, vacancies: Iterable[VacancyProfile]) -> int:
        """Take a batch of versions, in the store's change order; how many were newer."""
        return _put(self._vacancies, vacancies, _vacancy_keys, _interned_vacancy, "open")

    def put_seekers(self, seekers: Iterable[SeekerProfile]) -> int:
        return _put(self._seekers, seekers, _seeker_keys, _interned_seeker, "active")

    # ---- asking it -------------------------------------------------------------------------

    def vacancies_for(
        self, seeker: SeekerProfile, policy: JobsPolicy, today: date, limit: int
    ) -> list[Match]:
        """The best ``limit`` vacancies for a seeker: (id, score, reasons), best first."""
        side = self._vacancies
        if seeker.willing_to_relocate:
            where = side.get(("all",))
        else:
            where = side.get(("county", seeker.county))
        where &= side.any_of(("edu", e) for e in side.values("edu") if e <= seeker.education)
        lowest = _band(seeker.min_salary_fen)
        where &= side.any_of(("band", b) for b in side.values("band") if b >= lowest)
        postings = [side.get(("s", skill)) for skill in seeker.skills]
        occupation = side.get(("o", seeker.occupation)) if seeker.occupation else 0
        where &= occupation | side.any_of(("s", skill) for skill in seeker.skills)
        if not where:
            return []
        dimensions = [
            _shared_options(where, postings, occupation),
            [(size, side.get(("size", size))) for size in side.values("size")],
            [(True, occupation), (False, ~occupation)],
            [(asked, side.get(("exp", asked))) for asked in side.values("exp")],
        ]

        def value(shared, size, same, asked):
            if size < shared:
                return None
            return points(
                shared, size, same, seeker.experience_years, asked,
                seeker.hardship, seeker.migrant_worker, policy,
            )  # fmt: skip

        return _best(
            side, where, dimensions, value, limit, lambda v: _pair(seeker, v, policy, today)
        )

    def seekers_for(
        self, vacancy: VacancyProfile, policy: JobsPolicy, today: date, limit: int
    ) -> list[Match]:
        """The best ``limit`` seekers for a vacancy: its county's and those willing to move."""
        if not vacancy.open or vacancy.valid_until < today.toordinal():
            return []
        side = self._seekers
        where = side.get(("county", vacancy.county)) | side.get(("county", ANY_COUNTY))
        where &= side.any_of(("edu", e) for e in side.values("edu") if e >= vacancy.education)
        highest = _band(vacancy.salary_max_fen)
        where &= side.any_of(("band", b) for b in side.values("band") if b <= highest)
        postings = [side.get(("s", skill)) for skill in vacancy.skills]
        occupation = side.get(("o", vacancy.occupation)) if vacancy.occupation else 0
        where &= occupation | side.any_of(("s", skill) for skill in vacancy.skills)
        if not where:
            return []
        asked = vacancy.experience_years
        # Years at or beyond those asked score alike; below them, each year its own class.
        years = [(y, side.get(("exp", y))) for y in side.values("exp") if asked and y < asked]
        enough = side.any_of(("exp", y) for y in side.values("exp") if not asked or y >= asked)
        years.append((max(asked, 1), enough))
        hardship, migrant = side.get(("hardship",)), side.get(("migrant",))
        dimensions = [
            _shared_options(where, postings, occupation),
            [(True, occupation), (False, ~occupation)],
            years,
            [(True, hardship), (False, ~hardship)],
            [(True, migrant), (False, ~migrant)],
        ]
        skills = len(vacancy.skills)

        def value(shared, same, seeker_years, is_hardship, is_migrant):
            return points(
                shared, skills, same, seeker_years, asked, is_hardship, is_migrant, policy
            )

        return _best(
            side, where, dimensions, value, limit, lambda s: _pair(s, vacancy, policy, today)
        )


def _put(side: _Side, profiles, keys_of, interned, keep_flag: str) -> int:
    newer = 0
    added: dict[str, tuple] = {}
    for profile in profiles:
        pending = added.get(profile.id)
        held = pending[0] if pending is not None else side.by_id.get(profile.id)
        if held is not None and held.seq > profile.seq:
            continue
        newer += 1
        if pending is not None:
            del added[profile.id]
        elif held is not None:
            side.remove(held, keys_of(held))
        if getattr(profile, keep_flag):
            profile = interned(profile)
            added[profile.id] = (profile, keys_of(profile))
    side.add_many(list(added.values()))
    return newer


def _shared_options(where: int, postings: list[int], occupation: int) -> list[tuple[int, int]]:
    """(skills shared, who shares exactly that many) among ``where``; sharing none, only those
    of the same occupation."""
    exactly = _exactly(_at_least(where, postings))
    exactly[0] &= occupation
    return [(shared, members) for shared, members in enumerate(exactly) if members]


def _best(
    side: _Side,
    where: int,
    dimensions: list[list[tuple[object, int]]],
    value: Callable[..., float | None],
    limit: int,
    judge: Callable[[object], tuple[float, list[str]] | None],
) -> list[Match]:
    """The classes of candidates (one option of each dimension) by their score, best first;
    the members of equal-scored classes together, the earlier registered first; those that pass
    the full check, ``limit`` of them. A class's bitmap is computed only when its score is
    reached, so a query stops after the few best classes."""
    options = [[(p, b & where) for p, b in dimension if b & where] for dimension in dimensions]
    groups: dict[float, list[tuple]] = {}
    for combination in itertools.product(*options):
        scored = value(*(p for p, _ in combination))
        if scored is not None:
            groups.setdefault(scored, []).append(combination)
    found: list[Match] = []
    for scored in sorted(groups, reverse=True):
        members = 0
        for combination in groups[scored]:
            cls = where
            for _, bitmap in combination:
                cls &= bitmap
                if not cls:
                    break
            members |= cls
        for order in _bits(members):
            other = side.by_order[order]
            judged = judge(other)
            if judged is None:
                continue
            found.append((other.id, judged[0], judged[1]))
            if len(found) == limit:
                return found
    return found


def _pair(seeker: SeekerProfile, vacancy: VacancyProfile, policy: JobsPolicy, today: date):
    """The full check and the score of a candidate pair (None when it fails)."""
    if passes(seeker, vacancy, today) and shares_a_term(seeker, vacancy):
        return score(seeker, vacancy, policy)
    return None


def _interned(names: tuple[str, ...]) -> tuple[str, ...]:
    # A city's names are a few hundred: one string each, shared by every profile and key.
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
        order=v.order,
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
        order=s.order,
    )
