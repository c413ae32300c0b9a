"""What readers see: a dossier (ID numbers masked unless revealed), lists and CSV exports of a
scope, funds and the audit log. Full ID views and exports are audited."""

from __future__ import annotations

import csv
import io

from services.dossiers.application.dossiers import audit
from services.dossiers.store import DossierStore
from shared.auth import StaffPrincipal
from shared.contracts.dossiers import AUDIT_LOG_MAX_LIMIT, LIST_LIMIT, TIERS, DossierSchema
from shared.crypto import PiiVault
from shared.money import format_fen

# One schema for every view: building a marshmallow schema (and its nested ones) deep-copies
# its fields, ~10 ms each, which made a list of 500 dossiers take seconds; dump is stateless.
_DOSSIER_VIEW = DossierSchema()
EXPORT_COLUMNS = ("dossier_id", "status", "county", "org", "category", "tier")


def dossier_view(vault: PiiVault, doc: dict, reveal: bool = False) -> dict:

    def id_of(enc: str, masked: str) -> str:
        return vault.decrypt(enc) if reveal else masked

    view = {
        "dossier_id": doc["_id"],
        "status": doc["status"],
        "county": doc["county"],
        "org": doc["org"],
        "category": doc["category"],
        "head_id_number": id_of(doc["head_id_enc"], doc["head_id_masked"]),
        "employment_status": doc["employment_status"],
        "employer": doc.get("employer"),
        "members": [
            {
                "id_number": id_of(m["id_enc"], m["id_masked"]),
                "name": m["name"],
                "relation": m["relation"],
                "monthly_income": m["monthly_income_fen"],
                "health": m.get("health"),
                "school": m.get("school"),
            }
            for m in doc["members"]
        ],
        "monthly_rigid_expenditure": doc["monthly_rigid_expenditure_fen"],
        "months_below_line": doc["months_below_line"],
        "causes": doc["causes"],
        "assets": doc["assets"],
        "address": doc["address"],
        "intake_date": doc["intake_date"],
        "proposed_tier": doc.get("proposed_tier"),
        "tier": doc.get("tier"),
        "trace": doc.get("trace", []),
        "policy_version": doc.get("policy_version"),
        "revision": doc["revision"],
        "opened_on": doc.get("opened_on"),
        "closed_on": doc.get("closed_on"),
        "exit_reason": doc.get("exit_reason"),
        "verification_overdue": doc.get("verification_overdue", False),
        "pending_re_evaluation": doc.get("pending_re_evaluation"),
        "assistance_total": doc.get("assistance_total_fen", 0),
        "ledger": sorted(
            (
                {**{k: v for k, v in g.items() if k != "amount_fen"}, "amount": g["amount_fen"]}
                for g in (doc.get("ledger") or {}).values()
            ),
            key=lambda g: (g["granted_on"], g["grant_id"]),
        ),
    }
    return _DOSSIER_VIEW.dump(view)


def reveal(store: DossierStore, vault: PiiVault, staff: StaffPrincipal, dossier: dict) -> dict:
    """The dossier with full ID numbers: every such view is audited."""
    audit(store, staff, "view_full_id", dossier["_id"], dossier["org"], {})
    return dossier_view(vault, dossier, reveal=True)


def list_dossiers(
    store: DossierStore,
    vault: PiiVault,
    staff: StaffPrincipal,
    filters: dict,
    limit: int = LIST_LIMIT,
    offset: int = 0,
) -> dict:
    found = store.list_dossiers(staff.org, filters, min(limit, LIST_LIMIT), offset)
    return {"dossiers": [dossier_view(vault, d) for d in found]}


def open_household_figures(store: DossierStore, staff: StaffPrincipal) -> dict:
    """Open households of the caller's scope, by tier and by county and tier; every tier is
    listed, counties only where a household is open."""
    by_tier = dict.fromkeys(TIERS, 0)
    by_county: dict[str, dict[str, int]] = {}
    for county, tier, count in store.open_counts(staff.org):
        if tier not in by_tier:  # an open dossier always has a tier; nothing else is counted
            continue
        by_tier[tier] += count
        by_county.setdefault(county, dict.fromkeys(TIERS, 0))[tier] += count
    return {
        "open": sum(by_tier.values()),
        "by_tier": by_tier,
        "by_county": dict(sorted(by_county.items())),
    }


def export(store: DossierStore, staff: StaffPrincipal, filters: dict) -> dict:
    """CSV of the dossiers in scope, ID numbers masked; every export is audited."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*EXPORT_COLUMNS, "head_id_number", "members", "assistance_total"])
    rows = 0
    for doc in store.export_rows(staff.org, filters, EXPORT_COLUMNS[1:]):
        writer.writerow(
            [doc["_id"], *(doc.get(c) or "" for c in EXPORT_COLUMNS[1:])]
            + [
                doc["head_id_masked"],
                len(doc["members"]),
                format_fen(doc.get("assistance_total_fen", 0)),
            ]
        )
        rows += 1
    scope_org = filters["county"] or staff.org
    named = {key: value for key, value in filters.items() if value}
    audit(store, staff, "export", "dossiers", scope_org, {**named, "rows": rows})
    return {"csv": out.getvalue(), "rows": rows}


def fund_view(doc: dict) -> dict:
    return {
        "fund": doc["fund"],
        "year": doc["year"],
        "budget": doc["budget_fen"],
        "spent": doc["spent_fen"],
        "remaining": doc["budget_fen"] - doc["spent_fen"],
    }


def overdue(
    store: DossierStore, staff: StaffPrincipal, campaign_id: str, county: str | None
) -> dict:
    counties: dict[str, list] = {}
    for task in store.overdue_tasks(campaign_id, staff.org, county):
        counties.setdefault(task["county"], []).append(
            {"dossier_id": task["dossier_id"], "org": task["org"]}
        )
    return {"campaign_id": campaign_id, "counties": counties}


def audit_log(store: DossierStore, staff: StaffPrincipal, filters: dict) -> dict:
    """The newest entries matching ``filters``, those of the caller's scope only."""
    limit = max(1, min(filters["limit"], AUDIT_LOG_MAX_LIMIT))
    # The scope is part of the query, so ``limit`` counts entries the caller may see.
    entries = store.audit_entries(
        filters["action"],
        filters["target"],
        limit,
        actor=filters["actor"],
        date_from=filters["date_from"],
        date_to=filters["date_to"],
        scope=staff.org,
    )
    return {
        "entries": [
            {
                "audit_id": e["_id"],
                "at": e["at"],
                "actor": e["actor"],
                "role": e["role"],
                "action": e["action"],
                "target": e["target"],
                "org": e.get("org"),
                "detail": e["detail"],
            }
            for e in entries
        ]
    }
