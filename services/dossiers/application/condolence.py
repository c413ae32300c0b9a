"""The condolence batch (两节慰问): every open dossier in scope not yet paid for the festival
gets its tier's amount, once.

Plain Python over the store (no nameko), so the service's RPC and the CLI run the same steps:
list the households of the scope that hold no condolence of the festival and fix the total;
reserve the whole total on the fund in one conditional write (refused whole when it cannot
cover it); pay each household under the festival's ledger key (one per household and
festival, whatever the fund and whoever runs the batch: a second or overlapping run pays
nobody twice); give back what households paid meanwhile by another run, or closed, did not
take; mark the batch paid. A unit's or county's run never blocks the city's: the city's run
covers the households still unpaid."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from services.dossiers.domain.errors import FundInsufficient
from services.dossiers.domain.policy import SERVICE, DossierPolicy
from services.dossiers.store import DossierStore, chunks, now_iso
from shared.domain_errors import Conflict
from shared.errors import not_found
from shared.events import make_event
from shared.money import format_fen

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Scope:
    """The dossiers a batch covers: the whole city, a county, or one grassroots unit."""

    org: str


def batch_id_of(festival: str, scope: str) -> str:
    """One batch per festival and scope: a rerun of the same scope finds it again."""
    return f"{festival}:{scope}"


def ledger_key_of(festival: str) -> str:
    """One ledger key per household and festival: what makes any later run, from any fund or
    scope, pay that household nobody twice."""
    return f"condolence-{festival}"


def run_condolence_batch(
    store: DossierStore,
    policy: DossierPolicy,
    *,
    festival: str,
    fund: str,
    scope: Scope,
    actor: dict,
    paid_on: date,
    correlation_id: str,
    progress: Progress | None = None,
) -> dict:
    batch_id = batch_id_of(festival, scope.org)
    year = int(festival[:4])
    batch = store.batch(batch_id)
    if batch is None:
        entries, total = [], 0
        for doc in store.open_dossiers_without(scope.org, ledger_key_of(festival)):
            amount = policy.condolence[doc["tier"]]
            entries.append([doc["_id"], doc["tier"], doc["county"], doc["head_id_hash"], amount])
            total += amount
        store.create_batch(
            {
                "_id": batch_id,
                "festival": festival,
                "fund": fund,
                "year": year,
                "scope": scope.org,
                "status": "reserving",
                "entries": entries,
                "households": len(entries),
                "total_fen": total,
                "policy_version": policy.version,
                "created_by": actor["sub"],
                "created_at": now_iso(),
            }
        )
        batch = store.batch(batch_id)  # ours, or the one a concurrent run inserted first
    if batch["fund"] != fund:
        raise Conflict(
            f"慰问批次 {festival} / {scope.org} 已从基金 {batch['fund']} 发放：每个节日每个范围只发一批。",
            "fund",
        )
    if batch["status"] == "reserving":
        if not store.reserve(fund, year, batch["total_fen"], batch_id):
            store.drop_batch(batch_id, "reserving")
            fund_doc = store.fund(fund, year)
            remaining = fund_doc["budget_fen"] - fund_doc["spent_fen"] if fund_doc else 0
            raise FundInsufficient(
                f"基金 {fund} {year} 年余额 {format_fen(remaining)} 元，不足以支付本批慰问 "
                f"{batch['households']} 户共 {format_fen(batch['total_fen'])} 元：整批未发放。",
                "fund",
            )
        store.batch_reserved(batch_id)
        batch = store.batch(batch_id)
    if batch["status"] == "paying":
        _pay(store, batch, actor, paid_on, correlation_id, progress)
        batch = store.batch(batch_id)
    elif progress:
        progress(batch["households"], batch["households"])
    return summary(batch)


def _pay(store, batch, actor, paid_on, correlation_id, progress) -> None:
    key = ledger_key_of(batch["festival"])
    done = 0
    for part in chunks(batch["entries"]):
        writes = []
        for dossier_id, _tier, county, head_id_hash, amount in part:
            grant = {
                "grant_id": f"{key}-{dossier_id}",
                "type": "condolence",
                "amount_fen": amount,
                "fund": batch["fund"],
                "source": SERVICE,
                "approver": actor["sub"],
                "batch_id": batch["_id"],
                "granted_on": paid_on.isoformat(),
            }
            event = make_event(
                "assistance_granted",
                {
                    "grant_id": grant["grant_id"],
                    "dossier_id": dossier_id,
                    "head_id_hash": head_id_hash,
                    "county": county,
                    "type": "condolence",
                    "amount_fen": amount,
                    "fund": batch["fund"],
                    "source": SERVICE,
                    "granted_on": paid_on,
                },
                producer=SERVICE,
                correlation_id=correlation_id,
            )
            writes.append((dossier_id, key, grant, event))
        store.record_grants(writes)
        done += len(part)
        store.batch_went_through(batch["_id"], done)
        if progress:
            progress(done, batch["households"])
    # Exactly what this batch landed (households closed since the listing, or paid by another
    # run of the festival meanwhile, took nothing from it): count it from the ledgers
    # themselves, so a resumed or concurrent run reaches the same figures.
    paid_households = paid_fen = 0
    for part in chunks([entry[0] for entry in batch["entries"]]):
        for doc in store.holding(part, key):
            if doc["ledger"][key]["batch_id"] == batch["_id"]:
                paid_households += 1
                paid_fen += doc["ledger"][key]["amount_fen"]
    unpaid = batch["total_fen"] - paid_fen
    if unpaid:
        store.release(batch["fund"], batch["year"], unpaid, batch["_id"])
    store.batch_paid(batch["_id"], paid_households, paid_fen)


def batch_progress(store: DossierStore, festival: str, scope: Scope) -> dict:
    """Where the scope's batch of ``festival`` stands (a run in progress or done)."""
    batch = store.batch_progress(batch_id_of(festival, scope.org))
    if batch is None:
        raise not_found("condolence batch")
    return summary(batch)


def summary(batch: dict) -> dict:
    return {
        "batch_id": batch["_id"],
        "festival": batch["festival"],
        "fund": batch["fund"],
        "status": batch["status"],
        "households": batch["households"],
        "total": batch["total_fen"],
        "done": batch["households"] if batch["status"] == "paid" else batch.get("done", 0),
        "paid_households": batch.get("paid_households", 0),
        "paid_total": batch.get("paid_fen", 0),
    }
