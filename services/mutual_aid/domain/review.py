"""Human review of a ``needs_review`` claim: maker-checker approval, lowering, rejection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.money import format_fen


class ReviewRefused(Exception):
    """The review cannot be applied; ``status`` is the HTTP answer (409 or 422)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReviewOutcome:
    """What one review does to the claim. ``final`` is None while a second approval is due."""

    final: Literal["approved", "rejected"] | None
    amount: int  # the amount the claim now proposes (0 once rejected)
    trace_line: str


def review_claim(
    *,
    status: str,
    rule_amount: int,
    current_amount: int,
    reviews_required: int,
    approvals_so_far: list[str],
    reviewer: str,
    decision: Literal["approve", "reject"],
    amount: int | None,
    note: str,
) -> ReviewOutcome:
    """Apply one reviewer's decision under DOMAIN.md §2 step 7.

    - Only a ``needs_review`` claim can be reviewed, by a reviewer who has not reviewed it yet.
    - Approve keeps the proposed amount or lowers it; raising it above the rule amount needs
      a stated reason (``note``). An approval amount of 0 is a rejection in disguise: refused.
    - A claim needing two approvals is approved only by a second, different reviewer; any
      rejection ends it.
    """
    if status != "needs_review":
        raise ReviewRefused(409, "conflict", f"the claim is {status}, not awaiting review")
    if reviewer in approvals_so_far:
        raise ReviewRefused(
            409, "conflict", "you reviewed this claim already; a second reviewer must decide"
        )
    who = f"reviewer {reviewer}"
    reason = f": {note.strip()}" if note.strip() else ""
    if decision == "reject":
        if not note.strip():
            raise ReviewRefused(422, "rule_violation", "a rejection needs a note stating why")
        return ReviewOutcome("rejected", 0, f"review: rejected by {who}{reason}")
    proposed = current_amount if amount is None else amount
    if proposed <= 0:
        raise ReviewRefused(422, "rule_violation", "approve an amount above 0.00, or reject")
    if proposed > rule_amount and not note.strip():
        raise ReviewRefused(
            422,
            "rule_violation",
            f"{format_fen(proposed)} is above the rule amount {format_fen(rule_amount)}: "
            "state the reason in note",
        )
    change = ""
    if proposed != current_amount:
        change = f", amount {format_fen(current_amount)} → {format_fen(proposed)} yuan"
    approvals = len(approvals_so_far) + 1
    needed = max(1, reviews_required)
    if approvals < needed:
        return ReviewOutcome(
            None,
            proposed,
            f"review: approval {approvals} of {needed} by {who}{change}{reason}; "
            "awaiting a different reviewer",
        )
    return ReviewOutcome(
        "approved",
        proposed,
        f"review: approval {approvals} of {needed} by {who}{change}{reason}: approved",
    )
