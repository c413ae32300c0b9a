"""12345 hardship referrals (市民热线转办): what the county's intake-request queue takes, how a
caller's phone shows, and what closing a request needs. Plain rules, no I/O."""

from __future__ import annotations

from shared.domain_errors import Conflict, RuleViolation

HARDSHIP = "hardship"
OPEN, CLOSED = "open", "closed"
INTAKE_REQUEST_STATUSES = (OPEN, CLOSED)


def require_hardship(kind: str) -> None:
    """Dossiers owns the hardship referrals only; a job-seeking one is the jobs service's."""
    if kind != HARDSHIP:
        raise RuleViolation(
            f"a {kind} referral is not a dossier intake request (only {HARDSHIP})", "kind"
        )


def mask_phone(phone: str) -> str:
    """The first three and last four characters, the rest hidden: ``138****0000``; a number
    of seven characters or fewer shows its last two only."""
    if len(phone) <= 7:
        return "*" * (len(phone) - 2) + phone[-2:]
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def check_close(
    status: str, citizen_id_hash: str, dossier_member_hashes: frozenset[str] | None
) -> None:
    """A request is closed once; closed into a dossier, that dossier must hold the referred
    citizen (``dossier_member_hashes`` None: closed with a note only)."""
    if status != OPEN:
        raise Conflict(f"the intake request is {status}")
    if dossier_member_hashes is not None and citizen_id_hash not in dossier_member_hashes:
        raise RuleViolation(
            "the referred citizen is not a member of that dossier's household", "dossier_id"
        )
