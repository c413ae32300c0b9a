"""Intake: a household is proposed with its tier and trace, claiming every member for one live
dossier, then staff confirm the tier (or decline)."""

from __future__ import annotations

import logging
import uuid
from datetime import date

from services.dossiers.application.dossiers import (
    CHANGED_MEANWHILE,
    audit,
    audit_backdating,
    dossier_event,
    expiry_on,
    household_of,
    household_of_request,
    policy_on,
    visible,
)
from services.dossiers.domain.tiers import TIER_RANK, propose_tier
from services.dossiers.store import DossierStore, MemberAlreadyInDossier, now_iso
from shared.auth import StaffPrincipal
from shared.business_dates import BusinessDate
from shared.crypto import PiiVault
from shared.domain_errors import Conflict, RuleViolation
from shared.errors import ApiError, conflict
from shared.identity import mask_id_number

log = logging.getLogger(__name__)


def submit(
    store: DossierStore,
    policy_dir: str,
    vault: PiiVault,
    staff: StaffPrincipal,
    data: dict,
    intake: BusinessDate,
    today: date,
) -> dict:
    """Record the proposal; a 409 naming the member already in another live dossier."""
    data["intake_date"] = intake.day
    policy = policy_on(policy_dir, intake.day)
    members = [member_record(vault, m) for m in data["members"]]
    doc = {
        "_id": uuid.uuid4().hex,
        "status": "proposed",
        "county": data["county"],
        "org": data["org"],
        "category": data["category"],
        "head_id_hash": vault.lookup_hash(data["head_id_number"]),
        "head_id_enc": vault.encrypt(data["head_id_number"]),
        "head_id_masked": mask_id_number(data["head_id_number"]),
        "employment_status": data["employment_status"],
        "employer": data["employer"],
        "members": members,
        "monthly_rigid_expenditure_fen": data["monthly_rigid_expenditure"],
        "months_below_line": data["months_below_line"],
        "causes": sorted(set(data["causes"])),
        "assets": dict(data["assets"]),
        "address": data["address"],
        "phone_enc": vault.encrypt(data["phone"]) if data["phone"] else None,
        "intake_date": intake.day.isoformat(),
        "revision": 1,
        "verification_overdue": False,
        "ledger": {},
        "assistance_total_fen": 0,
        "visits": {},
        "submitted_by": staff.sub,
        "created_at": now_iso(),
    }
    proposal = propose_tier(household_of(doc), policy, intake.day.year)
    doc.update(
        proposed_tier=proposal.tier,
        proposed_rule=proposal.rule,
        trace=list(proposal.trace),
        policy_version=proposal.policy_version,
        tier=None,
    )
    try:
        store.create_dossier(doc, [m["id_hash"] for m in members], expiry_on(policy_dir, today))
    except MemberAlreadyInDossier as exc:
        raise member_conflict(store, staff, exc, members, "members") from None
    audit_backdating(store, staff, intake, "intake_date", doc["_id"], doc["org"])
    log.info("dossier proposed", extra={"dossier_id": doc["_id"], "tier": proposal.tier})
    return {
        "dossier_id": doc["_id"],
        "status": "proposed",
        "proposed_tier": proposal.tier,
        "trace": list(proposal.trace),
    }


def preview(policy_dir: str, data: dict, intake: BusinessDate) -> dict:
    """The proposal ``submit`` would record for this household, recorded nowhere."""
    policy = policy_on(policy_dir, intake.day)
    household = household_of_request(data)
    proposal = propose_tier(household, policy, intake.day.year)
    return {
        "proposed_tier": proposal.tier,
        "trace": list(proposal.trace),
        "policy_version": proposal.policy_version,
    }


def member_record(vault: PiiVault, member: dict) -> dict:
    """A household member as stored: the ID number encrypted, hashed for lookup, masked."""
    return {
        "id_hash": vault.lookup_hash(member["id_number"]),
        "id_enc": vault.encrypt(member["id_number"]),
        "id_masked": mask_id_number(member["id_number"]),
        "name": member["name"],
        "relation": member["relation"],
        "monthly_income_fen": member["monthly_income"],
        "health": member["health"],
        "school": member["school"],
    }


def member_conflict(
    store: DossierStore,
    staff: StaffPrincipal,
    exc: MemberAlreadyInDossier,
    members: list,
    field: str,
) -> ApiError:
    """The 409 for a member already in another live dossier, naming ``field.<index>``."""
    index, member = next((i, m) for i, m in enumerate(members) if m["id_hash"] == exc.id_hash)
    # The other dossier's id only for a caller who may read it: its existence and id must
    # not leak to another county.
    holder = store.dossier(exc.dossier_id)
    where = (
        f"already in dossier {exc.dossier_id}"
        if holder is not None and staff.can_see(holder["org"])
        else "already in a live dossier outside your org unit"
    )
    return conflict(
        f"household member {member['name']} ({member['id_masked']}) is already in "
        "another open or proposed dossier",
        {f"{field}.{index}.id_number": [where]},
    )


def confirm(
    store: DossierStore,
    policy_dir: str,
    staff: StaffPrincipal,
    dossier_id: str,
    tier: str | None,
    today: date,
    correlation_id: str,
) -> dict:
    """Open the proposal at ``tier`` (at most the proposed one), or decline it (``None``)."""
    dossier = visible(store, policy_dir, staff, dossier_id, today)
    if dossier["status"] != "proposed":
        raise Conflict(f"dossier is {dossier['status']}, not proposed")
    if TIER_RANK[tier] > TIER_RANK[dossier["proposed_tier"]]:
        raise RuleViolation(
            f"tier {tier} is above what the rules support ({dossier['proposed_tier'] or 'none'})",
            "tier",
        )
    revision = dossier["revision"]
    if tier is None:
        changed = store.decline_proposal(dossier_id, revision, today)
    else:
        established = dossier_event(
            "dossier_established",
            {
                "dossier_id": dossier_id,
                "head_id_hash": dossier["head_id_hash"],
                "county": dossier["county"],
                "revision": revision + 1,
                "tier": tier,
                "org": dossier["org"],
                "established_on": today,
                # The phone taken at intake, still sealed: notifications binds it as the
                # worker's mobile (it is never on the bus or in a log in clear).
                "mobile_encrypted": dossier.get("phone_enc"),
            },
            correlation_id,
        )
        changed = store.establish(dossier_id, revision, tier, today, established)
    if changed is None:
        raise Conflict(CHANGED_MEANWHILE)
    audit(store, staff, "confirm", dossier_id, dossier["org"], {"tier": tier})
    return {"status": changed["status"], "tier": tier}
