"""Accepting a discharge bill: the facts the rules depend on (the hospital's registered level,
the policy's single-disease table, the day we received it) are ours, checked before anything
is stored. Plain Python over the store (no nameko)."""

from __future__ import annotations

from datetime import date

from services.mutual_aid.application.policies import PolicyBook
from services.mutual_aid.store import MutualAidStore
from shared.contracts.mutual_aid import (
    DischargeBillSchema,
    check_hospital_level,
    submission_date,
)
from shared.errors import ApiError, validated, validation_error
from shared.events import make_event

SERVICE = "mutual_aid"


def check_single_disease(policies: PolicyBook, code: str | None, discharge_date: date) -> None:
    """A billed single-disease group must be in the table of the policy in force on the
    discharge date: a 400 now, rather than a claim that cannot be adjudicated later."""
    if not code:
        return
    policy = policies.in_force_on(discharge_date)
    if policy.single_disease(code) is None:
        table = ", ".join(sorted(policy.single_diseases)) or "empty"
        raise validation_error(
            {
                "single_disease_code": [
                    f"{code} is not in the single-disease table of {policy.version} ({table})"
                ]
            }
        )


def accept_bill(
    store: MutualAidStore,
    policies: PolicyBook,
    partner: dict,
    webhook_id: str,
    bill: dict,
    correlation_id: str,
    *,
    allow_backdated: bool,
) -> tuple[str, str, bool]:
    """Check a hospital's bill and store it as a received claim with its ``claim_received``
    event. Returns (claim_id, status to answer, created) as ``store.accept_bill`` does."""
    if partner.get("kind") != "hospital":
        raise ApiError(403, "forbidden", "only a registered hospital submits discharge bills")
    data = validated(DischargeBillSchema(), bill)
    check_single_disease(policies, data["single_disease_code"], data["discharge_date"])
    check_hospital_level(partner, data["hospital_level"])
    submitted_on = submission_date(data["submitted_on"], data["discharge_date"], allow_backdated)
    stored = {
        "bill_no": data["bill_no"],
        "patient_id_number": data["patient_id_number"],
        "patient_name": data["patient_name"],
        "hospital_level": partner["level"],
        "admission_date": data["admission_date"].isoformat(),
        "discharge_date": data["discharge_date"].isoformat(),
        "diagnoses": list(data["diagnoses"]),
        "total_cost": data["total_cost"],
        "fund_paid": data["fund_paid"],
        "self_pay_in_catalogue": data["self_pay_in_catalogue"],
        "self_pay_out_of_catalogue": data["self_pay_out_of_catalogue"],
        "single_disease_code": data["single_disease_code"],
        "submitted_on": submitted_on.isoformat(),
        "flags": data["flags"],
    }
    return store.accept_bill(
        partner["code"],
        webhook_id,
        stored,
        lambda claim_id: make_event(
            "claim_received",
            {"claim_id": claim_id, "hospital_code": partner["code"], "bill_no": data["bill_no"]},
            producer=SERVICE,
            correlation_id=correlation_id,
        ),
    )
