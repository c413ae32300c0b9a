"""Approval within the budget: priority national, local, migrant, then applied_on, then receipt."""

from datetime import date

import pytest

from services.student_aid.domain.ranking import Candidate, rank_for_approval

U, J, S = 500_000, 300_000, 200_000  # undergraduate, junior college, senior high (fen)


def candidate(application_id, path, day, received, amount=U):
    return Candidate(application_id, path, date(2018, 7, day), received, amount)


def ids(candidates):
    return [c.application_id for c in candidates]


def test_priority_is_national_then_local_then_migrant_whatever_the_dates():
    ranking = rank_for_approval(
        [
            candidate("migrant", "migrant", 1, 1),
            candidate("local", "local", 2, 2),
            candidate("national", "national", 30, 3),
        ],
        budget_remaining=10 * U,
    )
    assert ids(ranking.approved) == ["national", "local", "migrant"]
    assert ranking.waitlisted == ()


def test_within_a_priority_group_earlier_applied_on_first():
    ranking = rank_for_approval(
        [candidate("late", "local", 20, 1), candidate("early", "local", 5, 2)], 2 * U
    )
    assert ids(ranking.approved) == ["early", "late"]


def test_ties_on_applied_on_go_by_received_order():
    ranking = rank_for_approval(
        [candidate("second", "local", 5, 8), candidate("first", "local", 5, 3)], U
    )
    assert (ids(ranking.approved), ids(ranking.waitlisted)) == (["first"], ["second"])


def test_budget_ending_in_the_middle_of_a_priority_group():
    ranking = rank_for_approval(
        [
            candidate("n1", "national", 1, 1),
            candidate("l1", "local", 1, 2),
            candidate("l2", "local", 2, 3),
            candidate("l3", "local", 3, 4),
            candidate("m1", "migrant", 1, 5),
        ],
        budget_remaining=3 * U,
    )
    assert ids(ranking.approved) == ["n1", "l1", "l2"]
    assert ids(ranking.waitlisted) == ["l3", "m1"]
    assert ranking.approved_total == 3 * U


def test_no_skipping_ahead_to_a_smaller_award_refused():
    # 5,000 left after n1: l1 (5,000) does not fit in 4,000; m1 (2,000) would, but is waitlisted.
    ranking = rank_for_approval(
        [
            candidate("n1", "national", 1, 1, J),
            candidate("l1", "local", 1, 2, U),
            candidate("m1", "migrant", 1, 3, S),
        ],
        budget_remaining=J + 400_000,
    )
    assert ids(ranking.approved) == ["n1"]
    assert ids(ranking.waitlisted) == ["l1", "m1"]


@pytest.mark.parametrize(
    ("budget", "approved"),
    [(U + J - 1, ["a"]), (U + J, ["a", "b"]), (0, [])],
    ids=["one fen short", "exactly enough", "no budget"],
)
def test_an_award_fits_when_it_does_not_exceed_what_remains(budget, approved):
    ranking = rank_for_approval(
        [candidate("a", "national", 1, 1, U), candidate("b", "national", 2, 2, J)], budget
    )
    assert ids(ranking.approved) == approved
    assert ids(ranking.waitlisted) == [i for i in ["a", "b"] if i not in approved]


def test_a_budget_raise_approves_the_waitlist_in_the_same_order():
    applications = [candidate(f"l{i}", "local", i, i) for i in range(1, 5)]
    first = rank_for_approval(applications, 2 * U)
    assert ids(first.waitlisted) == ["l3", "l4"]
    again = rank_for_approval(first.waitlisted, U)  # the raise frees one more award
    assert (ids(again.approved), ids(again.waitlisted)) == (["l3"], ["l4"])


def test_nothing_to_rank():
    ranking = rank_for_approval([], U)
    assert (ranking.approved, ranking.waitlisted, ranking.approved_total) == ((), (), 0)
