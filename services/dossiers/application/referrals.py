"""12345 hardship referrals: the city platform files them into the county's intake-request
queue (one per case number, however often or concurrently forwarded); county staff list them
and close them when they take the household in. Plain Python over the store (no nameko)."""

from __future__ import annotations

import logging
import uuid
from datetime import date

from services.dossiers.application.dossiers import audit, visible
from services.dossiers.domain.referrals import OPEN, check_close, mask_phone, require_hardship
from services.dossiers.store import DossierStore, now_iso
from shared.auth import StaffPrincipal
from shared.crypto import PiiVault
from shared.domain_errors import Conflict
from shared.errors import not_found
from shared.identity import mask_id_number

log = logging.getLogger(__name__)

LIST_LIMIT = 500


def take_referral(
    store: DossierStore, vault: PiiVault, platform: dict, data: dict, today: date
) -> dict:
    """File a validated hardship referral (ReferralSchema) from ``platform`` (the partner as
    the gateway vouched for it) as an open intake request of its county; the same case number
    again answers the request already filed, with no second effect. The citizen's ID number
    and phone are stored encrypted (the ID hashed for lookup too); the filing is audited."""
    require_hardship(data["kind"])
    citizen = data["citizen"]
    doc = {
        "_id": uuid.uuid4().hex,
        "case_no": data["case_no"],
        "county": data["county"],
        "org": data["county"],  # the queue is the county's: scope filters read ``org``
        "status": OPEN,
        "citizen": {
            "id_hash": vault.lookup_hash(citizen["id_number"]),
            "id_enc": vault.encrypt(citizen["id_number"]),
            "id_masked": mask_id_number(citizen["id_number"]),
            "name": citizen["name"],
            "phone_enc": vault.encrypt(citizen["phone"]),
            "phone_masked": mask_phone(citizen["phone"]),
        },
        "summary": data["summary"],
        "received_on": today.isoformat(),
        "received_at": now_iso(),
        "received_from": platform["code"],
    }
    stored, created = store.take_intake_request(doc)
    if created:
        store.audit(
            actor={"sub": platform["code"], "role": platform["kind"], "org": None},
            action="take_referral",
            target=stored["_id"],
            org=stored["org"],
            detail={"case_no": stored["case_no"], "county": stored["county"]},
        )
        log.info("referral taken", extra={"referral_id": stored["_id"]})
    else:
        log.info("referral seen before", extra={"referral_id": stored["_id"]})
    return {"referral_id": stored["_id"], "created": created}


def intake_request_view(doc: dict) -> dict:
    """A request as staff read it: the citizen's ID number and phone masked."""
    return {
        "referral_id": doc["_id"],
        "case_no": doc["case_no"],
        "county": doc["county"],
        "status": doc["status"],
        "citizen": {
            "id_number": doc["citizen"]["id_masked"],
            "name": doc["citizen"]["name"],
            "phone": doc["citizen"]["phone_masked"],
        },
        "summary": doc["summary"],
        "received_on": doc["received_on"],
        "received_from": doc["received_from"],
        "closed_by": doc.get("closed_by"),
        "closed_on": doc.get("closed_on"),
        "dossier_id": doc.get("dossier_id"),
        "note": doc.get("note"),
    }


def list_intake_requests(store: DossierStore, staff: StaffPrincipal, filters: dict) -> dict:
    found = store.list_intake_requests(staff.org, filters["county"], filters["status"], LIST_LIMIT)
    return {"intake_requests": [intake_request_view(d) for d in found]}


def close_intake_request(
    store: DossierStore,
    policy_dir: str,
    staff: StaffPrincipal,
    request_id: str,
    data: dict,
    today: date,
) -> dict:
    """Close an open request in the caller's scope: into a dossier the caller may see that
    holds the referred citizen, or with a note; audited."""
    request = store.intake_request(request_id)
    # Existence must not leak across counties: outside your scope reads as not found.
    if request is None or not staff.can_see(request["org"]):
        raise not_found("intake request")
    members = None
    if data["dossier_id"]:
        dossier = visible(store, policy_dir, staff, data["dossier_id"], today)
        members = frozenset(m["id_hash"] for m in dossier["members"])
    check_close(request["status"], request["citizen"]["id_hash"], members)
    closed = store.close_intake_request(
        request_id,
        {
            "closed_by": staff.sub,
            "closed_on": today.isoformat(),
            "dossier_id": data["dossier_id"],
            "note": data["note"],
        },
    )
    if closed is None:
        raise Conflict("the intake request was closed meanwhile")
    audit(
        store,
        staff,
        "close_intake_request",
        request_id,
        request["org"],
        {"dossier_id": data["dossier_id"], "case_no": request["case_no"]},
    )
    return intake_request_view(closed)
