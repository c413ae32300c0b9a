"""Staff command line for mutual_aid: bulk enrolment imports, payout batches, policy versions.

    python -m services.mutual_aid.cli enroll FILE.csv|FILE.xlsx --period 11 --plan A \\
        --employer-org LY-XL-0042 [--enrolled-on 2017-11-20] [--report errors.csv]
    python -m services.mutual_aid.cli payout create 2018-06
    python -m services.mutual_aid.cli payout file payout-2018-06 [--out FILE]
    python -m services.mutual_aid.cli payout confirm payout-2018-06
    python -m services.mutual_aid.cli policy load FILE.toml
    python -m services.mutual_aid.cli policy list

It runs the same checks and store writes as the API (``services.mutual_aid.application.enrolment``,
``PolicyBook``, the service's payout methods) against the service's own database, configured
like the service (``MONGO_URI``, ``PII_*`` ...). Events it writes (claim_paid) leave through
the running service's outbox relay. Row errors never print an ID number in clear.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

from services.mutual_aid.application.enrolment import (
    audit_backdated_enrolment,
    enroll_rows,
    window_error,
)
from services.mutual_aid.application.payouts import confirm_batch, payout_batch, payout_file
from services.mutual_aid.application.policies import PolicyBook
from services.mutual_aid.store import MutualAidStore
from shared import import_files, orgs
from shared.business_dates import business_date
from shared.config import load_settings
from shared.contracts.mutual_aid import PayoutBatchRequestSchema
from shared.crypto import vault_of
from shared.errors import ApiError
from shared.events import now_shanghai
from shared.identity import InvalidIdentifier, mask_id_number
from shared.mongo import get_database

COLUMNS = ("id_number", "name", "coverage_start")
OPTIONAL_COLUMNS = ("plan", "bank_account")
CHUNK = 500
CLI_USER = "cli:" + os.environ.get("USER", "staff")
CLI_ROLE = "city_admin"


def open_store() -> MutualAidStore:
    settings = load_settings(os.environ)
    store = MutualAidStore(
        get_database(settings.mongo_uri, settings.database_name("mutual_aid")), settings
    )
    store.ensure_indexes()
    return store


def read_rows(path: Path, max_rows: int, max_columns: int) -> Iterator[tuple[int, dict]]:
    """(line number, row cleaned as the API would receive it) for every data row of the file,
    bounded as ``shared.import_files`` reads (a file past a cap is refused whole)."""
    for line, row in import_files.read_rows(path, max_rows, max_columns, COLUMNS):
        yield line, _clean(row)


def _clean(row: dict) -> dict:
    """Cells as the API would receive them: text, dates as ISO, empty optional cells dropped."""
    clean = {}
    for key in (*COLUMNS, *OPTIONAL_COLUMNS):
        value = row.get(key)
        if isinstance(value, date):
            value = value.isoformat()[:10]
        elif isinstance(value, int | float) and key == "bank_account":
            value = str(int(value))
        elif value is not None:
            value = str(value).strip()
        if value in (None, "") and key in OPTIONAL_COLUMNS:
            continue
        clean[key] = value if value is not None else ""
    return clean


def _safe_id(row: dict) -> str:
    try:
        return mask_id_number(row.get("id_number", ""))
    except InvalidIdentifier:
        return "(invalid)"


def enroll_command(args: argparse.Namespace) -> int:
    if not orgs.is_known(args.employer_org):
        raise SystemExit(f"--employer-org {args.employer_org} is not an org unit of the city")
    settings = load_settings(os.environ)
    store = open_store()
    policy = PolicyBook(store, settings.policy_dir).for_period(args.period)
    # The command line runs with the service's own credentials, held by city-level operators:
    # it may backdate as city_admin does, and each backdating is audited under the OS user.
    stated = business_date(
        args.enrolled_on,
        "enrolled_on",
        CLI_ROLE,
        allow_backdated=settings.allow_backdated_input,
    )
    enrolled_on = stated.day
    if args.plan not in policy.plans:
        raise SystemExit(f"unknown plan {args.plan}: the policy has {', '.join(policy.plans)}")
    closed = window_error(policy, args.period, enrolled_on)
    if closed:
        raise SystemExit(closed.message)
    rows = list(
        read_rows(
            Path(args.file),
            settings.enrolment_import_max_rows,
            settings.enrolment_import_max_columns,
        )
    )
    if stated.backdated_by_role:
        audit_backdated_enrolment(
            store,
            stated,
            by=CLI_USER,
            role=CLI_ROLE,
            org=orgs.city_root(),
            period=args.period,
            employer_org=args.employer_org,
        )
    enrolled = already = 0
    errors: list[dict] = []
    import_files.progress(0, len(rows))
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        outcome = enroll_rows(
            store,
            vault_of(settings),
            policy=policy,
            period=args.period,
            plan=args.plan,
            employer_org=args.employer_org,
            enrolled_on=enrolled_on,
            rows=[row for _, row in chunk],
        )
        enrolled += outcome.enrolled
        already += outcome.already_enrolled
        for rejected in outcome.rejected:
            line, row = chunk[rejected["index"]]
            errors.append({"line": line, "id_number": _safe_id(row), **rejected["error"]})
        import_files.progress(start + len(chunk), len(rows))
    sys.stderr.write("\n")
    import_files.report_errors(
        errors, key="id_number", column="id_number_masked", path=args.report, status=False
    )
    summary = {
        "rows": len(rows),
        "enrolled": enrolled,
        "already_enrolled": already,
        "rejected": len(errors),
    }
    print(json.dumps(summary))
    return 1 if errors else 0


def payout_command(args: argparse.Namespace) -> int:
    # The running service's relay publishes the events these steps leave in the outbox.
    store = open_store()
    if args.action == "create":
        errors = PayoutBatchRequestSchema().validate({"month": args.target})
        if errors:
            raise SystemExit(f"month: {' '.join(errors['month'])}")
        print(json.dumps(payout_batch(store, args.target, CLI_USER)))
    elif args.action == "file":
        text = payout_file(store, args.target, CLI_USER)
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    else:
        correlation_id = f"cli-{now_shanghai().strftime('%Y%m%dT%H%M%S')}"
        batch = confirm_batch(store, args.target, CLI_USER, correlation_id)
        print(json.dumps(batch))
    return 0


def policy_command(args: argparse.Namespace) -> int:
    book = PolicyBook(open_store(), load_settings(os.environ).policy_dir)
    if args.action == "list":
        print(json.dumps(book.versions(), ensure_ascii=False, indent=1))
        return 0
    entry, created = book.load(Path(args.file).read_text(encoding="utf-8"), CLI_USER)
    print(json.dumps({**entry, "created": created}, ensure_ascii=False))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m services.mutual_aid.cli", description=__doc__.split("\n")[0]
    )
    commands = top.add_subparsers(dest="command", required=True)
    enroll = commands.add_parser("enroll", help="import employees from a CSV or XLSX file")
    enroll.add_argument("file")
    enroll.add_argument("--period", type=int, required=True)
    enroll.add_argument("--plan", required=True)
    enroll.add_argument("--employer-org", required=True)
    enroll.add_argument("--enrolled-on", type=date.fromisoformat)
    enroll.add_argument("--report", help="also write the row errors to this CSV")
    enroll.set_defaults(run=enroll_command)
    payout = commands.add_parser("payout", help="monthly payout batches (finance)")
    payout.add_argument("action", choices=("create", "file", "confirm"))
    payout.add_argument("target", help="the month (create) or the batch id (file, confirm)")
    payout.add_argument("--out")
    payout.set_defaults(run=payout_command)
    policy = commands.add_parser("policy", help="policy versions")
    policy.add_argument("action", choices=("load", "list"))
    policy.add_argument("file", nargs="?")
    policy.set_defaults(run=policy_command)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ApiError as exc:
        sys.stderr.write(
            f"{exc.message} {json.dumps(exc.fields, ensure_ascii=False) if exc.fields else ''}\n"
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
