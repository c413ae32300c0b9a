"""The figures of a date range, read from the store and counted by the rules (domain/figures)."""

from __future__ import annotations

from datetime import date

from services.jobs.application.scope import counties_of
from services.jobs.domain.figures import figures
from services.jobs.store import JobsStore
from shared.auth import StaffPrincipal


def stats(store: JobsStore, staff: StaffPrincipal, start: date, end: date) -> dict:
    """The range's figures over the counties the caller sees (the city's for city staff)."""
    a, b = start.isoformat(), end.isoformat()
    mine = set(counties_of(staff))

    def scoped(rows):
        return [r for r in rows if r.get("county") in mine]

    fairs = [{**f, "fair_id": f["_id"]} for f in scoped(store.fairs_between(a, b))]
    vacancies = scoped(store.vacancies_posted(a, b))
    registrations = scoped(store.registrations_between(a, b))
    seekers = [{**s, "seeker_id": s["_id"]} for s in scoped(store.seekers_registered(a, b))]
    intents = scoped(store.intents_agreed(a, b))
    hires = [
        {**h, "retained": bool(((h.get("follow_ups") or {}).get("90") or {}).get("still_employed"))}
        for h in scoped(store.hires_between(a, b))
    ]
    named = {
        r["fair_id"]
        for rows in (vacancies, registrations, intents, hires)
        for r in rows
        if r.get("fair_id")
    }
    kinds = store.fair_kinds(sorted(named))
    return figures(fairs, vacancies, registrations, seekers, intents, hires, kinds)
