"""The scheduler's work for a day: open the campaign on its day, resume or close campaigns,
expire unconfirmed proposals, purge old closed dossiers. Every step is idempotent or guarded by
a status compare-and-set, so several replicas running it at once do each thing once."""

from __future__ import annotations

import logging
from datetime import date
from functools import partial

from services.dossiers.application.campaigns import close_campaign, open_campaign
from services.dossiers.application.dossiers import policy_on
from services.dossiers.domain.policy import DossierPolicy
from services.dossiers.domain.verification import (
    campaign_due_on,
    proposal_expiry,
    retention_cutoff,
)
from services.dossiers.store import DossierStore

log = logging.getLogger(__name__)


def run_schedule(store: DossierStore, policy_dir: str, day: date, correlation_id: str) -> None:
    policy = policy_on(policy_dir, day)
    steps = [
        ("open", open_due_campaign),
        ("resume", partial(resume_openings, policy_dir=policy_dir)),
        ("close", close_due_campaigns),
        ("expire", expire_proposals),
        ("purge", purge),
    ]
    for name, step in steps:
        try:
            step(store, day, policy, correlation_id)
        except Exception:  # noqa: BLE001 - one failing step must not stop the others
            log.exception("scheduled step failed; next run retries", extra={"step": name})


def open_due_campaign(store: DossierStore, day: date, policy: DossierPolicy, _: str) -> None:
    if campaign_due_on(day, policy):
        open_campaign(store, policy, day, "scheduler")


def resume_openings(
    store: DossierStore, day: date, policy: DossierPolicy, _: str, *, policy_dir: str
) -> None:
    """A replica that died while inserting tasks left its campaign ``opening``: finish it."""
    for campaign in store.campaigns_in("opening"):
        opened_on = date.fromisoformat(campaign["opened_on"])
        open_campaign(store, policy_on(policy_dir, opened_on), opened_on, "scheduler")


def close_due_campaigns(
    store: DossierStore, day: date, policy: DossierPolicy, correlation_id: str
) -> None:
    for campaign in store.campaigns_in("open") + store.campaigns_in("closing"):
        if campaign["closes_on"] <= day.isoformat():
            close_campaign(store, campaign, correlation_id)


def expire_proposals(store: DossierStore, day: date, policy: DossierPolicy, _: str) -> None:
    expiry = proposal_expiry(day, policy)
    if expiry is None:
        return
    expired = store.expire_proposals(expiry)
    if expired:
        log.info("unconfirmed proposals expired", extra={"count": len(expired)})


def purge(store: DossierStore, day: date, policy: DossierPolicy, _: str) -> None:
    cutoff = retention_cutoff(day, policy)
    purged = store.purge_closed(cutoff.isoformat())
    if purged:
        log.info("closed dossiers purged", extra={"count": len(purged)})
