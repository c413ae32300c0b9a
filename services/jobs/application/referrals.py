"""12345 referrals of job seekers: the city platform's referral becomes an incomplete seeker of
its county for staff to complete (``PATCH /api/v1/jobs/seekers/{id}``). The same case number is
the same referral: taken again, it answers the first referral and changes nothing."""

from __future__ import annotations

from services.jobs.application.registry import add_seeker, new_id
from services.jobs.store import JobsStore
from shared.errors import ApiError
from shared.events import today_shanghai


def take_referral(
    store: JobsStore, platform: str, referral: dict, correlation_id: str
) -> tuple[str, bool]:
    """(referral_id, created now). A citizen already registered as a seeker keeps that seeker:
    the referral names it and no second one is made."""
    if referral["kind"] != "job_seeking":
        raise ApiError(
            400,
            "validation_error",
            "jobs takes job_seeking referrals",
            {"kind": ["must be job_seeking here"]},
        )
    record = {
        "_id": new_id("R"),
        "case_no": referral["case_no"],
        "kind": referral["kind"],
        "county": referral["county"],
        "platform": platform,
    }
    found, created = store.take_referral(record)
    if found.get("seeker_id"):
        return found["_id"], False
    citizen = referral["citizen"]
    existing = store.seeker_by_hash(store.id_hash(citizen["id_number"]))
    if existing is not None:
        store.link_referral(found["_id"], existing["_id"])
        return found["_id"], created
    seeker = {
        "_id": new_id("S"),
        "status": "incomplete",
        "county": referral["county"],
        "skills": [],
        "registered_on": today_shanghai().isoformat(),
        "registered_by": f"12345:{platform}",
        "referral_id": found["_id"],
        "case_no": referral["case_no"],
        "summary": referral["summary"],
    }
    try:
        add_seeker(store, seeker, dict(citizen), correlation_id)
    except ApiError as dup:
        if dup.status != 409:
            raise
        # Another delivery of the same case registered the citizen between our reads.
        store.link_referral(found["_id"], dup.extra["seeker_id"])
        return found["_id"], created
    store.link_referral(found["_id"], seeker["_id"])
    return found["_id"], created
