"""Disbursement: one batch per campaign of its approved awards once the notice has ended, the
bank's file, and the confirmation by a second finance user that marks them paid."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date

from services.student_aid.domain.errors import NoticeNotEnded
from services.student_aid.domain.notice import check_notice_ended
from services.student_aid.domain.policy import SERVICE
from services.student_aid.store import StudentAidStore
from shared.domain_errors import Conflict
from shared.errors import not_found
from shared.events import make_event, now_shanghai, today_shanghai
from shared.money import format_fen

BANK_FILE_HEADER = ("application_id", "student", "parent_id_masked", "org", "level", "amount_yuan")


def _now() -> str:
    return now_shanghai().isoformat(timespec="milliseconds")


def disbursement_batch(
    store: StudentAidStore, year: int, disbursed_on: date, created_by: str
) -> tuple[dict, bool]:
    """The campaign's one batch: made now (True) with every approved award, or the one made
    before (False). Refused before the notice has ended, and while an objection is undecided."""
    campaign = store.campaign(year)
    if campaign is None:
        raise not_found("campaign")
    existing = store.disbursement_of(year)
    if existing is not None:
        return batch_view(existing), False
    notice = campaign.get("notice")
    if notice is None:
        raise NoticeNotEnded("no public notice has been published for this campaign")
    check_notice_ended(date.fromisoformat(notice["ends_on"]), disbursed_on)
    undecided = store.count_with_status(year, "in_review")
    if undecided:
        raise Conflict(f"{undecided} objection(s) are undecided: decide them first")
    batch, created = store.open_disbursement(
        {
            "_id": f"student-aid-{year}",
            "campaign": year,
            "disbursed_on": disbursed_on.isoformat(),
            "created_by": created_by,
            "created_at": _now(),
            "status": "assigning",
        }
    )
    if batch["status"] == "assigning":  # new, or left half-assigned by a crash: complete it
        store.assign_awards(batch["_id"], year)
        awards = store.batch_awards(batch["_id"])
        batch = store.finish_disbursement(
            batch["_id"], len(awards), sum(a["amount_fen"] for a in awards)
        )
        store.append_audit(
            {
                "_id": f"disbursement-created:{batch['_id']}",
                "target": f"campaign/{year}",
                "batch_id": batch["_id"],
                "action": "disbursement_created",
                "by": batch["created_by"],
                "awards": batch["awards"],
                "total_fen": batch["total_fen"],
                "at": batch["created_at"],
            }
        )
    return batch_view(batch), created


def batch_view(batch: dict) -> dict:
    return {
        "batch_id": batch["_id"],
        "campaign": batch["campaign"],
        "disbursed_on": date.fromisoformat(batch["disbursed_on"]),
        "awards": batch.get("awards", 0),
        "total": batch.get("total_fen", 0),
        "status": batch["status"],
    }


def bank_file(store: StudentAidStore, batch_id: str, downloaded_by: str) -> str:
    """The bank's CSV for a batch, one line per award (masked, as mutual aid's). Every download
    is in the audit log: the file is what the bank pays from."""
    batch = store.disbursement(batch_id)
    if batch is None:
        raise not_found("disbursement batch")
    awards = store.batch_awards(batch_id)
    store.append_audit(
        {
            "_id": f"disbursement-file:{batch_id}:{uuid.uuid4().hex}",
            "target": f"campaign/{batch['campaign']}",
            "batch_id": batch_id,
            "action": "disbursement_file_downloaded",
            "by": downloaded_by,
            "awards": len(awards),
            "at": _now(),
        }
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BANK_FILE_HEADER)
    for award in awards:
        writer.writerow(
            (
                award["_id"],
                award["student_name_masked"],
                award["parent_id_masked"],
                award["org"],
                award["education_level"],
                format_fen(award["amount_fen"]),
            )
        )
    return out.getvalue()


def confirm_disbursement(
    store: StudentAidStore, batch_id: str, confirmed_by: str, correlation_id: str
) -> dict:
    """Mark the batch's awards paid, each with its ``award_disbursed`` event in the same write;
    a repeat pays nobody twice. The batch's creator may not confirm it. Audited."""
    batch = store.disbursement(batch_id)
    if batch is None:
        raise not_found("disbursement batch")
    if batch["created_by"] == confirmed_by:
        raise Conflict("you created this batch: another finance user must confirm it")
    if batch["status"] == "assigning":
        raise Conflict("the batch is still being assembled; create it again")
    if batch["status"] == "paid":
        return batch_view(batch)
    paid_on = today_shanghai().isoformat()
    due = [
        (
            award["_id"],
            make_event(
                "award_disbursed",
                {
                    "application_id": award["_id"],
                    "campaign": award["campaign"],
                    "parent_id_hash": award["parent_id_hash"],
                    "org": award["org"],
                    "amount_fen": award["amount_fen"],
                    "batch_id": batch_id,
                    "paid_on": paid_on,
                },
                producer=SERVICE,
                correlation_id=correlation_id,
            ),
        )
        for award in store.batch_awards(batch_id)
        if award["status"] == "approved"
    ]
    paid = store.pay_awards(batch_id, due, paid_on)
    store.mark_disbursement_paid(batch_id, confirmed_by, _now())
    store.append_audit(
        {
            "_id": f"disbursement-confirmed:{batch_id}:{uuid.uuid4().hex}",
            "target": f"campaign/{batch['campaign']}",
            "batch_id": batch_id,
            "action": "disbursement_confirmed",
            "by": confirmed_by,
            "awards_paid": paid,
            "at": _now(),
        }
    )
    return batch_view(store.disbursement(batch_id))
