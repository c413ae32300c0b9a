"""Deciding a claim: the pure rules of ``domain.adjudication`` applied to what the store
holds, with the cap reserved atomically. Plain Python over the store (no nameko)."""

from __future__ import annotations

from datetime import date

from services.mutual_aid.application.policies import PolicyBook
from services.mutual_aid.domain.adjudication import (
    ClaimContext,
    Decision,
    DischargeBill,
    Membership,
    adjudicate,
)
from services.mutual_aid.store import MutualAidStore
from shared.events import Event, make_event, now_shanghai

SERVICE = "mutual_aid"


def bill_from_claim(store: MutualAidStore, claim: dict) -> DischargeBill:
    """The discharge bill as the rules see it (diagnoses in clear), from the stored claim."""
    diagnoses, single_disease_code = store.medical_facts(claim)
    return DischargeBill(
        hospital_code=claim["hospital_code"],
        bill_no=claim["bill_no"],
        hospital_level=claim["hospital_level"],
        patient_id_hash=claim["member_id_hash"],
        admission_date=date.fromisoformat(claim["admission_date"]),
        discharge_date=date.fromisoformat(claim["discharge_date"]),
        diagnoses=diagnoses,
        total_cost=claim["total_cost"],
        fund_paid=claim["fund_paid"],
        self_pay_in_catalogue=claim["self_pay_in_catalogue"],
        self_pay_out_of_catalogue=claim["self_pay_out_of_catalogue"],
        single_disease_code=single_disease_code,
        submitted_on=date.fromisoformat(claim["submitted_on"]),
        drunk_driving=claim["flags"].get("drunk_driving", False),
        crime=claim["flags"].get("crime", False),
        third_party_liable=claim["flags"].get("third_party_liable", False),
    )


def decide_claim(
    store: MutualAidStore, policies: PolicyBook, claim: dict, correlation_id: str
) -> tuple[Decision, bool]:
    """Adjudicate a received claim, reserve its share of the member's cap, and record the
    decision with its ``claim_decided`` event in one write (only from ``received``, so a
    redelivered event decides nothing twice). Returns the decision and whether it was recorded."""
    decision, fields, decided = adjudicated(store, policies, claim, correlation_id)
    return decision, store.record_decision(claim["_id"], fields, decided)


def decide_submitted_bill(
    store: MutualAidStore, policies: PolicyBook, submitted: dict, correlation_id: str
) -> tuple[Decision, bool]:
    """A bill the gateway accepted (``bill_submitted``): adjudicated at once and inserted as a
    decided claim under the id the hospital was answered, with its ``claim_decided`` event, in
    one insert. A repeat (the same bill again, a redelivery) collides with the claim and adds
    nothing; the cap reservation is keyed by the claim, so a repeat never reserves twice, and
    one made for a bill that collides with another claim (a webhook id reused for another
    bill, a claim stored before ids were derived) is released. Returns (decision, inserted)."""
    claim = {
        "_id": submitted["claim_id"],
        **{key: value for key, value in submitted.items() if key != "claim_id"},
        "status": "received",
        "received_at": now_shanghai().isoformat(timespec="milliseconds"),
    }
    decision, fields, decided = adjudicated(store, policies, claim, correlation_id)
    outcome = store.insert_decided_claim({**claim, **fields}, decided)
    if outcome == "another_claim" and decision.amount:
        # The bill number or webhook id is another claim's: this one is never stored, so
        # its reservation must not hold the member's cap.
        store.release_reservation(fields["period"], claim["member_id_hash"], claim["_id"])
    return decision, outcome == "inserted"


def adjudicated(
    store: MutualAidStore, policies: PolicyBook, claim: dict, correlation_id: str
) -> tuple[Decision, dict, Event]:
    """The decision on ``claim`` with its cap share reserved: (decision, the claim's decision
    fields, its ``claim_decided`` event), for the caller to write in one go."""
    bill = bill_from_claim(store, claim)
    policy = policies.in_force_on(bill.discharge_date)
    period = policy.period_for_date(bill.discharge_date)
    overlapping = store.overlapping_bill_nos(claim)
    # Two bills of one member decided at once race for the same cap: the reservation is a
    # conditional update, and the loser adjudicates again against what is left.
    for _ in range(5):
        member = store.membership(period, bill.patient_id_hash) if period else None
        membership, remaining, hardship = None, 0, False
        if member is not None:
            # Kept on the member's document (else read from the dossier read model); a bill
            # of someone not enrolled is rejected before the ratio matters.
            hardship = store.heads_open_dossier(bill.patient_id_hash, member)
            membership = Membership(
                period=member["period"],
                plan=member["plan"],
                coverage_start=date.fromisoformat(member["coverage_start"]),
                renewal=member["renewal"],
            )
            cap = policy.plan(member["plan"]).period_cap
            already_reserved = member["cap_claims"].get(claim["_id"], 0)
            remaining = cap - (member["cap_used"] - already_reserved)
        context = ClaimContext(
            membership=membership,
            remaining_cap=remaining,
            overlapping_bill_nos=overlapping,
            heads_open_dossier=hardship,
        )
        decision = adjudicate(bill, context, policy)
        if decision.amount == 0 or claim["_id"] in member["cap_claims"]:
            break
        if store.reserve_cap(period, bill.patient_id_hash, claim["_id"], decision.amount, cap):
            break
    else:
        raise RuntimeError(f"could not reserve the cap for claim {claim['_id']}; will retry")
    member_org = member["employer_org"] if member else None
    decided = make_event(
        "claim_decided",
        {
            "claim_id": claim["_id"],
            "member_id_hash": claim["member_id_hash"],
            "member_id_masked": claim["member_id_masked"],
            "status": decision.status,
            "amount_fen": decision.amount,
            "reason_code": decision.reason_code,
            "period": period,
            "policy_version": decision.policy_version,
            "member_org": member_org,
        },
        producer=SERVICE,
        correlation_id=correlation_id,
    )
    return (
        decision,
        {
            "status": decision.status,
            "amount_fen": decision.amount,
            "rule_amount_fen": decision.rule_amount,
            "reason_code": decision.reason_code,
            "reviews_required": decision.reviews_required,
            "trace": store.sealed_trace(decision.trace),
            "policy_version": decision.policy_version,
            "policy_digest": policy.digest,
            "period": period,
            "review_count": 0,
            "reviews": {},
            "plan": membership.plan if membership else None,
            "member_org": member_org,
            "decided_at": now_shanghai().isoformat(timespec="milliseconds"),
        },
        decided,
    )
