"""Intents to hires: a seeker and an employer agree (an intent), the intent ends in a hire that
takes one open place of the vacancy (the last one closes it), and the hire's follow-ups fall
due on days 30 and 90. A hired seeker who heads an open dossier is told to dossiers."""

from __future__ import annotations

from datetime import date, timedelta

from services.jobs.application.dossier_heads import hardship_of
from services.jobs.application.registry import new_id, visible_seeker, visible_vacancy
from services.jobs.application.scope import asked_counties, sees
from services.jobs.domain.errors import SeekerIncomplete, VacancyFilled, VacancyNotOpen
from services.jobs.domain.policy import SERVICE, JobsPolicy
from services.jobs.store import Duplicate, JobsStore, now_text
from shared.auth import StaffPrincipal
from shared.errors import ApiError, not_found
from shared.events import Event, make_event


def record_intent(
    store: JobsStore,
    staff: StaffPrincipal,
    data: dict,
    agreed_on: date,
    correlation_id: str,
) -> str:
    seeker = visible_seeker(store, staff, data["seeker_id"])
    vacancy = visible_vacancy(store, staff, data["vacancy_id"])
    if seeker["status"] != "active":
        raise SeekerIncomplete(f"seeker {seeker['_id']} is incomplete: complete the profile first")
    if vacancy["status"] != "open" or vacancy["open_headcount"] < 1:
        raise VacancyNotOpen(f"vacancy {vacancy['_id']} is {vacancy['status']}")
    if date.fromisoformat(vacancy["valid_until"]) < agreed_on:
        raise VacancyNotOpen(f"vacancy {vacancy['_id']} was valid until {vacancy['valid_until']}")
    if data["fair_id"] is not None and store.fair(data["fair_id"]) is None:
        raise ApiError(400, "validation_error", "no such fair", {"fair_id": ["no such fair"]})
    intent_id = new_id("I")
    event = make_event(
        "intent_recorded",
        {
            "intent_id": intent_id,
            "seeker_id": seeker["_id"],
            "id_hash": seeker["id_hash"],
            "vacancy_id": vacancy["_id"],
            "county": seeker["county"],
            "agreed_on": agreed_on.isoformat(),
        },
        producer=SERVICE,
        correlation_id=correlation_id,
    )
    intent = {
        "_id": intent_id,
        "seeker_id": seeker["_id"],
        "id_hash": seeker["id_hash"],
        "seeker_county": seeker["county"],
        "vacancy_id": vacancy["_id"],
        "employer_id": vacancy["employer_id"],
        "county": vacancy["county"],
        "fair_id": data["fair_id"] or vacancy.get("fair_id"),
        "agreed_on": agreed_on.isoformat(),
        "status": "intent",
        "recorded_by": staff.sub,
    }
    try:
        store.add_intent(intent, [event])
    except Duplicate as dup:
        raise ApiError(
            409,
            "conflict",
            f"the seeker has intent {dup.existing_id} for this vacancy already",
            {"vacancy_id": [f"intent {dup.existing_id} exists"]},
        ) from None
    return intent_id


def visible_intent(store: JobsStore, staff: StaffPrincipal, intent_id: str) -> dict:
    intent = store.intent(intent_id)
    if intent is None or not (
        sees(staff, intent["county"]) or sees(staff, intent["seeker_county"])
    ):
        raise not_found("intent")
    return intent


def hire(
    store: JobsStore,
    policy: JobsPolicy,
    staff: StaffPrincipal,
    intent_id: str,
    hired_on: date,
    today: date,
    correlation_id: str,
) -> dict:
    """Take a place of the vacancy for the intent (one guarded write: two hires racing for the
    last place, exactly one wins; the other is 409 ``vacancy_filled``), close the vacancy when
    it was the last, then mark the intent hired with its follow-ups and events. A retry after a
    failure between the two writes finds the place taken by this intent and completes."""
    intent = visible_intent(store, staff, intent_id)
    if intent["status"] == "hired":
        return intent
    if date.fromisoformat(intent["agreed_on"]) > hired_on:
        raise ApiError(
            422,
            "rule_violation",
            "hired before the intent was agreed",
            {"hired_on": [f"must not be before agreed_on ({intent['agreed_on']})"]},
        )
    taken = store.take_place(intent["vacancy_id"], intent_id, hired_on.isoformat())
    if taken is None:
        vacancy = store.vacancy(intent["vacancy_id"])
        if vacancy is None or intent_id not in (vacancy.get("hires") or {}):
            raise VacancyFilled(intent["vacancy_id"])
    store.close_if_filled(intent["vacancy_id"])
    follow_ups = {
        str(day): {"due_on": (hired_on + timedelta(days=day)).isoformat()}
        for day in policy.follow_up_days
    }
    store.mark_hired(
        intent_id,
        hired_on.isoformat(),
        follow_ups,
        hire_events(store, intent, hired_on, correlation_id),
    )
    hired = store.intent(intent_id)
    # A hire recorded late (a past year replayed) has follow-ups due already: announce them now
    # rather than at the next pass of the timer.
    for day in policy.follow_up_days:
        if follow_ups[str(day)]["due_on"] <= today.isoformat():
            announce_follow_up(store, hired, day, correlation_id)
    return hired


def hire_events(store: JobsStore, intent: dict, hired_on: date, correlation_id: str) -> list[Event]:
    events = [
        make_event(
            "seeker_hired",
            {
                "intent_id": intent["_id"],
                "seeker_id": intent["seeker_id"],
                "id_hash": intent["id_hash"],
                "vacancy_id": intent["vacancy_id"],
                "county": intent["seeker_county"],
                "hired_on": hired_on.isoformat(),
            },
            producer=SERVICE,
            correlation_id=correlation_id,
        )
    ]
    dossier = hardship_of(store, intent["id_hash"])
    if dossier is not None:
        events.append(
            make_event(
                "dossier_holder_hired",
                {
                    "intent_id": intent["_id"],
                    "dossier_id": dossier["_id"],
                    "head_id_hash": intent["id_hash"],
                    "hired_on": hired_on.isoformat(),
                    "county": dossier["county"],
                },
                producer=SERVICE,
                correlation_id=correlation_id,
            )
        )
    return events


def record_follow_up(store: JobsStore, staff: StaffPrincipal, intent_id: str, data: dict) -> dict:
    intent = visible_intent(store, staff, intent_id)
    if intent["status"] != "hired":
        raise ApiError(
            409,
            "conflict",
            f"intent {intent_id} is not a hire",
            {"day": ["the intent is not hired"]},
        )
    record = {
        "still_employed": data["still_employed"],
        "note": data["note"],
        "recorded_by": staff.sub,
        "recorded_at": now_text(),
    }
    if not store.record_follow_up(intent_id, data["day"], record):
        raise ApiError(
            409,
            "conflict",
            f"the day-{data['day']} follow-up is recorded already",
            {"day": ["recorded already"]},
        )
    return {"intent_id": intent_id, "day": data["day"], "still_employed": data["still_employed"]}


def due_follow_ups(
    store: JobsStore,
    policy: JobsPolicy,
    staff: StaffPrincipal,
    county: str | None,
    due_before: date | None,
) -> list[dict]:
    """Follow-ups not yet recorded, due before ``due_before`` (that day excluded), per county,
    earliest first."""
    counties = asked_counties(staff, county)
    if not counties:
        return []
    before = due_before.isoformat() if due_before else None
    tasks = []
    for day in policy.follow_up_days:
        for intent in store.due_follow_ups(day, before, counties):
            tasks.append(
                {
                    "intent_id": intent["_id"],
                    "seeker_id": intent["seeker_id"],
                    "vacancy_id": intent["vacancy_id"],
                    "county": intent["county"],
                    "day": day,
                    "due_on": date.fromisoformat(intent["follow_ups"][str(day)]["due_on"]),
                    "hired_on": date.fromisoformat(intent["hired_on"]),
                }
            )
    tasks.sort(key=lambda t: (t["due_on"], t["intent_id"], t["day"]))
    return tasks


def announce_due_follow_ups(
    store: JobsStore, policy: JobsPolicy, today: date, correlation_id: str, limit: int = 200
) -> int:
    """The ``follow_up_due`` event of every follow-up that fell due by ``today``, once each
    (the mark and the event are one guarded write)."""
    sent = 0
    for day in policy.follow_up_days:
        for intent in store.unnotified_follow_ups(day, today.isoformat(), limit):
            sent += announce_follow_up(store, intent, day, correlation_id)
    return sent


def announce_follow_up(store: JobsStore, intent: dict, day: int, correlation_id: str) -> bool:
    event = make_event(
        "follow_up_due",
        {
            "intent_id": intent["_id"],
            "seeker_id": intent["seeker_id"],
            "id_hash": intent["id_hash"],
            "county": intent["seeker_county"],
            "day": day,
            "due_on": intent["follow_ups"][str(day)]["due_on"],
        },
        producer=SERVICE,
        correlation_id=correlation_id,
    )
    return store.notify_follow_up(intent["_id"], day, event)
