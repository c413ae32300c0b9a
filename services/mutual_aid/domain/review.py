"""Human review of a ``needs_review`` claim: maker-checker approval, amount changes, rejection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.domain_errors import Conflict, RuleViolation
from shared.money import format_fen


@dataclass(frozen=True)
class AmountLimits:
    """What bounds a reviewed amount: the policy's review threshold, the bill's 个人自付 and
    what the member's cap leaves for this claim (its own reservation included)."""

    threshold: int
    self_pay: int
    cap_room: int


@dataclass(frozen=True)
class ReviewOutcome:
    """What one review does to the claim. ``final`` is None while approvals are due;
    ``approvals`` are the reviewers who approved ``amount``, the amount the claim now proposes
    (0 once rejected)."""

    final: Literal["approved", "rejected"] | None
    amount: int
    approvals: tuple[str, ...]
    needed: int
    trace_line: str


def approvals_needed(amount: int, rule_amount: int, threshold: int) -> int:
    """Two reviewers for an amount at or above the threshold or above what the rules gave,
    one otherwise: the count follows the amount that would be paid."""
    return 2 if amount >= threshold or amount > rule_amount else 1


def review_claim(
    *,
    status: str,
    rule_amount: int,
    current_amount: int,
    approvals: list[str],
    limits: AmountLimits,
    reviewer: str,
    decision: Literal["approve", "reject"],
    amount: int | None,
    note: str,
) -> ReviewOutcome:
    """Apply one reviewer's decision under DOMAIN.md §2 step 7 (maker-checker).

    - Only a ``needs_review`` claim is reviewed, and not by a reviewer who approved its current
      amount (``approvals``): they wait for someone else.
    - Approve keeps the proposed amount or changes it: never above 个人自付 or the member's
      remaining cap, raised above the rule amount only with a reason (``note``), never 0.
    - Approving the current amount adds an approval; changing it restarts the approvals with
      this reviewer's. The claim is approved once ``approvals_needed`` different reviewers
      approved the same amount. A rejection (with a note) ends it.

    A refusal is a ``Conflict`` (the claim's state, the same reviewer) or a ``RuleViolation``
    naming the request field at fault.
    """
    if status != "needs_review":
        raise Conflict(f"the claim is {status}, not awaiting review")
    if reviewer in approvals:
        raise Conflict("you approved this amount already; a different reviewer must decide")
    who = f"reviewer {reviewer}"
    reason = f": {note.strip()}" if note.strip() else ""
    if decision == "reject":
        if not note.strip():
            raise RuleViolation("a rejection needs a note stating why", "note")
        return ReviewOutcome("rejected", 0, (), 0, f"review: rejected by {who}{reason}")
    proposed = current_amount if amount is None else amount
    refusal = _amount_refusal(proposed, current_amount, rule_amount, limits, note)
    if refusal:
        raise RuleViolation(*refusal)
    change = ""
    if proposed == current_amount:
        approved_by = (*approvals, reviewer)
    else:
        approved_by = (reviewer,)
        change = (
            f", amount {format_fen(current_amount)} → {format_fen(proposed)} yuan "
            "(earlier approvals no longer count)"
        )
    needed = approvals_needed(proposed, rule_amount, limits.threshold)
    count = f"approval {len(approved_by)} of {needed} by {who}{change}{reason}"
    if len(approved_by) < needed:
        return ReviewOutcome(
            None,
            proposed,
            approved_by,
            needed,
            f"review: {count}; awaiting a different reviewer approving {format_fen(proposed)} yuan",
        )
    return ReviewOutcome("approved", proposed, approved_by, needed, f"review: {count}: approved")


def _amount_refusal(
    proposed: int, current: int, rule_amount: int, limits: AmountLimits, note: str
) -> tuple[str, str] | None:
    """Why an approved amount is not allowed, with the field to name; None when it is. The
    reason for a raise is asked of the reviewer who makes it, not of the one who agrees."""
    if proposed <= 0:
        return "approve an amount above 0.00, or reject", "amount"
    if proposed > limits.self_pay:
        return (
            f"{format_fen(proposed)} is above the bill's self-pay in catalogue (个人自付) "
            f"{format_fen(limits.self_pay)}",
            "amount",
        )
    if proposed > limits.cap_room:
        return (
            f"{format_fen(proposed)} is above what the member's cap leaves for this claim, "
            f"{format_fen(max(0, limits.cap_room))}",
            "amount",
        )
    if proposed != current and proposed > rule_amount and not note.strip():
        return (
            f"{format_fen(proposed)} is above the rule amount {format_fen(rule_amount)}: "
            "state the reason in note",
            "note",
        )
    return None
