"""`python -m services.dossiers.cli condolence-batch --festival 2019-spring --fund F`: the
condolence batch (两节慰问) from a terminal, with a progress bar on stderr.

Runs the same steps as ``POST /api/v1/condolence-batches`` straight on the dossiers database
(so it works while the service is down); the service's outbox relay publishes the events."""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from datetime import date

from services.dossiers.application.condolence import Scope, run_condolence_batch
from services.dossiers.application.dossiers import policy_on
from services.dossiers.domain.policy import SERVICE
from services.dossiers.store import DossierStore
from shared import orgs
from shared.config import ConfigError, load_settings
from shared.contracts.dossiers import CondolenceBatchRequestSchema, CondolenceBatchSchema
from shared.domain_errors import DomainError
from shared.events import today_shanghai
from shared.mongo import get_database

BAR_WIDTH = 40


class ProgressBar:
    """A one-line bar on stderr, redrawn at most ten times a second and at the end."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.last_drawn = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last_drawn < 0.1:
            return
        self.last_drawn = now
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        percent = 100 * done // total if total else 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stream.write(f"\r慰问发放 [{bar}] {done}/{total} 户 {percent:3d}%")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.dossiers.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    batch = commands.add_parser("condolence-batch", help="pay one festival's condolences")
    batch.add_argument("--festival", required=True, help="e.g. 2019-spring")
    batch.add_argument("--fund", required=True)
    batch.add_argument(
        "--org",
        default=orgs.city_root(),
        help=f"scope: {orgs.city_root()} (city), a county or a unit",
    )
    batch.add_argument("--staff", default="cli", help="the approving staff id, for the ledger")
    args = parser.parse_args(argv)
    problems = CondolenceBatchRequestSchema().validate(
        {"festival": args.festival, "fund": args.fund}
    )
    if not orgs.is_known(args.org):
        problems["org"] = ["is not an org unit of the city (config/orgs.toml)"]
    if problems:
        parser.error("; ".join(f"--{k}: {' '.join(v)}" for k, v in problems.items()))
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    store = DossierStore(
        get_database(settings.mongo_uri, settings.database_name(SERVICE)), settings
    )
    store.ensure_indexes()
    actor = {"sub": args.staff, "role": "finance", "org": args.org}
    try:
        result = run_condolence_batch(
            store,
            policy_on(settings.policy_dir, date(int(args.festival[:4]), 1, 1)),
            festival=args.festival,
            fund=args.fund,
            scope=Scope(args.org),
            actor=actor,
            paid_on=today_shanghai(),
            correlation_id=str(uuid.uuid4()),
            progress=ProgressBar(),
        )
    except DomainError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    store.audit(
        actor=actor,
        action="grant",
        target=result["batch_id"],
        org=args.org,
        detail={"condolence_batch": result, "via": "cli"},
    )
    print(json.dumps(CondolenceBatchSchema().dump(result), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
