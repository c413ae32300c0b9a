"""Reviewing a claim (复核): the pure rules of ``domain.review`` applied to what the store
holds. Plain Python over the store (no nameko)."""

from __future__ import annotations

from services.mutual_aid.application.policies import PolicyBook
from services.mutual_aid.domain.review import AmountLimits, review_claim
from services.mutual_aid.store import MutualAidStore
from shared.auth import StaffPrincipal
from shared.errors import ApiError
from shared.events import make_event, now_shanghai

SERVICE = "mutual_aid"


def apply_review(
    store: MutualAidStore,
    policies: PolicyBook,
    claim: dict,
    staff: StaffPrincipal,
    data: dict,
    correlation_id: str,
) -> str | None:
    """Apply one reviewer's decision under the maker-checker rules: the member's reserved cap
    follows the amount, the review (and, when final, the ``claim_decided`` event) is one guarded
    write, and the audit log gets an entry per review. Returns the final status (None while
    approvals are due). A review the rules refuse raises their domain error
    (``domain.review``), answered by the door."""
    current = claim.get("amount_fen") or 0
    outcome = review_claim(
        status=claim["status"],
        rule_amount=claim.get("rule_amount_fen") or 0,
        current_amount=current,
        approvals=claim.get("approvals", []),
        limits=amount_limits(store, policies, claim),
        reviewer=staff.sub,
        decision=data["decision"],
        amount=data["amount"],
        note=data["note"],
    )
    reserved = resize_cap(store, policies, claim, current, outcome.amount)
    at = now_shanghai().isoformat(timespec="milliseconds")
    # Reviews are numbered by the count the guarded write checks, so each has its own key.
    number = claim.get("review_count") or 0
    review = {
        "by": staff.sub,
        "decision": data["decision"],
        "amount_fen": outcome.amount,
        "previous_amount_fen": current,
        "note": data["note"],
        "at": at,
    }
    fields = {
        "amount_fen": outcome.amount,
        "approvals": list(outcome.approvals),
        "trace": [*claim.get("trace", []), outcome.trace_line],
    }
    events = []
    if outcome.final:
        fields.update({"status": outcome.final, "reviewed_at": at})
        events.append(
            make_event(
                "claim_decided",
                {
                    "claim_id": claim["_id"],
                    "member_id_hash": claim["member_id_hash"],
                    "member_id_masked": claim["member_id_masked"],
                    "status": outcome.final,
                    "amount_fen": outcome.amount,
                    "reason_code": claim.get("reason_code"),
                    "period": claim.get("period"),
                    "policy_version": claim["policy_version"],
                    "member_org": claim.get("member_org"),
                },
                producer=SERVICE,
                correlation_id=correlation_id,
            )
        )
    applied = store.record_review(
        claim["_id"],
        review_count=claim.get("review_count"),
        number=number,
        review=review,
        decision_fields=fields,
        events=events,
    )
    if not applied:
        if reserved:
            resize_cap(store, policies, claim, outcome.amount, current)  # give the change back
        raise ApiError(409, "conflict", "the claim was reviewed at the same time; reload it")
    store.append_audit(
        {
            "_id": f"review:{claim['_id']}:{number}",
            "claim_id": claim["_id"],
            "action": f"review_{data['decision']}",
            "by": staff.sub,
            "role": staff.role,
            "org": staff.org,
            "amount_fen": outcome.amount,
            "previous_amount_fen": current,
            "approvals": list(outcome.approvals),
            "approvals_needed": outcome.needed,
            "note": data["note"],
            "outcome": outcome.final or "awaiting_second_review",
            "at": at,
        }
    )
    return outcome.final


def amount_limits(store: MutualAidStore, policies: PolicyBook, claim: dict) -> AmountLimits:
    """The claim policy's review threshold, the bill's 个人自付, and the member's cap left for
    this claim: what is free plus what the claim holds already (nothing beyond its current
    amount when it holds no reservation)."""
    policy = policies.by_version(claim["policy_version"], claim.get("policy_digest"))
    current = claim.get("amount_fen") or 0
    member = (
        store.membership(claim["period"], claim["member_id_hash"]) if claim.get("period") else None
    )
    if member is None or claim["_id"] not in member.get("cap_claims", {}):
        cap_room = current
    else:
        cap = policy.plan(member["plan"]).period_cap
        cap_room = cap - member["cap_used"] + member["cap_claims"][claim["_id"]]
    return AmountLimits(
        threshold=policy.review_threshold,
        self_pay=claim["self_pay_in_catalogue"],
        cap_room=cap_room,
    )


def resize_cap(
    store: MutualAidStore, policies: PolicyBook, claim: dict, old: int, new: int
) -> bool:
    """Keep the member's reserved cap equal to the claim's amount: a raise must fit under
    the cap (422 otherwise); a lowering or a rejection gives the difference back."""
    if old == new or claim.get("period") is None:
        return False
    member = store.membership(claim["period"], claim["member_id_hash"])
    if member is None or claim["_id"] not in member.get("cap_claims", {}):
        return False
    cap = (
        policies.by_version(claim["policy_version"], claim.get("policy_digest"))
        .plan(member["plan"])
        .period_cap
    )
    if store.resize_reservation(
        claim["period"], claim["member_id_hash"], claim["_id"], old, new, cap
    ):
        return True
    if new > old:
        raise ApiError(
            422,
            "rule_violation",
            "the raised amount does not fit in the member's cap",
            {"amount": ["above what the member's cap leaves for this claim"]},
        )
    return False
