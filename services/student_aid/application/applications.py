"""Taking an application (from staff or the city portal: the same record), deciding its
eligibility at once with the trace, and deciding it again when the parent's dossier opens late."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from services.student_aid.application.campaigns import policy_of
from services.student_aid.domain.eligibility import (
    NOT_HARDSHIP,
    Decision,
    ParentDossier,
    decide_eligibility,
)
from services.student_aid.store import DuplicateApplication, StudentAidStore
from shared.auth import StaffPrincipal
from shared.business_dates import BusinessDate, business_date
from shared.domain_errors import Conflict, RuleViolation
from shared.errors import ApiError
from shared.events import Event, make_event, now_shanghai
from shared.logs import get_correlation_id

# What the request says of the people, kept sealed by the store and never in the record clear.
CLEAR_FIELDS = ("student_id_number", "student_name", "parent_id_number")


@dataclass(frozen=True)
class Channel:
    """Who brought the application: a staff member, or the city portal with its webhook id."""

    kind: str  # "staff" | "city_platform"
    by: str  # the staff id, or the partner code
    webhook_id: str | None = None


def audit_backdated_application(
    store: StudentAidStore, applied_on: BusinessDate, *, staff: StaffPrincipal, campaign: int
) -> None:
    """A past ``applied_on`` allowed by the caller's role goes in the audit log, written before
    the application is, so no backdated application exists without its entry."""
    store.append_audit(
        {
            "_id": uuid.uuid4().hex,
            "action": "backdate",
            "target": f"campaign/{campaign}",
            "by": staff.sub,
            "role": staff.role,
            "org": staff.org,
            **applied_on.audit_detail("applied_on"),
            "at": now_shanghai().isoformat(timespec="milliseconds"),
        }
    )


def parent_dossier(store: StudentAidStore, parent_id_number: str) -> dict | None:
    """The open dossier the parent heads, read once: the decision and the org follow from it."""
    return store.open_dossier_of(store.id_hash(parent_id_number))


def application_org(dossier: dict | None, certified_by: str | None, fallback: str) -> str:
    """The org unit the application belongs to (and whose staff see it): the county of the
    parent's open dossier, else the certifying grassroots unit, else the one who brought it."""
    if dossier is not None:
        return dossier["county"]
    return certified_by or fallback


def _as_parent_dossier(row: dict | None) -> ParentDossier | None:
    return None if row is None else ParentDossier(tier=row["tier"], status="open")


def _decision_fields(decision: Decision) -> dict:
    return {
        "status": decision.status,
        "amount_fen": decision.amount,
        "reason_code": decision.reason_code,
        "path": decision.path,
        "trace": list(decision.trace),
        "policy_version": decision.policy_version,
    }


def _decide(policy, campaign: dict, application: dict, dossier: dict | None) -> Decision:
    return decide_eligibility(
        policy,
        applied_on=date.fromisoformat(application["applied_on"]),
        opens_on=date.fromisoformat(campaign["opens_on"]),
        closes_on=date.fromisoformat(campaign["closes_on"]),
        education_level=application["education_level"],
        school_kind=application["school_kind"],
        aided_elsewhere=application["aided_elsewhere"],
        parent_dossier=_as_parent_dossier(dossier),
        migrant_certified_by=application["migrant_hardship_certified_by"],
    )


def submit_staff_application(
    store: StudentAidStore,
    policy_dir: str,
    staff: StaffPrincipal,
    data: dict,
    *,
    allow_backdated: bool,
) -> dict:
    """An application staff took (over the API or in an import file) for a parent in their org
    subtree: the business date, the parent's dossier and the org it gives, the scope check,
    the audit of a backdating, then ``accept_application``. Returns the stored record."""
    stated = business_date(
        data["applied_on"], "applied_on", staff.role, allow_backdated=allow_backdated
    )
    dossier = parent_dossier(store, data["parent_id_number"])
    org = application_org(dossier, data["migrant_hardship_certified_by"], staff.org)
    if not staff.can_see(org):
        raise ApiError(
            403,
            "forbidden",
            f"the application belongs to {org}, outside your org unit",
            {"parent_id_number": ["the parent's dossier or certifying unit is not yours"]},
        )
    if stated.backdated_by_role:
        audit_backdated_application(store, stated, staff=staff, campaign=data["campaign"])
    return accept_application(
        store, policy_dir, data, stated.day, dossier, org, Channel(kind="staff", by=staff.sub)
    )


def accept_application(
    store: StudentAidStore,
    policy_dir: str,
    data: dict,
    applied_on: date,
    dossier: dict | None,
    org: str,
    channel: Channel,
) -> dict:
    """Decide and store one application with its ``application_decided`` event; returns the
    stored record. The campaign must exist (a RuleViolation naming ``campaign``), the date be
    in its window (OutsideWindow), the student not have applied in it (a Conflict). ``dossier``
    and ``org`` are the parent's open dossier and the org derived from it, read once by the
    caller (who checks its scope) so the decision and the org agree."""
    if channel.webhook_id is not None:
        replayed = store.application_by_webhook(channel.by, channel.webhook_id)
        if replayed is not None:
            return replayed
    campaign = store.campaign(data["campaign"])
    if campaign is None:
        raise RuleViolation(f"there is no {data['campaign']} campaign", "campaign")
    clear = {name: data[name] for name in CLEAR_FIELDS}
    parent_hash = store.id_hash(data["parent_id_number"])
    application = {
        "_id": uuid.uuid4().hex,
        "campaign": campaign["_id"],
        "education_level": data["education_level"],
        "school": data["school"],
        "school_kind": data["school_kind"],
        "aided_elsewhere": data["aided_elsewhere"],
        "migrant_hardship_certified_by": data["migrant_hardship_certified_by"],
        "applied_on": applied_on.isoformat(),
        "org": org,
        "channel": channel.kind,
        "submitted_by": channel.by,
    }
    decision = _decide(policy_of(policy_dir, campaign), campaign, application, dossier)
    if data["migrant_hardship_certified_by"]:
        # The certification is a fact of the record: which unit vouched, and when we took it.
        application["certification"] = {
            "unit": data["migrant_hardship_certified_by"],
            "recorded_at": now_shanghai().isoformat(timespec="milliseconds"),
            "recorded_by": channel.by,
        }
    if channel.webhook_id is not None:
        application.update(partner=channel.by, webhook_id=channel.webhook_id)
    application.update(_decision_fields(decision), parent_id_hash=parent_hash)
    application["received"] = store.next_received(campaign["_id"])
    try:
        store.add_application(application, clear, [eligibility_event(application)])
    except DuplicateApplication:
        raise Conflict(
            f"this student has applied in the {campaign['_id']} campaign already",
            "student_id_number",
        ) from None
    if decision.reason_code == NOT_HARDSHIP:
        # The dossier may have opened between our read and this insert, its event finding no
        # application to decide again: look once more, now that the application is stored.
        redecide_on_dossier(store, policy_dir, parent_hash)
    return store.application(application["_id"])


def eligibility_event(application: dict) -> Event:
    """The decision for the parent's notice: eligible or not, never why (the reason code may
    tell the household's hardship) nor the amount."""
    return student_aid_event(
        "eligibility_decided",
        {
            "application_id": application["_id"],
            "campaign": application["campaign"],
            "parent_id_hash": application["parent_id_hash"],
            "org": application["org"],
            "status": application["status"],
        },
    )


def student_aid_event(event_type: str, payload: dict) -> Event:
    """An event of this service, under the running request's correlation id."""
    return make_event(
        event_type,
        payload,
        producer="student_aid",
        correlation_id=get_correlation_id() or f"student_aid-{uuid.uuid4().hex}",
    )


def redecide_on_dossier(store: StudentAidStore, policy_dir: str, head_id_hash: str) -> int:
    """The parent's dossier opened (or changed tier, or moved): applications refused for want of
    one, in campaigns whose approvals have not run, are decided again. Each is guarded by its
    refused state, so a redelivered event changes nothing. Returns how many changed."""
    dossier = store.open_dossier_of(head_id_hash)
    if dossier is None:
        return 0
    changed = 0
    campaigns = {}
    for application in store.undecided_by_dossier(
        head_id_hash, store.campaigns_awaiting_approvals()
    ):
        campaign = campaigns.setdefault(
            application["campaign"], store.campaign(application["campaign"])
        )
        decision = _decide(policy_of(policy_dir, campaign), campaign, application, dossier)
        if decision.reason_code == NOT_HARDSHIP:
            continue  # still no path (a grassroots-tier dossier alone is not one)
        fields = {**_decision_fields(decision), "org": dossier["county"]}
        told = eligibility_event({**application, **fields})
        changed += store.redecide(application["_id"], fields, [told])
    return changed


def application_view(application: dict) -> dict:
    return {
        "application_id": application["_id"],
        "campaign": application["campaign"],
        "student_id_number_masked": application["student_id_masked"],
        "student_name_masked": application["student_name_masked"],
        "education_level": application["education_level"],
        "school": application["school"],
        "org": application["org"],
        "applied_on": date.fromisoformat(application["applied_on"]),
        "status": application["status"],
        "path": application["path"],
        "amount": application["amount_fen"],
        "reason_code": application["reason_code"],
        "trace": application["trace"],
        "policy_version": application["policy_version"],
        "migrant_hardship_certified_by": application["migrant_hardship_certified_by"],
    }
