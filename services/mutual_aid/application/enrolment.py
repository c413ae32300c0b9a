"""Enrolment checks shared by the API and the CLI import: one row at a time, no I/O but the store call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from marshmallow import ValidationError

from services.mutual_aid.domain.policy import MutualAidPolicy
from services.mutual_aid.store import MutualAidStore, NewMember
from shared.business_dates import BusinessDate
from shared.contracts.mutual_aid import EnrollmentMemberSchema
from shared.crypto import PiiVault
from shared.errors import ApiError, validation_error
from shared.events import now_shanghai


@dataclass(frozen=True)
class EnrolmentOutcome:
    enrolled: int
    already_enrolled: int
    rejected: list[dict]

    def as_dict(self) -> dict:
        return {
            "enrolled": self.enrolled,
            "already_enrolled": self.already_enrolled,
            "rejected": self.rejected,
        }


def window_error(policy: MutualAidPolicy, period: int, enrolled_on: date) -> ApiError | None:
    """Enrolment outside the period's window is refused as a whole (422)."""
    opens, closes = policy.enrolment_window(period)
    if opens <= enrolled_on <= closes:
        return None
    return ApiError(
        422,
        "enrolment_closed",
        f"period {period} enrols from {opens} to {closes}; enrolled_on is {enrolled_on}",
        {"enrolled_on": [f"must be within {opens}..{closes}"]},
    )


def audit_backdated_enrolment(
    store: MutualAidStore,
    enrolled_on: BusinessDate,
    *,
    by: str,
    role: str,
    org: str,
    period: int,
    employer_org: str,
) -> None:
    """A past ``enrolled_on`` allowed by the caller's role goes in the audit log, written before
    the members are, so no backdated enrolment exists without its entry."""
    store.append_audit(
        {
            "_id": uuid.uuid4().hex,
            "action": "backdate",
            "target": f"enrolment/{period}/{employer_org}",
            "by": by,
            "role": role,
            "org": org,
            **enrolled_on.audit_detail("enrolled_on"),
            "at": now_shanghai().isoformat(timespec="milliseconds"),
        }
    )


def _row_error(fields: dict) -> dict:
    return validation_error(fields).body()["error"]


def check_member(
    raw: dict, *, policy: MutualAidPolicy, period: int, plan: str, enrolled_on: date
) -> tuple[NewMember | None, dict | None]:
    """One member row checked against the contract and the policy: (member, None) or
    (None, error body). A row may name its own ``plan``; otherwise ``plan`` applies."""
    try:
        member = EnrollmentMemberSchema().load(raw)
    except ValidationError as exc:
        return None, _row_error(exc.messages)
    row_plan = member.get("plan") or plan
    if row_plan not in policy.plans:
        return None, _row_error({"plan": [f"must be one of {', '.join(policy.plans)}"]})
    start = member["coverage_start"]
    year = policy.year_of(period)
    if start.year != year:
        return None, _row_error({"coverage_start": [f"must be inside period {period} ({year})"]})
    if start < enrolled_on:
        return None, _row_error(
            {"coverage_start": ["must not be before enrolled_on (no backdating)"]}
        )
    return (
        NewMember(
            id_number=member["id_number"],
            name=member["name"],
            coverage_start=start,
            renewal=False,
            plan=row_plan,
            contribution_fen=policy.plan(row_plan).contribution,
            bank_account=member.get("bank_account"),
        ),
        None,
    )


def enroll_rows(
    store: MutualAidStore,
    vault: PiiVault,
    *,
    policy: MutualAidPolicy,
    period: int,
    plan: str,
    employer_org: str,
    enrolled_on: date,
    rows: list[dict],
    first_index: int = 0,
) -> EnrolmentOutcome:
    """Check every row, detect renewals (enrolled in ``period - 1``) and enrol the good rows.

    Each member is one document written in one insert, so a row is enrolled whole or not at
    all, and a repeat of the same member in the period is counted as already enrolled."""
    accepted: list[NewMember] = []
    rejected: list[dict] = []
    for offset, raw in enumerate(rows):
        member, error = check_member(
            raw, policy=policy, period=period, plan=plan, enrolled_on=enrolled_on
        )
        if error is not None:
            rejected.append({"index": first_index + offset, "error": error})
        else:
            accepted.append(member)
    hashes = [vault.lookup_hash(m.id_number) for m in accepted]
    renewals = store.enrolled_hashes(period - 1, hashes)
    members = [
        NewMember(**{**m.__dict__, "renewal": h in renewals})
        for m, h in zip(accepted, hashes, strict=True)
    ]
    enrolled, already = store.enroll(
        period=period,
        plan=plan,
        employer_org=employer_org,
        enrolled_on=enrolled_on,
        members=members,
    )
    return EnrolmentOutcome(enrolled, already, rejected)
