"""Eligibility of one application: the window, the parent's hardship path, the exclusions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.student_aid.domain.errors import OutsideWindow
from services.student_aid.domain.policy import StudentAidPolicy
from shared.money import format_fen

Status = Literal["eligible", "ineligible"]
Path = Literal["national", "local", "migrant"]

# Only these dossier tiers make a child eligible; a grassroots-tier dossier alone does not.
ELIGIBLE_TIERS = ("national", "local")

NOT_HARDSHIP = "not_hardship"
AIDED_ELSEWHERE = "aided_elsewhere"
# The school kinds whose students another scheme already pays for, with their reason codes.
EXCLUDED_SCHOOL_KINDS = {
    "military": "excluded_military",
    "free_normal": "excluded_free_normal",
    "directed": "excluded_directed",
}


@dataclass(frozen=True)
class ParentDossier:
    """The dossier the parent heads, as our read model of the dossiers events knows it."""

    tier: str
    status: str


@dataclass(frozen=True)
class Decision:
    """``path`` is the parent's hardship path even when an exclusion then refuses the student,
    so the figures can count applications by path; None when the parent has none."""

    status: Status
    amount: int | None
    reason_code: str | None
    path: Path | None
    trace: tuple[str, ...]
    policy_version: str


def check_window(applied_on: date, opens_on: date, closes_on: date) -> None:
    """Refuse an application dated outside [opens_on, closes_on]."""
    if not opens_on <= applied_on <= closes_on:
        raise OutsideWindow(
            f"applied on {applied_on}, outside the campaign's window {opens_on} – {closes_on}"
        )


def hardship_path(
    parent_dossier: ParentDossier | None, migrant_certified_by: str | None
) -> tuple[Path | None, str]:
    """The parent's path to eligibility and the trace line saying why."""
    if (
        parent_dossier is not None
        and parent_dossier.status == "open"
        and parent_dossier.tier in ELIGIBLE_TIERS
    ):
        return parent_dossier.tier, f"parent heads an open {parent_dossier.tier}-tier dossier"
    if parent_dossier is None:
        dossier = "parent heads no dossier"
    else:
        dossier = f"parent's dossier is {parent_dossier.tier}-tier, {parent_dossier.status}"
    if migrant_certified_by:
        return "migrant", (
            f"{dossier}; migrant worker certified in hardship by {migrant_certified_by}"
        )
    return None, f"{dossier}, no migrant hardship certification: not a hardship family"


def decide_eligibility(
    policy: StudentAidPolicy,
    *,
    applied_on: date,
    opens_on: date,
    closes_on: date,
    education_level: str,
    school_kind: str,
    aided_elsewhere: bool,
    parent_dossier: ParentDossier | None,
    migrant_certified_by: str | None,
) -> Decision:
    """Decide one application. ``migrant_certified_by`` has been checked by the caller to name
    a grassroots unit of the org tree. An application outside the window is refused
    (OutsideWindow), not decided."""
    check_window(applied_on, opens_on, closes_on)
    path, hardship = hardship_path(parent_dossier, migrant_certified_by)
    trace = [f"applied on {applied_on}, within the window {opens_on} – {closes_on}", hardship]

    def ineligible(reason: str, *lines: str) -> Decision:
        return Decision("ineligible", None, reason, path, (*trace, *lines), policy.version)

    if path is None:
        return ineligible(NOT_HARDSHIP)
    if school_kind in EXCLUDED_SCHOOL_KINDS:
        return ineligible(
            EXCLUDED_SCHOOL_KINDS[school_kind],
            f"school kind {school_kind}: excluded (another scheme pays for these students)",
        )
    trace.append(f"school kind {school_kind}: not excluded")
    if aided_elsewhere:
        return ineligible(AIDED_ELSEWHERE, "already aided by another scheme this year: excluded")
    amount = policy.amount(education_level)
    trace.append(
        f"eligible by the {path} path: {education_level} award {format_fen(amount)} "
        f"(policy {policy.version})"
    )
    return Decision("eligible", amount, None, path, tuple(trace), policy.version)
