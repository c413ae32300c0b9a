"""Monthly payouts: a batch per month of every approved claim not yet in one, the bank's
file, and the confirmation that marks them paid. Plain Python over the store (no nameko), so
the service's RPC and the finance CLI run the same steps."""

from __future__ import annotations

import uuid

from services.mutual_aid.domain.payout import bank_file
from services.mutual_aid.store import MutualAidStore, member_key
from shared.contracts.mutual_aid import PayoutBatchSchema
from shared.errors import ApiError, not_found
from shared.events import make_event, now_shanghai, today_shanghai

SERVICE = "mutual_aid"


def payout_batch(store: MutualAidStore, month: str, created_by: str) -> dict:
    """The month's batch: new (created) with every approved claim not yet in a batch, or the
    one made before, unchanged. A batch left half-assigned by a crash is completed. The audit
    log gets who created it, once (the id is the batch's)."""
    batch, created = store.open_batch(month, created_by)
    if batch["status"] == "assigning":
        store.assign_to_batch(batch["_id"])
        claims = store.batch_claims(batch["_id"])
        batch = store.finish_batch(batch["_id"], len(claims), sum(c["amount_fen"] for c in claims))
        store.append_audit(
            {
                "_id": f"payout-created:{batch['_id']}",
                "batch_id": batch["_id"],
                "action": "payout_created",
                "by": batch["created_by"],
                "claims": batch["claims"],
                "total_fen": batch["total_fen"],
                "at": batch["created_at"],
            }
        )
    return {**batch_view(batch), "created": created}


def batch_view(batch: dict) -> dict:
    return PayoutBatchSchema().dump(
        {
            "batch_id": batch["_id"],
            "month": batch["month"],
            "claims": batch.get("claims", 0),
            "total": batch.get("total_fen", 0),
            "status": batch["status"],
        }
    )


def payout_file(store: MutualAidStore, batch_id: str, downloaded_by: str) -> str:
    """The bank's CSV for a batch: masked member, masked account, amount, claim ids. Every
    download is in the audit log: the file is what the bank pays from."""
    batch = store.batch(batch_id)
    if batch is None:
        raise not_found("payout batch")
    claims = store.batch_claims(batch_id)
    store.append_audit(
        {
            "_id": f"payout-file:{batch_id}:{uuid.uuid4().hex}",
            "batch_id": batch_id,
            "action": "payout_file_downloaded",
            "by": downloaded_by,
            "batch_status": batch["status"],
            "claims": len(claims),
            "at": now_shanghai().isoformat(timespec="milliseconds"),
        }
    )
    accounts = store.accounts(
        sorted({member_key(c["period"], c["member_id_hash"]) for c in claims})
    )
    return bank_file(
        {
            "claim_id": c["_id"],
            "member_id_hash": c["member_id_hash"],
            "member": c.get("patient_name_masked", ""),
            "member_id_masked": c["member_id_masked"],
            "account_masked": accounts.get(member_key(c["period"], c["member_id_hash"])),
            "amount_fen": c["amount_fen"],
        }
        for c in claims
    )


def confirm_batch(
    store: MutualAidStore, batch_id: str, confirmed_by: str, correlation_id: str
) -> dict:
    """Mark the batch's claims paid, each with its ``claim_paid`` event; a repeat pays
    nobody twice (each claim moves from approved to paid once). The confirmer is a second
    person: the batch's creator is refused (409). Returns the batch (the paid claims' events
    wait in the outbox for the relay)."""
    batch = store.batch(batch_id)
    if batch is None:
        raise not_found("payout batch")
    if batch["created_by"] == confirmed_by:
        raise ApiError(
            409, "conflict", "you created this batch: another finance user must confirm it"
        )
    if batch["status"] == "assigning":
        raise ApiError(409, "conflict", "the batch is still being assembled; create it again")
    if batch["status"] == "paid":
        return batch_view(batch)  # confirmed before: nothing to pay twice
    paid_on = today_shanghai().isoformat()
    due = [
        (
            c["_id"],
            make_event(
                "claim_paid",
                {
                    "claim_id": c["_id"],
                    "member_id_hash": c["member_id_hash"],
                    "member_id_masked": c["member_id_masked"],
                    "amount_fen": c["amount_fen"],
                    "batch_id": batch_id,
                    "period": c["period"],
                    "paid_on": paid_on,
                    "member_org": c.get("member_org"),
                },
                producer=SERVICE,
                correlation_id=correlation_id,
            ),
        )
        for c in store.batch_claims(batch_id)
        if c["status"] == "approved"
    ]
    paid = store.pay_claims(batch_id, due)
    store.mark_batch_paid(batch_id, confirmed_by)
    store.append_audit(
        {
            "_id": f"payout:{batch_id}:{uuid.uuid4().hex}",
            "batch_id": batch_id,
            "action": "payout_confirmed",
            "by": confirmed_by,
            "claims_paid": paid,
            "at": now_shanghai().isoformat(timespec="milliseconds"),
        }
    )
    return batch_view(store.batch(batch_id))
