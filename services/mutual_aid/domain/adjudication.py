"""Adjudication of a discharge bill under a mutual-aid policy: seven rules, one trace line each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from services.mutual_aid.domain.policy import (
    DiagnosisExclusion,
    MutualAidPolicy,
    Plan,
    icd10_category,
)
from services.mutual_aid.domain.trace import Diagnosis, TraceLine
from shared.money import apply_ratio, format_fen

Status = Literal["approved", "rejected", "needs_review"]

NOT_ENROLLED = "not_enrolled"
WAITING_PERIOD = "waiting_period"
EXCLUDED_DRUNK_DRIVING = "excluded_drunk_driving"
EXCLUDED_CRIME = "excluded_crime"
LATE_SUBMISSION = "late_submission"
BELOW_DEDUCTIBLE = "below_deductible"
CAP_EXHAUSTED = "cap_exhausted"
DUPLICATE_STAY = "duplicate_stay"


@dataclass(frozen=True)
class DischargeBill:
    """A hospital's discharge bill (住院清单) as adjudication needs it; amounts in fen."""

    hospital_code: str
    bill_no: str
    hospital_level: int
    patient_id_hash: str
    admission_date: date
    discharge_date: date
    diagnoses: tuple[str, ...]
    total_cost: int
    fund_paid: int
    self_pay_in_catalogue: int
    self_pay_out_of_catalogue: int
    single_disease_code: str | None
    submitted_on: date
    drunk_driving: bool
    crime: bool
    third_party_liable: bool

    def __post_init__(self) -> None:
        if self.discharge_date < self.admission_date:
            raise ValueError(
                f"bill {self.bill_no}: discharge {self.discharge_date} before "
                f"admission {self.admission_date}"
            )
        if not self.diagnoses:
            raise ValueError(f"bill {self.bill_no}: at least one diagnosis is required")
        for code in self.diagnoses:
            icd10_category(code)
        amounts = (
            self.total_cost,
            self.fund_paid,
            self.self_pay_in_catalogue,
            self.self_pay_out_of_catalogue,
        )
        if any(isinstance(a, bool) or not isinstance(a, int) or a < 0 for a in amounts):
            raise ValueError(f"bill {self.bill_no}: amounts must be non-negative integer fen")


@dataclass(frozen=True)
class Membership:
    """The member's enrolment in one period; ``renewal`` when also enrolled in the one before."""

    period: int
    plan: str
    coverage_start: date
    renewal: bool


@dataclass(frozen=True)
class ClaimContext:
    """What the store knows about the member when the bill arrives."""

    membership: Membership | None
    remaining_cap: int
    overlapping_bill_nos: tuple[str, ...]
    heads_open_dossier: bool


@dataclass(frozen=True)
class Decision:
    """The outcome of adjudication; ``rule_amount`` is what the rules gave before review."""

    status: Status
    amount: int
    reason_code: str | None
    trace: tuple[TraceLine, ...]
    policy_version: str
    rule_amount: int
    reviews_required: int


def adjudicate(bill: DischargeBill, context: ClaimContext, policy: MutualAidPolicy) -> Decision:
    """Apply DOMAIN.md §2 steps 1–7 in order; the first rejecting step ends adjudication."""
    trace: list[TraceLine] = []

    def finish(status: Status, amount: int, reason: str | None, reviews: int) -> Decision:
        trace[-1] = trace[-1].then(f" [policy {policy.version}, {policy.digest[:19]}]")
        return Decision(
            status=status,
            amount=amount,
            reason_code=reason,
            trace=tuple(trace),
            policy_version=policy.version,
            rule_amount=amount,
            reviews_required=reviews,
        )

    def reject(line: TraceLine, reason: str) -> Decision:
        trace.append(line.then(" → rejected (", _marked(reason, reason, policy), ")"))
        return finish("rejected", 0, reason, 0)

    overlapping = bool(context.overlapping_bill_nos)
    trace.append(TraceLine.of(_overlap_line(bill, context.overlapping_bill_nos)))

    period = policy.period_for_date(bill.discharge_date)
    text, reason = _coverage(bill, context.membership, period, policy)
    if reason:
        return reject(TraceLine.of(text), reason)
    trace.append(TraceLine.of(text))
    membership = context.membership
    plan = policy.plan(membership.plan)

    line, reason = _exclusions(bill, membership.period, policy)
    if reason:
        return reject(line, reason)
    trace.append(line)

    line, single_disease_amount = _single_disease(bill, plan, policy)
    trace.append(line)

    if single_disease_amount is None:
        text, rule_amount = _formula(bill, plan, context.heads_open_dossier, policy)
    else:
        text = "5 formula: not used, the single-disease amount stands"
        rule_amount = single_disease_amount
    trace.append(TraceLine.of(text))

    remaining_cap = max(0, context.remaining_cap)
    amount = min(rule_amount, remaining_cap, bill.self_pay_in_catalogue)
    line = TraceLine.of(
        f"6 cap: min(rule amount {_yuan(rule_amount)}, remaining cap {_yuan(remaining_cap)}, "
        f"self-pay in catalogue {_yuan(bill.self_pay_in_catalogue)}) = {_yuan(amount)}"
    )
    if amount == 0:
        # Zero from the rules themselves is the deductible's doing; zero only after the cap
        # is the cap's. A single-disease amount against no self-pay has nothing to subsidise,
        # which is the deductible's reason too.
        reason = CAP_EXHAUSTED if rule_amount > 0 and remaining_cap == 0 else BELOW_DEDUCTIBLE
        return reject(line, reason)
    trace.append(line)

    threshold = policy.review_threshold
    if amount >= threshold:
        reviews = 2
        text = (
            f"7 review: {_yuan(amount)} ≥ threshold {_yuan(threshold)}: "
            "needs approval by two different reviewers"
        )
    else:
        reviews = 0
        text = f"7 review: {_yuan(amount)} < threshold {_yuan(threshold)}"
    if overlapping:
        reviews = max(reviews, 1)
        text += f"; overlapping stay: needs review ({DUPLICATE_STAY})"
    elif reviews == 0:
        text += ": approved"
    trace.append(TraceLine.of(text))
    if reviews:
        return finish("needs_review", amount, DUPLICATE_STAY if overlapping else None, reviews)
    return finish("approved", amount, None, 0)


def _yuan(fen: int) -> str:
    return f"{format_fen(fen)} yuan"


def _overlap_line(bill: DischargeBill, overlapping_bill_nos: tuple[str, ...]) -> str:
    stay = f"{bill.admission_date}..{bill.discharge_date}"
    if not overlapping_bill_nos:
        return f"1 duplicate: no other bill of this member overlaps the stay {stay}"
    return (
        f"1 duplicate: the stay {stay} overlaps bill(s) {', '.join(overlapping_bill_nos)} "
        "of the same member: flagged for review, amount still computed"
    )


def _coverage(
    bill: DischargeBill, membership: Membership | None, period: int | None, policy: MutualAidPolicy
) -> tuple[str, str | None]:
    if period is None:
        return (
            f"2 coverage: discharge {bill.discharge_date} falls in no period of the policy",
            NOT_ENROLLED,
        )
    where = f"2 coverage: discharge {bill.discharge_date} falls in period {period}"
    if membership is None:
        return f"{where}; the member is not enrolled in it", NOT_ENROLLED
    if membership.period != period:
        return (
            f"{where}; the member is enrolled in period {membership.period} instead",
            NOT_ENROLLED,
        )
    enrolled = (
        f"2 coverage: enrolled in period {period} plan {membership.plan} "
        f"since {membership.coverage_start}"
    )
    admission = bill.admission_date
    if admission < membership.coverage_start:
        return (
            f"{enrolled}, admission {admission} before coverage start: not covered",
            NOT_ENROLLED,
        )
    if membership.renewal:
        return (
            f"{enrolled}, renewal (enrolled in period {period - 1}), covered from day one, "
            f"admission {admission}: covered",
            None,
        )
    covered_from = membership.coverage_start + timedelta(days=policy.waiting_period_days)
    waiting = f"(coverage + {policy.waiting_period_days} days)"
    if admission < covered_from:
        return (
            f"{enrolled}, first-time enrollee, admission {admission} < {covered_from} {waiting}: "
            "in the waiting period",
            WAITING_PERIOD,
        )
    return (
        f"{enrolled}, first-time enrollee, admission {admission} ≥ {covered_from} {waiting}: "
        "covered",
        None,
    )


def _exclusions(
    bill: DischargeBill, period: int, policy: MutualAidPolicy
) -> tuple[TraceLine, str | None]:
    """The exclusions step; every part naming a diagnosis, its range or its reason is marked."""
    applying: list[tuple[str, str]] = []
    notes: list[Diagnosis] = []
    for code in bill.diagnoses:
        category = icd10_category(code)
        for exclusion in policy.exclusions:
            if not exclusion.covers(category):
                continue
            if exclusion.only_with_liable_third_party and not bill.third_party_liable:
                notes.append(Diagnosis(f"{code} in {exclusion} but no liable third party is named"))
                continue
            applying.append((exclusion.reason_code, f"diagnosis {code} in {exclusion}"))
    if bill.drunk_driving:
        applying.append((EXCLUDED_DRUNK_DRIVING, "the bill is flagged drunk driving"))
    if bill.crime:
        applying.append((EXCLUDED_CRIME, "the bill is flagged crime"))
    deadline = policy.submission_deadline(period)
    if bill.submitted_on > deadline:
        applying.append(
            (LATE_SUBMISSION, f"submitted {bill.submitted_on} after the deadline {deadline}")
        )
    if applying:
        found = [_marked(f"{text} ({reason})", reason, policy) for reason, text in applying]
        return _joined("3 exclusions: ", found), applying[0][0]
    ranges = ", ".join(_describe(exclusion) for exclusion in policy.exclusions) or "no ranges"
    details: list[str | Diagnosis] = [
        Diagnosis(f"diagnoses {', '.join(bill.diagnoses)} checked against {ranges}"),
        *notes,
        "no drunk driving or crime flag",
        f"submitted {bill.submitted_on} ≤ deadline {deadline}",
    ]
    return _joined("3 exclusions: ", details).then(": none apply"), None


def _marked(text: str, reason: str, policy: MutualAidPolicy) -> str | Diagnosis:
    """``text`` as a diagnosis part when its reason is a diagnosis range's (it tells the illness)."""
    return Diagnosis(text) if reason in policy.diagnosis_reason_codes else text


def _joined(head: str, items: list[str | Diagnosis]) -> TraceLine:
    """``head`` then the items separated by "; ", each item kept whole (marked or not)."""
    parts: list[str | Diagnosis] = [head]
    for index, item in enumerate(items):
        if index:
            parts.append("; ")
        parts.append(item)
    return TraceLine(tuple(parts))


def _describe(exclusion: DiagnosisExclusion) -> str:
    if exclusion.only_with_liable_third_party:
        return f"{exclusion} ({exclusion.reason_code}, with a liable third party)"
    return f"{exclusion} ({exclusion.reason_code})"


def _single_disease(
    bill: DischargeBill, plan: Plan, policy: MutualAidPolicy
) -> tuple[TraceLine, int | None]:
    """The single-disease step; the billed group and its table entry are marked as diagnoses."""
    if not bill.single_disease_code:
        return TraceLine.of("4 single disease: none billed, the formula applies"), None
    disease = policy.single_disease(bill.single_disease_code)
    if disease is None:
        return (
            TraceLine.of(
                "4 single disease: ",
                Diagnosis(f"{bill.single_disease_code} billed but not in the policy table"),
                ", the formula applies",
            ),
            None,
        )
    amount = disease.amount_by_plan[plan.code]
    return (
        TraceLine.of(
            "4 single disease: ",
            Diagnosis(
                f"{bill.single_disease_code} billed, table entry {disease.category} {disease.name}"
            ),
            f": plan {plan.code} fixed amount {_yuan(amount)}",
        ),
        amount,
    )


def _formula(
    bill: DischargeBill, plan: Plan, heads_open_dossier: bool, policy: MutualAidPolicy
) -> tuple[str, int]:
    deductible = policy.deductible(bill.hospital_level)
    base = max(0, bill.self_pay_in_catalogue - deductible)
    if heads_open_dossier:
        ratio, ratio_name = plan.hardship_ratio, "hardship ratio (heads an open dossier)"
    else:
        ratio, ratio_name = plan.ratio, "ratio"
    amount = apply_ratio(base, ratio)
    line = (
        f"5 formula: max(0, self-pay in catalogue {_yuan(bill.self_pay_in_catalogue)} − "
        f"level {bill.hospital_level} deductible {_yuan(deductible)}) = {_yuan(base)} × "
        f"plan {plan.code} {ratio_name} {ratio} = {_yuan(amount)}"
    )
    product = Decimal(base) * ratio
    if product != amount:
        line += f" (exactly {(product / 100).normalize():f} yuan, rounded half-up to the fen)"
    return line, amount


__all__ = [
    "BELOW_DEDUCTIBLE",
    "CAP_EXHAUSTED",
    "DUPLICATE_STAY",
    "EXCLUDED_CRIME",
    "EXCLUDED_DRUNK_DRIVING",
    "LATE_SUBMISSION",
    "NOT_ENROLLED",
    "WAITING_PERIOD",
    "ClaimContext",
    "Decision",
    "DischargeBill",
    "Membership",
    "adjudicate",
]
