"""Dossier figures of BENCH.md "batches": a verification campaign opening over 20,000 open
dossiers and a condolence batch (两节慰问) over 10,000, each through the HTTP edge.

The dossiers are seeded straight into the dossiers database with pymongo: filing 20,000
households through intake and confirmation would measure the intake, not the batches (and take
minutes). The seeded documents carry what a confirmed dossier holds that the two batches read
(status, tier, county, org, head hash, revision, an empty ledger); they have no outbox, so the
relay stays out of the measurement until the batches write their own events."""

from __future__ import annotations

import time
import uuid

from pymongo import MongoClient

from bench.harness import Context, HarnessError, HttpClient, Result, at_most, progress
from shared.auth import mint_staff_token

CAMPAIGN_DOSSIERS = 20_000
CONDOLENCE_DOSSIERS = 10_000  # the LY-XL half: the batch is run by LY-XL finance staff
SEED_CHUNK = 1000
TIERS = ("national", "local", "grassroots")
CAMPAIGN_DAY = "2019-04-01"
FESTIVAL, FUND = "2019-spring", "bench-condolence"


def _seed_open_dossiers(ctx: Context, count: int) -> None:
    client = MongoClient(ctx.env.mongo_uri, serverSelectionTimeoutMS=5000)
    dossiers = client[ctx.env.database_name("dossiers")]["dossiers"]
    run = uuid.uuid4().hex[:8]
    try:
        for start in range(0, count, SEED_CHUNK):
            docs = []
            for n in range(start, min(count, start + SEED_CHUNK)):
                county = "LY-XL" if n < CONDOLENCE_DOSSIERS else "LY-YD"
                docs.append(
                    {
                        "_id": f"bench-{run}-{n:06d}",
                        "status": "open",
                        "tier": TIERS[n % 3],
                        "county": county,
                        "org": f"{county}-{n % 50:04d}",
                        "head_id_hash": f"bench-hash-{run}-{n}",
                        "head_id_masked": "350802********0000",
                        "members": [],
                        "revision": 2,
                        "ledger": {},
                        "assistance_total_fen": 0,
                        "verification_overdue": False,
                    }
                )
            dossiers.insert_many(docs, ordered=False)
    finally:
        client.close()


def dossier_batches(ctx: Context) -> Result:
    """Campaign opening over 20,000 and condolence batch over 10,000 open dossiers, each
    ≤ 2 × (documents ÷ raw_store inserts/s)."""
    store_rate = ctx.metric("raw_store", "inserts_per_s")
    campaign_limit = 2 * CAMPAIGN_DOSSIERS / store_rate
    condolence_limit = 2 * CONDOLENCE_DOSSIERS / store_rate
    started = time.perf_counter()
    _seed_open_dossiers(ctx, CAMPAIGN_DOSSIERS)
    progress(
        f"dossier_batches: seeded {CAMPAIGN_DOSSIERS} open dossiers in "
        f"{time.perf_counter() - started:.1f} s"
    )
    secret = ctx.env.settings.staff_jwt_secret
    admin = {"Authorization": "Bearer " + mint_staff_token(secret, sub="bench-admin", role="city_admin", org="LY")}  # fmt: skip
    finance = {"Authorization": "Bearer " + mint_staff_token(secret, sub="bench-finance", role="finance", org="LY-XL")}  # fmt: skip
    city_finance = {"Authorization": "Bearer " + mint_staff_token(secret, sub="bench-city-finance", role="finance", org="LY")}  # fmt: skip
    client = HttpClient(ctx.env.gateway_port)
    try:
        started = time.perf_counter()
        status, campaign = client.json(
            "POST", "/api/v1/verification-campaigns", {"opened_on": CAMPAIGN_DAY}, admin
        )
        campaign_seconds = time.perf_counter() - started
        if status != 201 or campaign.get("tasks") != CAMPAIGN_DOSSIERS:
            raise HarnessError(f"campaign opening answered {status}: {str(campaign)[:300]}")
        progress(
            f"dossier_batches: campaign {campaign['campaign_id']} opened with "
            f"{campaign['tasks']} tasks in {campaign_seconds:.2f} s (limit {campaign_limit:.2f} s)"
        )
        fund = {"fund": FUND, "year": 2019, "budget": "100000000.00"}
        status, body = client.json("POST", "/api/v1/assistance-funds", fund, city_finance)
        if status != 200:
            raise HarnessError(f"setting the fund answered {status}: {str(body)[:300]}")
        request = {"festival": FESTIVAL, "fund": FUND}
        started = time.perf_counter()
        status, batch = client.json("POST", "/api/v1/condolence-batches", request, finance)
        condolence_seconds = time.perf_counter() - started
        if status != 200 or batch.get("paid_households") != CONDOLENCE_DOSSIERS:
            raise HarnessError(f"condolence batch answered {status}: {str(batch)[:300]}")
        started = time.perf_counter()
        status, again = client.json("POST", "/api/v1/condolence-batches", request, finance)
        rerun_seconds = time.perf_counter() - started
        if status != 200 or again != batch:
            raise HarnessError(f"the same batch again answered {status}: {str(again)[:300]}")
    finally:
        client.close()
    progress(
        f"dossier_batches: condolence batch paid {batch['paid_households']} households "
        f"({batch['paid_total']} yuan) in {condolence_seconds:.2f} s "
        f"(limit {condolence_limit:.2f} s); the same batch again in {rerun_seconds:.2f} s"
    )
    result = Result("dossier_batches")
    result.rows = [
        at_most(
            "campaign_opening_20k_s", round(campaign_seconds, 3), "s", round(campaign_limit, 2)
        ),
        at_most(
            "condolence_batch_10k_s", round(condolence_seconds, 3), "s", round(condolence_limit, 2)
        ),
    ]
    result.details = {
        "seeded_open_dossiers": CAMPAIGN_DOSSIERS,
        "campaign_tasks": campaign["tasks"],
        "condolence_households": batch["paid_households"],
        "condolence_total_yuan": batch["paid_total"],
        "condolence_rerun_seconds": round(rerun_seconds, 3),
        "raw_store_inserts_per_s": round(store_rate, 1),
        "seeding": "pymongo insert_many straight into unionhub_dossiers (see module docstring)",
    }
    result.metrics = {
        "campaign_seconds": campaign_seconds,
        "condolence_seconds": condolence_seconds,
    }
    return result
