"""Review rules (DOMAIN.md §2 step 7): maker-checker on the final amount, amount changes
restart the approvals, limits of 个人自付 and the cap, rejection."""

import pytest

from services.mutual_aid.domain.review import (
    AmountLimits,
    approvals_needed,
    review_claim,
)
from shared.domain_errors import DomainError
from shared.errors import answer

THRESHOLD = 1_000_000  # 10,000.00 yuan, as in config/policy/mutual_aid/2018-v1.toml
LIMITS = AmountLimits(threshold=THRESHOLD, self_pay=2_900_000, cap_room=3_000_000)
BASE = {
    "status": "needs_review",
    "rule_amount": 1_460_000,
    "current_amount": 1_460_000,
    "approvals": [],
    "limits": LIMITS,
    "reviewer": "r1",
    "decision": "approve",
    "amount": None,
    "note": "",
}
# A one-review claim: an overlapping stay (duplicate_stay) whose rules gave 9,750.00.
STAY = {"rule_amount": 975_000, "current_amount": 975_000}


def review(**changes):
    return review_claim(**{**BASE, **changes})


@pytest.mark.parametrize(
    ("amount", "rule_amount", "needed"),
    [
        pytest.param(999_999, 999_999, 1, id="below_threshold_at_rule_amount"),
        pytest.param(1_000_000, 1_460_000, 2, id="at_threshold"),
        pytest.param(900_000, 1_460_000, 1, id="lowered_below_threshold"),
        pytest.param(975_100, 975_000, 2, id="raised_above_rule_amount_below_threshold"),
        pytest.param(1_500_000, 975_000, 2, id="raised_above_threshold"),
    ],
)
def test_approvals_needed_follow_the_final_amount(amount, rule_amount, needed):
    assert approvals_needed(amount, rule_amount, THRESHOLD) == needed


@pytest.mark.parametrize(
    ("changes", "final", "amount", "approvals"),
    [
        pytest.param({}, None, 1_460_000, ("r1",), id="first_of_two_approvals_waits"),
        pytest.param(
            {"approvals": ["r1"], "reviewer": "r2"},
            "approved",
            1_460_000,
            ("r1", "r2"),
            id="second_different_reviewer_approves_the_same_amount",
        ),
        pytest.param(
            {"amount": 1_200_000}, None, 1_200_000, ("r1",), id="lowering_above_threshold_waits"
        ),
        pytest.param(
            {"approvals": ["r1"], "reviewer": "r2", "amount": 1_200_000},
            None,
            1_200_000,
            ("r2",),
            id="checker_changing_the_amount_restarts_the_approvals",
        ),
        pytest.param(
            {"approvals": ["r2"], "reviewer": "r1", "current_amount": 1_200_000},
            "approved",
            1_200_000,
            ("r2", "r1"),
            id="maker_of_an_earlier_amount_may_approve_the_new_one",
        ),
        pytest.param(
            {**STAY}, "approved", 975_000, ("r1",), id="one_review_below_threshold_at_rule_amount"
        ),
        pytest.param(
            {**STAY, "amount": 900_000},
            "approved",
            900_000,
            ("r1",),
            id="lowering_below_threshold_needs_one_review",
        ),
        pytest.param(
            {**STAY, "amount": 1_500_000, "note": "hospital corrected the bill"},
            None,
            1_500_000,
            ("r1",),
            id="raising_a_one_review_claim_above_threshold_waits_for_a_second",
        ),
        pytest.param(
            {**STAY, "amount": 980_000, "note": "a missed line"},
            None,
            980_000,
            ("r1",),
            id="raising_above_rule_amount_below_threshold_waits_for_a_second",
        ),
        pytest.param(
            {**STAY, "current_amount": 1_500_000, "approvals": ["r1"], "reviewer": "r2"},
            "approved",
            1_500_000,
            ("r1", "r2"),
            id="raised_amount_approved_by_a_second_reviewer",
        ),
        pytest.param(
            {"decision": "reject", "note": "forged bill"}, "rejected", 0, (), id="reject_ends_it"
        ),
        pytest.param(
            {"decision": "reject", "note": "no", "approvals": ["r1"], "reviewer": "r2"},
            "rejected",
            0,
            (),
            id="checker_can_reject_after_maker_approved",
        ),
    ],
)
def test_review_ends_once_the_final_amount_has_its_approvals_or_on_a_reject(
    changes, final, amount, approvals
):
    outcome = review(**changes)
    assert (outcome.final, outcome.amount, outcome.approvals) == (final, amount, approvals)
    assert outcome.trace_line.startswith("review: ")


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        pytest.param({"approvals": ["r1"]}, 409, None, id="same_reviewer_approving_twice"),
        pytest.param(
            {"approvals": ["r1"], "amount": 1_200_000},
            409,
            None,
            id="maker_changing_their_own_approved_amount",
        ),
        pytest.param({"status": "approved"}, 409, None, id="not_awaiting_review"),
        pytest.param({"status": "received"}, 409, None, id="not_decided_yet"),
        pytest.param({"amount": 1_460_001}, 422, "note", id="raise_without_a_reason"),
        pytest.param({"amount": 0}, 422, "amount", id="approve_zero"),
        pytest.param(
            {"amount": 2_900_001, "note": "x"}, 422, "amount", id="above_self_pay_in_catalogue"
        ),
        pytest.param(
            {
                "amount": 2_000_000,
                "note": "x",
                "limits": AmountLimits(THRESHOLD, 2_900_000, 1_999_999),
            },
            422,
            "amount",
            id="above_the_members_remaining_cap",
        ),
        pytest.param({"decision": "reject"}, 422, "note", id="reject_without_a_note"),
    ],
)
def test_review_breaking_maker_checker_or_the_amount_limits_is_refused(changes, status, field):
    with pytest.raises(DomainError) as refused:
        review(**changes)
    assert (answer(refused.value).status, refused.value.field) == (status, field)


def test_trace_line_names_the_amount_change_and_reason():
    line = review(amount=1_200_000, note="duplicate drug line").trace_line
    assert "14600.00 → 12000.00" in line and "duplicate drug line" in line
