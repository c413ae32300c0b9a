"""Adjudication rules of DOMAIN.md §2, one case per rule and boundary, under the real policy."""

import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest

from services.mutual_aid.domain.adjudication import (
    ClaimContext,
    DischargeBill,
    Membership,
    adjudicate,
)
from services.mutual_aid.domain.policy import MutualAidPolicy
from services.mutual_aid.domain.trace import DIAGNOSIS_HIDDEN
from shared.money import yuan_to_fen
from shared.policy import PolicyStore

POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policy" / "mutual_aid"
POLICY = MutualAidPolicy.from_document(PolicyStore(POLICY_DIR).by_version("mutual_aid/2018-v1"))

# A first-time plan A member, covered from 2018-04-01, with a level 3 stay in May 2018:
# (3000.00 − 800.00) × 0.30 = 660.00 yuan.
FIRST_TIME_A = Membership(period=11, plan="A", coverage_start=date(2018, 1, 1), renewal=False)
BILL = DischargeBill(
    hospital_code="H0001",
    bill_no="ZY2018-000123",
    hospital_level=3,
    patient_id_hash="hash-of-id",
    admission_date=date(2018, 5, 2),
    discharge_date=date(2018, 5, 9),
    diagnoses=("K35.8",),
    total_cost=yuan_to_fen("12000.00"),
    fund_paid=yuan_to_fen("8000.00"),
    self_pay_in_catalogue=yuan_to_fen("3000.00"),
    self_pay_out_of_catalogue=yuan_to_fen("1000.00"),
    single_disease_code=None,
    submitted_on=date(2018, 5, 10),
    drunk_driving=False,
    crime=False,
    third_party_liable=False,
)
CONTEXT = ClaimContext(
    membership=FIRST_TIME_A,
    remaining_cap=yuan_to_fen("10000.00"),
    overlapping_bill_nos=(),
    heads_open_dossier=False,
)


def member(**changes) -> Membership:
    return dataclasses.replace(FIRST_TIME_A, **changes)


def lines(decision, show_diagnoses=True) -> list[str]:
    return [line.text(show_diagnoses=show_diagnoses) for line in decision.trace]


def case(
    id,
    status,
    amount,
    reason=None,
    reviews=0,
    bill=None,
    context=None,
):
    return pytest.param(bill or {}, context or {}, status, amount, reason, reviews, id=id)


CASES = [
    case("formula_approves_covered_member", "approved", "660.00"),
    # 2 coverage
    case(
        "waiting_period_rejects_first_time_enrollee_admitted_on_day_89",
        "rejected",
        "0.00",
        "waiting_period",
        bill={"admission_date": date(2018, 3, 31), "discharge_date": date(2018, 4, 5)},
    ),
    case(
        "waiting_period_ends_for_admission_on_day_90",
        "approved",
        "660.00",
        bill={"admission_date": date(2018, 4, 1), "discharge_date": date(2018, 4, 5)},
    ),
    case(
        "renewal_is_covered_on_day_one",
        "approved",
        "660.00",
        bill={"admission_date": date(2018, 1, 1), "discharge_date": date(2018, 1, 5)},
        context={"membership": member(renewal=True)},
    ),
    case(
        "admission_before_coverage_start_is_not_covered_even_for_a_renewal",
        "rejected",
        "0.00",
        "not_enrolled",
        bill={"admission_date": date(2018, 2, 27), "discharge_date": date(2018, 3, 5)},
        context={"membership": member(renewal=True, coverage_start=date(2018, 3, 1))},
    ),
    case(
        "not_enrolled_member_is_rejected",
        "rejected",
        "0.00",
        "not_enrolled",
        context={"membership": None},
    ),
    case(
        "member_enrolled_in_another_period_is_not_enrolled",
        "rejected",
        "0.00",
        "not_enrolled",
        context={"membership": member(period=12, coverage_start=date(2019, 1, 1))},
    ),
    case(
        "coverage_period_is_the_one_containing_the_discharge_date",
        "rejected",
        "0.00",
        "not_enrolled",
        bill={"admission_date": date(2018, 12, 28), "discharge_date": date(2019, 1, 3)},
    ),
    case(
        "discharge_in_a_year_without_a_period_is_not_enrolled",
        "rejected",
        "0.00",
        "not_enrolled",
        bill={"admission_date": date(2020, 5, 2), "discharge_date": date(2020, 5, 9)},
    ),
    # 3 exclusions
    case(
        "self_harm_x60_is_excluded",
        "rejected",
        "0.00",
        "excluded_self_harm",
        bill={"diagnoses": ("X60",)},
    ),
    case(
        "self_harm_x84_9_is_excluded",
        "rejected",
        "0.00",
        "excluded_self_harm",
        bill={"diagnoses": ("X84.9",)},
    ),
    case(
        "x85_is_outside_self_harm",
        "approved",
        "660.00",
        bill={"diagnoses": ("X85",)},
    ),
    case(
        "exclusion_applies_to_a_secondary_diagnosis",
        "rejected",
        "0.00",
        "excluded_self_harm",
        bill={"diagnoses": ("S72.0", "X70.1")},
    ),
    case(
        "cosmetic_z41_is_excluded",
        "rejected",
        "0.00",
        "excluded_cosmetic",
        bill={"diagnoses": ("Z41.1",)},
    ),
    case(
        "traffic_v01_with_liable_third_party_is_excluded",
        "rejected",
        "0.00",
        "excluded_third_party",
        bill={"diagnoses": ("V01",), "third_party_liable": True},
    ),
    case(
        "traffic_v99_with_liable_third_party_is_excluded",
        "rejected",
        "0.00",
        "excluded_third_party",
        bill={"diagnoses": ("V99",), "third_party_liable": True},
    ),
    case(
        "traffic_v01_without_liable_third_party_is_covered",
        "approved",
        "660.00",
        bill={"diagnoses": ("V01",)},
    ),
    case(
        "liable_third_party_without_traffic_diagnosis_is_covered",
        "approved",
        "660.00",
        bill={"third_party_liable": True},
    ),
    case(
        "drunk_driving_is_excluded",
        "rejected",
        "0.00",
        "excluded_drunk_driving",
        bill={"drunk_driving": True},
    ),
    case(
        "crime_is_excluded",
        "rejected",
        "0.00",
        "excluded_crime",
        bill={"crime": True},
    ),
    case(
        "submission_on_31_march_of_the_following_year_is_in_time",
        "approved",
        "660.00",
        bill={"submitted_on": date(2019, 3, 31)},
    ),
    case(
        "submission_on_1_april_of_the_following_year_is_late",
        "rejected",
        "0.00",
        "late_submission",
        bill={"submitted_on": date(2019, 4, 1)},
    ),
    case(
        "first_exclusion_in_order_gives_the_reason",
        "rejected",
        "0.00",
        "excluded_self_harm",
        bill={"diagnoses": ("X60",), "drunk_driving": True, "submitted_on": date(2019, 4, 1)},
    ),
    # 4 single disease
    case(
        "single_disease_amount_beats_a_higher_formula",
        "approved",
        "800.00",
        bill={"single_disease_code": "K35", "self_pay_in_catalogue": yuan_to_fen("5000.00")},
        context={"membership": member(plan="B")},
    ),
    case(
        "single_disease_pays_where_the_formula_is_below_deductible",
        "approved",
        "600.00",
        bill={"single_disease_code": "K35.9", "self_pay_in_catalogue": yuan_to_fen("700.00")},
    ),
    case(
        "single_disease_amount_follows_the_plan",
        "approved",
        "1200.00",
        bill={"single_disease_code": "O82", "diagnoses": ("O82.0",)},
        context={"membership": member(plan="C"), "remaining_cap": yuan_to_fen("30000.00")},
    ),
    case(
        "single_disease_outside_the_table_uses_the_formula",
        "approved",
        "660.00",
        bill={"single_disease_code": "K80"},
    ),
    # 5 formula
    case(
        "deductible_exactly_met_is_below_deductible",
        "rejected",
        "0.00",
        "below_deductible",
        bill={"self_pay_in_catalogue": yuan_to_fen("800.00")},
    ),
    case(
        "one_fen_above_deductible_pays_half_a_fen_rounded_up_on_plan_c",
        "approved",
        "0.01",
        bill={"self_pay_in_catalogue": yuan_to_fen("800.01")},
        context={"membership": member(plan="C")},
    ),
    case(
        "one_fen_above_deductible_rounds_to_nothing_on_plan_a",
        "rejected",
        "0.00",
        "below_deductible",
        bill={"self_pay_in_catalogue": yuan_to_fen("800.01")},
    ),
    case(
        "deductible_follows_the_hospital_level",
        "approved",
        "810.00",
        bill={"hospital_level": 1},
    ),
    case(
        "hardship_ratio_applies_to_the_head_of_an_open_dossier",
        "approved",
        "880.00",
        context={"heads_open_dossier": True},
    ),
    case(
        "product_ending_in_half_a_fen_rounds_half_up",
        # 10.15 × 0.30 = 3.045: half-up gives 3.05; banker's rounding or floats give 3.04.
        "approved",
        "3.05",
        bill={"self_pay_in_catalogue": yuan_to_fen("810.15")},
    ),
    # 6 cap
    case(
        "cap_exactly_reached_pays_in_full",
        "approved",
        "660.00",
        context={"remaining_cap": yuan_to_fen("660.00")},
    ),
    case(
        "cap_exceeded_pays_the_remaining_cap",
        "approved",
        "659.99",
        context={"remaining_cap": yuan_to_fen("659.99")},
    ),
    case(
        "cap_already_exhausted_is_rejected",
        "rejected",
        "0.00",
        "cap_exhausted",
        context={"remaining_cap": 0},
    ),
    case(
        "below_deductible_wins_over_an_exhausted_cap",
        "rejected",
        "0.00",
        "below_deductible",
        bill={"self_pay_in_catalogue": yuan_to_fen("500.00")},
        context={"remaining_cap": 0},
    ),
    case(
        "amount_never_exceeds_self_pay_in_catalogue",
        "approved",
        "400.00",
        bill={"single_disease_code": "K35", "self_pay_in_catalogue": yuan_to_fen("400.00")},
        context={"membership": member(plan="C")},
    ),
    # 7 review
    case(
        "amount_at_review_threshold_needs_two_reviewers",
        # (20800.00 − 800.00) × 0.50 = 10000.00
        "needs_review",
        "10000.00",
        reviews=2,
        bill={"self_pay_in_catalogue": yuan_to_fen("20800.00")},
        context={"membership": member(plan="C"), "remaining_cap": yuan_to_fen("30000.00")},
    ),
    case(
        "amount_one_fen_below_review_threshold_is_approved",
        # (20799.98 − 800.00) × 0.50 = 9999.99
        "approved",
        "9999.99",
        bill={"self_pay_in_catalogue": yuan_to_fen("20799.98")},
        context={"membership": member(plan="C"), "remaining_cap": yuan_to_fen("30000.00")},
    ),
    # 1 duplicate
    case(
        "overlapping_stay_needs_review_with_the_computed_amount",
        "needs_review",
        "660.00",
        "duplicate_stay",
        reviews=1,
        context={"overlapping_bill_nos": ("ZY2018-000099",)},
    ),
    case(
        "overlapping_stay_above_review_threshold_needs_two_reviewers",
        "needs_review",
        "10000.00",
        "duplicate_stay",
        reviews=2,
        bill={"self_pay_in_catalogue": yuan_to_fen("20800.00")},
        context={
            "membership": member(plan="C"),
            "remaining_cap": yuan_to_fen("30000.00"),
            "overlapping_bill_nos": ("ZY2018-000099",),
        },
    ),
    case(
        "overlapping_stay_of_an_excluded_bill_is_rejected",
        "rejected",
        "0.00",
        "excluded_crime",
        bill={"crime": True},
        context={"overlapping_bill_nos": ("ZY2018-000099",)},
    ),
]


@pytest.mark.parametrize(("bill", "context", "status", "amount", "reason", "reviews"), CASES)
def test_adjudication_decides_each_case_as_the_rule_it_names(
    bill, context, status, amount, reason, reviews
):
    decision = adjudicate(
        dataclasses.replace(BILL, **bill), dataclasses.replace(CONTEXT, **context), POLICY
    )
    assert (decision.status, decision.amount, decision.reason_code, decision.reviews_required) == (
        status,
        yuan_to_fen(amount),
        reason,
        reviews,
    ), decision.trace
    assert decision.rule_amount == yuan_to_fen(amount)
    assert decision.policy_version == "mutual_aid/2018-v1"


def test_trace_has_one_line_per_step_and_records_the_policy_version():
    decision = adjudicate(BILL, CONTEXT, POLICY)
    steps = [line.split(":", 1)[0] for line in lines(decision)]
    assert steps == [
        "1 duplicate",
        "2 coverage",
        "3 exclusions",
        "4 single disease",
        "5 formula",
        "6 cap",
        "7 review",
    ]
    assert decision.policy_version == POLICY.version
    assert f"policy {POLICY.version}, {POLICY.digest[:19]}" in lines(decision)[-1]


def test_coverage_trace_shows_the_waiting_period_arithmetic():
    decision = adjudicate(BILL, CONTEXT, POLICY)
    assert lines(decision)[1] == (
        "2 coverage: enrolled in period 11 plan A since 2018-01-01, first-time enrollee, "
        "admission 2018-05-02 ≥ 2018-04-01 (coverage + 90 days): covered"
    )


def test_rejection_ends_the_trace_at_the_deciding_step():
    bill = dataclasses.replace(BILL, admission_date=date(2018, 3, 31))
    decision = adjudicate(bill, CONTEXT, POLICY)
    trace = lines(decision)
    assert len(trace) == 2
    assert trace[1].startswith("2 coverage:")
    assert "→ rejected (waiting_period)" in trace[1]
    assert f"policy {POLICY.version}" in trace[1]


def test_trace_names_every_exclusion_that_applies():
    bill = dataclasses.replace(BILL, diagnoses=("X60",), drunk_driving=True)
    trace = lines(adjudicate(bill, CONTEXT, POLICY))
    assert "excluded_self_harm" in trace[-1] and "excluded_drunk_driving" in trace[-1]


def test_trace_shows_the_rounding_of_the_formula():
    bill = dataclasses.replace(BILL, self_pay_in_catalogue=yuan_to_fen("810.15"))
    formula = lines(adjudicate(bill, CONTEXT, POLICY))[4]
    assert "= 3.05 yuan (exactly 3.045 yuan, rounded half-up to the fen)" in formula


ICD_CODE = re.compile(r"\b[A-Z][0-9]{2}(\.[0-9A-Z]+)?\b")


def test_diagnosis_exclusion_is_masked_in_the_trace_and_flags_stay_readable():
    bill = dataclasses.replace(BILL, diagnoses=("X70.1",), drunk_driving=True)
    decision = adjudicate(bill, CONTEXT, POLICY)
    masked = lines(decision, show_diagnoses=False)
    assert masked[-1].startswith(f"3 exclusions: {DIAGNOSIS_HIDDEN}; the bill is flagged drunk")
    assert f"→ rejected ({DIAGNOSIS_HIDDEN})" in masked[-1]
    assert "excluded_drunk_driving" in masked[-1]
    assert not any(ICD_CODE.search(line) or "self_harm" in line for line in masked)
    assert "diagnosis X70.1 in X60–X84 (excluded_self_harm)" in lines(decision)[-1]


def test_diagnoses_checked_and_single_disease_entry_are_masked_but_amounts_stay():
    bill = dataclasses.replace(BILL, diagnoses=("K35.8",), single_disease_code="K35")
    decision = adjudicate(bill, CONTEXT, POLICY)
    masked = lines(decision, show_diagnoses=False)
    assert len(masked) == 7
    assert masked[2].startswith(f"3 exclusions: {DIAGNOSIS_HIDDEN}; no drunk driving")
    assert masked[3] == f"4 single disease: {DIAGNOSIS_HIDDEN}: plan A fixed amount 600.00 yuan"
    assert not any(ICD_CODE.search(line) or "appendicitis" in line for line in masked)
    assert "K35 billed, table entry K35 acute appendicitis" in lines(decision)[3]


def test_numbers_come_from_the_policy_not_the_code():
    stricter = dataclasses.replace(
        POLICY, waiting_period_days=30, review_threshold=yuan_to_fen("500.00")
    )
    bill = dataclasses.replace(
        BILL, admission_date=date(2018, 1, 31), discharge_date=date(2018, 2, 3)
    )
    decision = adjudicate(bill, CONTEXT, stricter)
    assert (decision.status, decision.reviews_required) == ("needs_review", 2)


@pytest.mark.parametrize(
    "changes",
    [
        {"discharge_date": date(2018, 5, 1)},
        {"diagnoses": ()},
        {"diagnoses": ("appendix",)},
        {"self_pay_in_catalogue": -1},
    ],
    ids=["discharge_before_admission", "no_diagnosis", "not_an_icd10_code", "negative_amount"],
)
def test_discharge_bill_refuses_impossible_data(changes):
    with pytest.raises(ValueError):
        dataclasses.replace(BILL, **changes)
