"""Review rules (DOMAIN.md §2 step 7): maker-checker, lowering, raising with a reason, rejection."""

import pytest

from services.mutual_aid.domain.review import ReviewRefused, review_claim

BASE = {
    "status": "needs_review",
    "rule_amount": 1_460_000,
    "current_amount": 1_460_000,
    "reviews_required": 2,
    "approvals_so_far": [],
    "reviewer": "r1",
    "decision": "approve",
    "amount": None,
    "note": "",
}


def review(**changes):
    return review_claim(**{**BASE, **changes})


@pytest.mark.parametrize(
    ("changes", "final", "amount"),
    [
        pytest.param({}, None, 1_460_000, id="first_of_two_approvals_waits_for_a_second"),
        pytest.param(
            {"approvals_so_far": ["r1"], "reviewer": "r2"},
            "approved",
            1_460_000,
            id="second_different_reviewer_approves",
        ),
        pytest.param(
            {"reviews_required": 1}, "approved", 1_460_000, id="one_review_suffices_below_threshold"
        ),
        pytest.param(
            {"reviews_required": 0}, "approved", 1_460_000, id="overlap_only_needs_one_review"
        ),
        pytest.param({"amount": 1_200_000}, None, 1_200_000, id="approval_can_lower"),
        pytest.param(
            {"amount": 1_500_000, "note": "hospital corrected the bill"},
            None,
            1_500_000,
            id="raise_above_rule_amount_with_a_reason",
        ),
        pytest.param(
            {"decision": "reject", "note": "forged bill"}, "rejected", 0, id="reject_ends_it"
        ),
        pytest.param(
            {"decision": "reject", "note": "no", "approvals_so_far": ["r1"], "reviewer": "r2"},
            "rejected",
            0,
            id="checker_can_reject_after_maker_approved",
        ),
    ],
)
def test_review_outcomes(changes, final, amount):
    outcome = review(**changes)
    assert (outcome.final, outcome.amount) == (final, amount)
    assert outcome.trace_line.startswith("review: ")


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        pytest.param({"approvals_so_far": ["r1"]}, 409, id="same_reviewer_twice"),
        pytest.param({"status": "approved"}, 409, id="not_awaiting_review"),
        pytest.param({"status": "received"}, 409, id="not_decided_yet"),
        pytest.param({"amount": 1_460_001}, 422, id="raise_without_a_reason"),
        pytest.param({"amount": 0}, 422, id="approve_zero"),
        pytest.param({"decision": "reject"}, 422, id="reject_without_a_note"),
    ],
)
def test_review_refusals(changes, status):
    with pytest.raises(ReviewRefused) as refused:
        review(**changes)
    assert refused.value.status == status


def test_trace_line_names_the_amount_change_and_reason():
    line = review(amount=1_200_000, note="duplicate drug line").trace_line
    assert "14600.00 → 12000.00" in line and "duplicate drug line" in line
