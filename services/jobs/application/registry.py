"""Registering the job market's parties: employers, vacancies, seekers (from staff, completed
after a referral), fairs and who registers for them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from services.jobs.application.dossier_heads import hardship_of
from services.jobs.application.scope import asked_counties, sees
from services.jobs.domain.policy import SERVICE
from services.jobs.store import Duplicate, JobsStore
from shared.auth import StaffPrincipal
from shared.errors import ApiError, not_found
from shared.events import make_event, today_shanghai

MAX_LISTED = 500


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:16]}"


def forbidden_county(county: str) -> ApiError:
    return ApiError(
        403,
        "forbidden",
        f"{county} is outside your org scope",
        {"county": ["outside your org scope"]},
    )


# ---- employers -------------------------------------------------------------------------------


def register_employer(store: JobsStore, staff: StaffPrincipal, data: dict) -> str:
    if not sees(staff, data["county"]):
        raise forbidden_county(data["county"])
    employer_id = new_id("E")
    try:
        store.add_employer({"_id": employer_id, **data, "created_by": staff.sub})
    except Duplicate as dup:
        raise ApiError(
            409,
            "duplicate_employer",
            f"credit code {data['credit_code']} is registered as employer {dup.existing_id}",
            {"credit_code": ["registered already"]},
            {"employer_id": dup.existing_id},
        ) from None
    return employer_id


def employer_view(employer: dict) -> dict:
    return {
        "employer_id": employer["_id"],
        **{k: employer[k] for k in ("credit_code", "name", "county", "industry")},
    }


def visible_employer(store: JobsStore, staff: StaffPrincipal, employer_id: str) -> dict:
    employer = store.employer(employer_id)
    if employer is None or not sees(staff, employer["county"]):
        raise not_found("employer")
    return employer


# ---- vacancies -------------------------------------------------------------------------------


def post_vacancy(store: JobsStore, staff: StaffPrincipal, data: dict, today: date) -> dict:
    if not sees(staff, data["county"]):
        raise forbidden_county(data["county"])
    employer = store.employer(data["employer_id"])
    if employer is None or not sees(staff, employer["county"]):
        raise ApiError(
            400,
            "validation_error",
            "no such employer",
            {"employer_id": ["no such employer in your scope"]},
        )
    posted_on = today
    if data["fair_id"] is not None:
        fair = store.fair(data["fair_id"])
        if fair is None:
            raise ApiError(400, "validation_error", "no such fair", {"fair_id": ["no such fair"]})
        posted_on = date.fromisoformat(fair["date"])
    vacancy = vacancy_document(data, staff.sub, posted_on)
    store.add_vacancy(vacancy)
    return vacancy


def vacancy_document(data: dict, by: str, posted_on: date) -> dict[str, Any]:
    return {
        "_id": new_id("V"),
        "employer_id": data["employer_id"],
        "title": data["title"],
        "occupation": data["occupation"],
        "headcount": data["headcount"],
        "open_headcount": data["headcount"],
        "status": "open",
        "salary_min_fen": data["salary_min"],
        "salary_max_fen": data["salary_max"],
        "education": data["education"],
        "experience_years": data["experience_years"],
        "county": data["county"],
        "skills": list(data["skills"]),
        "migrant_friendly": data["migrant_friendly"],
        "valid_until": data["valid_until"].isoformat(),
        "fair_id": data["fair_id"],
        "posted_on": posted_on.isoformat(),
        "posted_by": by,
    }


def vacancy_view(vacancy: dict) -> dict:
    return {
        "vacancy_id": vacancy["_id"],
        **{
            k: vacancy[k]
            for k in (
                "employer_id",
                "title",
                "occupation",
                "headcount",
                "open_headcount",
                "status",
                "education",
                "experience_years",
                "county",
                "skills",
                "migrant_friendly",
                "fair_id",
            )
        },
        "salary_min": vacancy["salary_min_fen"],
        "salary_max": vacancy["salary_max_fen"],
        "valid_until": date.fromisoformat(vacancy["valid_until"]),
    }


def visible_vacancy(store: JobsStore, staff: StaffPrincipal, vacancy_id: str) -> dict:
    vacancy = store.vacancy(vacancy_id)
    if vacancy is None or not sees(staff, vacancy["county"]):
        raise not_found("vacancy")
    return vacancy


# ---- seekers ---------------------------------------------------------------------------------

_PROFILE = (
    "skills",
    "desired_occupation",
    "willing_to_relocate",
    "education",
    "experience_years",
    "migrant_worker",
    "graduating_student",
)


def profile_fields(data: dict) -> dict[str, Any]:
    return {
        **{k: data[k] for k in _PROFILE},
        "skills": list(data["skills"]),
        "min_salary_fen": data["min_salary"],
    }


def register_seeker(
    store: JobsStore, staff: StaffPrincipal, data: dict, correlation_id: str
) -> str:
    if not sees(staff, data["county"]):
        raise forbidden_county(data["county"])
    seeker = {
        "_id": new_id("S"),
        "status": "active",
        "county": data["county"],
        **profile_fields(data),
        "registered_on": today_shanghai().isoformat(),
        "registered_by": staff.sub,
        "referral_id": None,
    }
    clear = {"id_number": data["id_number"], "name": data["name"], "phone": data["phone"]}
    add_seeker(store, seeker, clear, correlation_id)
    return seeker["_id"]


def add_seeker(store: JobsStore, seeker: dict, clear: dict, correlation_id: str) -> None:
    """Store a seeker with its hardship status from the read model (never from the request)
    and the ``seeker_registered`` event; Duplicate (a 409 at the door) on a known ID number."""
    id_hash = store.id_hash(clear["id_number"])
    seeker["hardship"] = hardship_of(store, id_hash) is not None
    phone = clear.get("phone")
    event = make_event(
        "seeker_registered",
        {
            "seeker_id": seeker["_id"],
            "id_hash": id_hash,
            "county": seeker["county"],
            "mobile_encrypted": store.vault.encrypt(phone) if phone else None,
        },
        producer=SERVICE,
        correlation_id=correlation_id,
    )
    try:
        store.add_seeker(seeker, clear, [event])
    except Duplicate as dup:
        raise duplicate_seeker(dup.existing_id) from None


def duplicate_seeker(seeker_id: str) -> ApiError:
    return ApiError(
        409,
        "duplicate_seeker",
        f"the ID number is registered as seeker {seeker_id}",
        {"id_number": ["registered already"]},
        {"seeker_id": seeker_id},
    )


def complete_seeker(store: JobsStore, staff: StaffPrincipal, seeker_id: str, data: dict) -> dict:
    seeker = visible_seeker(store, staff, seeker_id)
    completed = store.complete_seeker(
        seeker["_id"], profile_fields(data), data.get("phone"), staff.sub
    )
    if completed is None:
        raise ApiError(409, "conflict", f"seeker {seeker_id} is complete already")
    return completed


def visible_seeker(store: JobsStore, staff: StaffPrincipal, seeker_id: str) -> dict:
    seeker = store.seeker(seeker_id)
    if seeker is None or not sees(staff, seeker["county"]):
        raise not_found("seeker")
    return seeker


def list_seekers(
    store: JobsStore, staff: StaffPrincipal, status: str | None, county: str | None
) -> list[dict]:
    counties = asked_counties(staff, county)
    return store.list_seekers(status, counties, MAX_LISTED) if counties else []


def seeker_view(seeker: dict) -> dict:
    return {
        "seeker_id": seeker["_id"],
        "status": seeker["status"],
        "id_number": seeker["id_masked"],
        "name": seeker["name_masked"],
        "phone": seeker.get("phone_masked"),
        "county": seeker["county"],
        "skills": seeker.get("skills") or [],
        "desired_occupation": seeker.get("desired_occupation"),
        "willing_to_relocate": seeker.get("willing_to_relocate"),
        "min_salary": seeker.get("min_salary_fen"),
        "education": seeker.get("education"),
        "experience_years": seeker.get("experience_years"),
        "migrant_worker": seeker.get("migrant_worker"),
        "graduating_student": seeker.get("graduating_student"),
        "referral_id": seeker.get("referral_id"),
        "summary": seeker.get("summary"),
    }


# ---- fairs -----------------------------------------------------------------------------------


def open_fair(store: JobsStore, staff: StaffPrincipal, data: dict) -> str:
    if not sees(staff, data["county"]):
        raise forbidden_county(data["county"])
    fair_id = new_id("F")
    store.add_fair(
        {"_id": fair_id, **data, "date": data["date"].isoformat(), "created_by": staff.sub}
    )
    return fair_id


def visible_fair(store: JobsStore, staff: StaffPrincipal, fair_id: str) -> dict:
    fair = store.fair(fair_id)
    if fair is None or not sees(staff, fair["county"]):
        raise not_found("fair")
    return fair


def fair_view(store: JobsStore, fair: dict) -> dict:
    employers, seekers = store.fair_counts(fair["_id"])
    return {
        "fair_id": fair["_id"],
        "kind": fair["kind"],
        "name": fair["name"],
        "date": date.fromisoformat(fair["date"]),
        "county": fair["county"],
        "employers": employers,
        "seekers": seekers,
    }


def register_at_fair(
    store: JobsStore, staff: StaffPrincipal, fair_id: str, data: dict, correlation_id: str
) -> tuple[dict, bool]:
    """A registration (created now: True; found: False). Employers and seekers of any county
    may come to a fair; the caller must see the fair and the registrant."""
    fair = visible_fair(store, staff, fair_id)
    events = []
    if "employer_id" in data:
        party = store.employer(data["employer_id"])
        if party is None or not sees(staff, party["county"]):
            raise ApiError(
                400,
                "validation_error",
                "no such employer",
                {"employer_id": ["no such employer in your scope"]},
            )
        key, party_id = "employer_id", party["_id"]
    else:
        party = store.seeker(data["seeker_id"])
        if party is None or not sees(staff, party["county"]):
            raise ApiError(
                400,
                "validation_error",
                "no such seeker",
                {"seeker_id": ["no such seeker in your scope"]},
            )
        key, party_id = "seeker_id", party["_id"]
        events.append(
            make_event(
                "fair_registered",
                {
                    "fair_id": fair["_id"],
                    "seeker_id": party_id,
                    "id_hash": party["id_hash"],
                    "county": party["county"],
                    "fair_name": fair["name"],
                    "fair_date": fair["date"],
                },
                producer=SERVICE,
                correlation_id=correlation_id,
            )
        )
    registration = {
        "_id": f"{fair['_id']}:{party_id}",
        "fair_id": fair["_id"],
        key: party_id,
        "county": fair["county"],
        "registered_on": fair["date"],
        "registered_by": staff.sub,
    }
    created = store.register_for_fair(registration, events)
    found = registration if created else store.registration(registration["_id"])
    return {"registration_id": found["_id"], "fair_id": found["fair_id"], key: party_id}, created
