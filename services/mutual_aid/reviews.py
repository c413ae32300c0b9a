"""Reviewing a claim (复核): the pure rules of ``domain.review`` applied to what the store
holds. Plain Python over the store (no nameko)."""

from __future__ import annotations

from urllib.parse import unquote

from services.mutual_aid.domain.review import ReviewRefused, review_claim
from services.mutual_aid.policies import PolicyBook
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
) -> tuple[str | None, bool]:
    """Apply one reviewer's decision under the maker-checker rules: the member's reserved cap
    follows the amount, the review (and, when final, the ``claim_decided`` event) is one guarded
    write, and the audit log gets an entry. Returns the final status (None while a second
    reviewer is due) and whether an event now waits in the outbox."""
    reviews = claim.get("reviews", {})
    current = claim.get("amount_fen") or 0
    try:
        outcome = review_claim(
            status=claim["status"],
            rule_amount=claim.get("rule_amount_fen") or 0,
            current_amount=current,
            reviews_required=claim.get("reviews_required", 1),
            approvals_so_far=[unquote(key) for key in reviews],
            reviewer=staff.sub,
            decision=data["decision"],
            amount=data["amount"],
            note=data["note"],
        )
    except ReviewRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    reserved = resize_cap(store, policies, claim, current, outcome.amount)
    at = now_shanghai().isoformat(timespec="milliseconds")
    review = {
        "decision": data["decision"],
        "amount_fen": outcome.amount,
        "note": data["note"],
        "at": at,
    }
    fields = {
        "amount_fen": outcome.amount,
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
                },
                producer=SERVICE,
                correlation_id=correlation_id,
            )
        )
    applied = store.record_review(
        claim["_id"],
        review_count=claim.get("review_count"),
        reviewer=staff.sub,
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
            "_id": f"review:{claim['_id']}:{staff.sub}",
            "claim_id": claim["_id"],
            "action": f"review_{data['decision']}",
            "by": staff.sub,
            "role": staff.role,
            "org": staff.org,
            "amount_fen": outcome.amount,
            "previous_amount_fen": current,
            "note": data["note"],
            "outcome": outcome.final or "awaiting_second_review",
            "at": at,
        }
    )
    return outcome.final, bool(events)


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
    cap = policies.by_version(claim["policy_version"]).plan(member["plan"]).period_cap
    if store.resize_reservation(
        claim["period"], claim["member_id_hash"], claim["_id"], old, new, cap
    ):
        return True
    if new > old:
        raise ApiError(422, "rule_violation", "the raised amount does not fit in the member's cap")
    return False
