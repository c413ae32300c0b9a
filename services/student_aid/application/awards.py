"""Approving the eligible applications within the budget, the public notice, and objections
to it: plain Python over the store, called by the service's RPC."""

from __future__ import annotations

import uuid
from datetime import date

from services.student_aid.application.applications import student_aid_event
from services.student_aid.application.campaigns import policy_of
from services.student_aid.domain.notice import notice_ends_on
from services.student_aid.domain.ranking import Candidate, rank_for_approval
from services.student_aid.store import StudentAidStore
from shared.domain_errors import Conflict, RuleViolation
from shared.errors import not_found
from shared.events import now_shanghai


def _now() -> str:
    return now_shanghai().isoformat(timespec="milliseconds")


def _campaign(store: StudentAidStore, year: int) -> dict:
    campaign = store.campaign(year)
    if campaign is None:
        raise not_found("campaign")
    return campaign


def approvals_summary(store: StudentAidStore, year: int) -> dict:
    """The standing awards (approved, under objection, paid), their total in fen, and the
    waitlist: the same answer however often the approvals run."""
    awarded, total, waitlisted = store.award_counts(year)
    return {"approved": awarded, "waitlisted": waitlisted, "approved_total": total}


def run_approvals(store: StudentAidStore, year: int, by: str) -> dict:
    """Approve the campaign's eligible and waitlisted applications in priority order within
    what the budget has left; the rest wait. Running again changes nothing until the budget
    grows, an award is rejected, or new eligible applications arrive. Audited."""
    campaign = _campaign(store, year)
    revision = campaign.get("approvals_revision", 0)
    # Read before the run is claimed: a run claimed meanwhile makes our claim fail below.
    _, committed, _ = store.award_counts(year)
    awaiting = store.awaiting_approval(year)
    ranking = rank_for_approval(
        (
            Candidate(
                application_id=row["_id"],
                path=row["path"],
                applied_on=date.fromisoformat(row["applied_on"]),
                received=row["received"],
                amount=row["amount_fen"],
            )
            for row in awaiting
        ),
        campaign["budget_fen"] - committed,
    )
    approved = [c.application_id for c in ranking.approved]
    rows = {row["_id"]: row for row in awaiting}
    # One event for the run's new awards (notifications tells each parent), carried by the
    # write that claims the run: one write whatever the number of awards.
    told = [
        student_aid_event(
            "awards_approved",
            {
                "campaign": year,
                "run": revision + 1,
                "awards": [
                    {
                        "application_id": application_id,
                        "parent_id_hash": rows[application_id]["parent_id_hash"],
                        "org": rows[application_id]["org"],
                    }
                    for application_id in approved
                ],
            },
        )
    ][: 1 if approved else 0]
    if not store.claim_approvals_run(year, revision, told):
        raise Conflict("the approvals of this campaign are running already: try again")
    store.rank_applications(approved, [c.application_id for c in ranking.waitlisted], by)
    summary = approvals_summary(store, year)
    store.append_audit(
        {
            "_id": f"approvals:{year}:{uuid.uuid4().hex}",
            "target": f"campaign/{year}",
            "action": "approvals_run",
            "by": by,
            "newly_approved": approved,
            "budget_fen": campaign["budget_fen"],
            **summary,
            "at": _now(),
        }
    )
    return summary


def publish_notice(
    store: StudentAidStore, policy_dir: str, year: int, published_on: date, by: str
) -> dict:
    """Publish the campaign's notice once, after its approvals: it lasts the policy's working
    days from ``published_on``."""
    campaign = _campaign(store, year)
    if "approvals_run_at" not in campaign:
        raise Conflict("run the approvals before publishing the notice")
    policy = policy_of(policy_dir, campaign)
    notice = {
        "published_on": published_on.isoformat(),
        "ends_on": notice_ends_on(published_on, policy.notice_working_days).isoformat(),
        "published_by": by,
        "published_at": _now(),
    }
    if not store.publish_notice(year, notice):
        raise Conflict(f"the {year} notice was published already", "published_on")
    return notice_view(notice)


def notice_view(notice: dict) -> dict:
    return {
        "published_on": date.fromisoformat(notice["published_on"]),
        "ends_on": date.fromisoformat(notice["ends_on"]),
    }


def public_notice(store: StudentAidStore, year: int) -> dict | None:
    """The notice as the public sees it: masked name, school, level and amount only (None when
    not published)."""
    campaign = store.campaign(year)
    if campaign is None or "notice" not in campaign:
        return None
    entries = [
        {
            "name": row["student_name_masked"],
            "school": row["school"],
            "education_level": row["education_level"],
            "amount": row["amount_fen"],
        }
        for row in store.notice_entries(year)
    ]
    return {**notice_view(campaign["notice"]), "entries": entries}


def record_objection(
    store: StudentAidStore, application_id: str, note: str, received_on: date, by: str
) -> dict | None:
    """An objection to an approved award, received during its campaign's notice: the award
    goes back to review. None when there is no such application. Audited."""
    application = store.application(application_id)
    if application is None:
        return None
    notice = _campaign(store, application["campaign"]).get("notice")
    if notice is None:
        raise Conflict("the campaign's notice is not published: objections come during it")
    published_on = date.fromisoformat(notice["published_on"])
    ends_on = date.fromisoformat(notice["ends_on"])
    if not published_on <= received_on <= ends_on:
        raise RuleViolation(
            f"objections are received during the notice, {published_on} – {ends_on}",
            "received_on",
        )
    objection = {
        "objection_id": uuid.uuid4().hex,
        "note": note,
        "received_on": received_on.isoformat(),
        "by": by,
        "at": _now(),
        "upheld": None,
    }
    if not store.open_objection(application_id, objection):
        raise Conflict(f"the application is {application['status']}, not an approved award")
    store.append_audit(
        {
            "_id": f"objection:{objection['objection_id']}",
            "target": f"campaign/{application['campaign']}",
            "application_id": application_id,
            "action": "objection_recorded",
            "by": by,
            "at": objection["at"],
        }
    )
    return {
        "objection_id": objection["objection_id"],
        "application_id": application_id,
        "status": "in_review",
    }


def decide_objection(
    store: StudentAidStore, application_id: str, objection_id: str, upheld: bool, by: str
) -> dict | None:
    """Uphold an objection (the award is rejected and its amount freed for the next run of the
    approvals) or dismiss it (the award stands). None when there is no such objection. Audited."""
    application = store.application(application_id)
    if application is None or objection_id not in application.get("objections", {}):
        return None
    status = "rejected" if upheld else "approved"
    if not store.decide_objection(application_id, objection_id, upheld, status, by, _now()):
        raise Conflict("this objection was decided already")
    store.append_audit(
        {
            "_id": f"objection-decided:{objection_id}",
            "target": f"campaign/{application['campaign']}",
            "application_id": application_id,
            "action": "objection_upheld" if upheld else "objection_dismissed",
            "by": by,
            "at": _now(),
        }
    )
    return {"objection_id": objection_id, "application_id": application_id, "status": status}
