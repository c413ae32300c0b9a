"""The employment supermarket's figures for a date range (API.md "Jobs" stats): fairs by kind,
employers, positions, seekers served, intents, hires and 90-day retention, for the city, by
county and by fair kind. Pure counting over rows the store reads; what counts (README):

- a fair, by its date; a vacancy (its headcount are the positions), by the day it was posted;
- employers: distinct employers that posted a vacancy or registered for a fair in the range;
- seekers served: distinct seekers registered, registered for a fair, or agreeing an intent in
  the range;
- intents by ``agreed_on``, hires by ``hired_on``, retained: those hires whose 90-day follow-up
  found the worker still employed.

A row counts in its county and, when it belongs to a fair (a vacancy posted for it, a
registration, an intent reached at it), in that fair's kind."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from shared.contracts.jobs import FAIR_KINDS


class _Tally:
    def __init__(self):
        self.fairs = dict.fromkeys(FAIR_KINDS, 0)
        self.employers: set[str] = set()
        self.positions = 0
        self.seekers: set[str] = set()
        self.intents = 0
        self.hires = 0
        self.retained = 0

    def view(self) -> dict:
        return {
            "fairs": dict(self.fairs),
            "employers": len(self.employers),
            "positions": self.positions,
            "seekers_served": len(self.seekers),
            "intents": self.intents,
            "hires": self.hires,
            "retained_90_days": self.retained,
        }


def figures(
    fairs: Iterable[Mapping],
    vacancies: Iterable[Mapping],
    registrations: Iterable[Mapping],
    seekers: Iterable[Mapping],
    intents_agreed: Iterable[Mapping],
    hires: Iterable[Mapping],
    fair_kinds: Mapping[str, str],
) -> dict:
    """Each row: ``county``, and ``fair_id`` where it has one (``fair_kinds`` maps every fair
    any row names to its kind); vacancies carry ``employer_id`` and ``headcount``, registrations
    ``employer_id`` or ``seeker_id``, intents and hires ``seeker_id``, hires ``retained``."""
    city = _Tally()
    by_county: dict[str, _Tally] = defaultdict(_Tally)
    by_kind: dict[str, _Tally] = defaultdict(_Tally)

    def tallies(row: Mapping) -> list[_Tally]:
        found = [city, by_county[row["county"]]]
        kind = fair_kinds.get(row.get("fair_id") or "")
        if kind is not None:
            found.append(by_kind[kind])
        return found

    for fair in fairs:
        for tally in [city, by_county[fair["county"]], by_kind[fair["kind"]]]:
            tally.fairs[fair["kind"]] += 1
    for vacancy in vacancies:
        for tally in tallies(vacancy):
            tally.employers.add(vacancy["employer_id"])
            tally.positions += vacancy["headcount"]
    for registration in registrations:
        for tally in tallies(registration):
            if registration.get("employer_id"):
                tally.employers.add(registration["employer_id"])
            if registration.get("seeker_id"):
                tally.seekers.add(registration["seeker_id"])
    for seeker in seekers:
        for tally in tallies(seeker):
            tally.seekers.add(seeker["seeker_id"])
    for intent in intents_agreed:
        for tally in tallies(intent):
            tally.intents += 1
            tally.seekers.add(intent["seeker_id"])
    for hire in hires:
        for tally in tallies(hire):
            tally.hires += 1
            tally.retained += 1 if hire.get("retained") else 0
    return {
        **city.view(),
        "by_county": {county: t.view() for county, t in sorted(by_county.items())},
        "by_fair_kind": {kind: t.view() for kind, t in sorted(by_kind.items())},
    }
