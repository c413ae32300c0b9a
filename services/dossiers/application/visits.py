"""Home visits: the household as found is written at once and re-evaluated; a tier change or
an exit waits for staff to accept or reject it."""

from __future__ import annotations

import uuid
from datetime import date

from services.dossiers.application.dossiers import (
    CHANGED_MEANWHILE,
    audit,
    dossier_event,
    expiry_on,
    household_of,
    open_for_change,
    policy_on,
)
from services.dossiers.application.intake import member_conflict, member_record
from services.dossiers.domain.tiers import propose_tier
from services.dossiers.domain.verification import evaluate_visit
from services.dossiers.store import DossierStore, MemberAlreadyInDossier
from shared.auth import StaffPrincipal
from shared.contracts.dossiers import MAX_MEMBERS
from shared.crypto import PiiVault
from shared.domain_errors import Conflict
from shared.errors import not_found, validation_error


def record_visit(
    store: DossierStore,
    policy_dir: str,
    vault: PiiVault,
    staff: StaffPrincipal,
    dossier_id: str,
    data: dict,
    today: date,
) -> dict:
    """Write the household as found (members added, removed or changed, incomes, expenditure,
    causes, assets) at once; the re-evaluation is a proposal, and a tier change or an exit
    waits for staff (``confirm_visit``). A later visit supersedes a proposal still waiting:
    the household as last found decides."""
    dossier = open_for_change(store, policy_dir, staff, dossier_id, today)
    members, added, removed = visited_members(vault, dossier, data)
    household = {
        "members": members,
        "monthly_rigid_expenditure_fen": (
            dossier["monthly_rigid_expenditure_fen"]
            if data["monthly_rigid_expenditure"] is None
            else data["monthly_rigid_expenditure"]
        ),
        "months_below_line": (
            dossier["months_below_line"]
            if data["months_below_line"] is None
            else data["months_below_line"]
        ),
        "causes": dossier["causes"] if data["causes"] is None else sorted(set(data["causes"])),
        "assets": dossier["assets"] if data["assets"] is None else dict(data["assets"]),
    }
    policy = policy_on(policy_dir, data["visit_date"])
    proposal = propose_tier(household_of({**dossier, **household}), policy, data["visit_date"].year)
    outcome = evaluate_visit(dossier["tier"], proposal)
    task = store.pending_task_for(dossier_id)
    visit_id = uuid.uuid4().hex
    pending = None
    if outcome.kind != "unchanged":
        pending = {
            "visit_id": visit_id,
            "visit_date": data["visit_date"].isoformat(),
            "outcome": outcome.kind,
            "tier_from": dossier["tier"],
            "tier": outcome.tier,
            "exit_reason": outcome.exit_reason,
            "trace": list(proposal.trace),
            "policy_version": proposal.policy_version,
            "proposed_by": staff.sub,
        }
    visit = {
        "visit_date": data["visit_date"].isoformat(),
        "visitor": data["visitor"],
        "findings": data["findings"],
        "outcome": outcome.kind,
        "tier": outcome.tier,
        "trace": list(proposal.trace),
        "campaign_id": task["campaign_id"] if task else None,
        "recorded_by": staff.sub,
        "decision": "pending" if pending else None,
    }
    superseded = dossier.get("pending_re_evaluation")
    if added:
        try:
            store.claim_members(
                dossier_id, [m["id_hash"] for m in added], expiry_on(policy_dir, today)
            )
        except MemberAlreadyInDossier as exc:
            raise member_conflict(store, staff, exc, added, "add_members") from None
    changed = store.record_visit(
        dossier_id,
        dossier["revision"],
        household=household,
        visit_id=visit_id,
        visit=visit,
        pending=pending,
        superseded_visit_id=superseded["visit_id"] if superseded else None,
    )
    if changed is None:
        store.release_members(dossier_id, [m["id_hash"] for m in added])
        raise Conflict(CHANGED_MEANWHILE)
    if removed:
        store.release_members(dossier_id, [m["id_hash"] for m in removed])
    if task:
        store.mark_task_visited(task["_id"], visit_id)
    store.answer_reevaluation_tasks(dossier_id, visit_id)
    if added or removed:
        audit(
            store,
            staff,
            "update_members",
            dossier_id,
            dossier["org"],
            {
                "visit_id": visit_id,
                "added": [m["id_masked"] for m in added],
                "removed": [m["id_masked"] for m in removed],
            },
        )
    return {
        "dossier_id": dossier_id,
        "visit_id": visit_id,
        "outcome": outcome.kind,
        "awaiting_confirmation": pending is not None,
        "status": changed["status"],
        "tier": outcome.tier,
        "exit_reason": outcome.exit_reason,
        "trace": list(proposal.trace),
        "campaign_id": task["campaign_id"] if task else None,
    }


def visited_members(vault: PiiVault, dossier: dict, data: dict) -> tuple[list, list, list]:
    """The household as the visit found it, and the members it added and removed; a 400
    naming every field that cannot apply."""
    members = [dict(m) for m in dossier["members"]]
    by_hash = {m["id_hash"]: m for m in members}
    errors: dict[str, list[str]] = {}
    for index, update in enumerate(data["members"]):
        member = by_hash.get(vault.lookup_hash(update["id_number"]))
        if member is None:
            errors[f"members.{index}.id_number"] = ["is not a member of this household"]
            continue
        member["monthly_income_fen"] = update["monthly_income"]
        for key in ("name", "relation", "health", "school"):
            if key in update:
                member[key] = update[key]
    removed = []
    for index, id_number in enumerate(data["remove_members"]):
        member = by_hash.get(vault.lookup_hash(id_number))
        if member is None:
            errors[f"remove_members.{index}"] = ["is not a member of this household"]
        elif member["id_hash"] == dossier["head_id_hash"]:
            errors[f"remove_members.{index}"] = [
                "is the head of the household: exit or transfer the dossier instead"
            ]
        elif member not in removed:
            removed.append(member)
    added = []
    for index, new in enumerate(data["add_members"]):
        record = member_record(vault, new)
        if record["id_hash"] in by_hash or any(a["id_hash"] == record["id_hash"] for a in added):
            errors[f"add_members.{index}.id_number"] = ["is already a member of this household"]
        else:
            added.append(record)
    household = [m for m in members if m not in removed] + added
    heads = [m for m in household if m["relation"] == "self"]
    if len(heads) != 1 or heads[0]["id_hash"] != dossier["head_id_hash"]:
        errors["members"] = ["the household keeps exactly one member with relation self: its head"]
    if len(household) > MAX_MEMBERS:
        errors["add_members"] = [f"a household has at most {MAX_MEMBERS} members"]
    if errors:
        raise validation_error(errors)
    return household, added, removed


def confirm_visit(
    store: DossierStore,
    policy_dir: str,
    staff: StaffPrincipal,
    dossier_id: str,
    visit_id: str,
    accept: bool,
    today: date,
    correlation_id: str,
) -> dict:
    """Accept or reject the tier change or exit a visit proposed; accepting emits the same
    events as a tier change or an exit always has, dated the visit day."""
    dossier = open_for_change(store, policy_dir, staff, dossier_id, today)
    if visit_id not in (dossier.get("visits") or {}):
        raise not_found("visit")
    pending = dossier.get("pending_re_evaluation")
    if not pending or pending["visit_id"] != visit_id:
        raise Conflict("this visit's re-evaluation is not waiting for confirmation")
    revision = dossier["revision"]
    visit_date = date.fromisoformat(pending["visit_date"])
    common = {
        "dossier_id": dossier_id,
        "head_id_hash": dossier["head_id_hash"],
        "county": dossier["county"],
        "revision": revision + 1,
    }
    decision = {"visit_id": visit_id, "accepted": accept, "decided_by": staff.sub}
    exits = accept and pending["outcome"] == "exit"
    if accept and pending["outcome"] == "tier_changed":
        changed_tier = dossier_event(
            "dossier_tier_changed",
            {
                **common,
                "tier_from": dossier["tier"],
                "tier": pending["tier"],
                "changed_on": visit_date,
            },
            correlation_id,
        )
        changed = store.change_tier(dossier_id, revision, pending["tier"], decision, changed_tier)
    elif exits:
        exited = dossier_event(
            "dossier_exited",
            {**common, "reason": pending["exit_reason"], "exited_on": visit_date},
            correlation_id,
        )
        changed = store.close_dossier(
            dossier_id, revision, pending["exit_reason"], visit_date, exited, decision
        )
    else:
        changed = store.decide_visit(dossier_id, revision, decision)
    if changed is None:
        raise Conflict(CHANGED_MEANWHILE)
    if exits:
        audit(store, staff, "exit", dossier_id, dossier["org"], {"reason": pending["exit_reason"]})
    audit(
        store,
        staff,
        "confirm_visit",
        dossier_id,
        dossier["org"],
        {"visit_id": visit_id, "accept": accept, "outcome": pending["outcome"]},
    )
    return {
        "dossier_id": dossier_id,
        "visit_id": visit_id,
        "decision": "accepted" if accept else "rejected",
        "status": changed["status"],
        "tier": changed.get("tier"),
        "exit_reason": changed.get("exit_reason"),
    }
