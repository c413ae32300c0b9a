"""Staff command line for student_aid: bulk import of staff-collected applications, bank file.

    python -m services.student_aid.cli import FILE.csv|FILE.xlsx --campaign 2018 --org LY-XL \\
        [--report errors.csv]
    python -m services.student_aid.cli disbursement-file 2018 [--out FILE]

Each imported row goes through the use case of an application staff submit over the API
(the request schema, then ``submit_staff_application``: the business date, the parent's
dossier and org scope, eligibility and the one-per-student rule), scoped
to ``--org``'s subtree, against the service's own database configured like the service
(``MONGO_URI``, ``PII_*`` ...). A refused row (400, 403, 409, 422) is reported with its line
and never stops the import; row errors never print an ID number in clear. Events it writes
leave through the running service's outbox relay.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from services.student_aid.application.applications import submit_staff_application
from services.student_aid.application.disbursements import bank_file
from services.student_aid.domain.policy import SERVICE
from services.student_aid.store import StudentAidStore
from shared import import_files, orgs
from shared.auth import StaffPrincipal
from shared.config import Settings, load_settings
from shared.contracts.student_aid import AidApplicationRequestSchema
from shared.domain_errors import DomainError
from shared.errors import ApiError, answer, validated
from shared.identity import InvalidIdentifier, mask_id_number
from shared.mongo import get_database

COLUMNS = (
    "student_id_number",
    "student_name",
    "parent_id_number",
    "education_level",
    "school",
    "school_kind",
    "aided_elsewhere",
)
OPTIONAL_COLUMNS = ("migrant_hardship_certified_by", "applied_on")
# How staff fill in the yes/no column; anything else reaches the schema as text and is refused.
YES_NO = {"yes": True, "true": True, "1": True, "是": True, "no": False, "false": False}
YES_NO |= {"0": False, "否": False}
CLI_USER = "cli:" + os.environ.get("USER", "staff")
# As mutual_aid's CLI: it runs with the service's own credentials, held by city-level
# operators, so it may backdate as city_admin does (paper applications are dated when they
# were taken; each backdating is audited under the OS user); the scope is --org's subtree.
CLI_ROLE = "city_admin"


def open_store(settings: Settings) -> StudentAidStore:
    store = StudentAidStore(
        get_database(settings.mongo_uri, settings.database_name(SERVICE)), settings
    )
    store.ensure_indexes()
    return store


def _clean(row: dict, campaign: int) -> dict:
    """The cells as the API would receive them: text, dates as ISO, yes/no as booleans, empty
    optional cells dropped."""
    clean: dict = {"campaign": campaign}
    for key in (*COLUMNS, *OPTIONAL_COLUMNS):
        value = row.get(key)
        if isinstance(value, date):
            value = value.isoformat()[:10]
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = str(int(value))
        elif value is not None and not isinstance(value, bool):
            value = str(value).strip()
        if key == "aided_elsewhere" and isinstance(value, str):
            value = YES_NO.get(value.lower(), value)
        if value in (None, "") and key in OPTIONAL_COLUMNS:
            continue
        clean[key] = value if value is not None else ""
    return clean


def _safe_id(row: dict) -> str:
    try:
        return mask_id_number(str(row.get("student_id_number", "")))
    except InvalidIdentifier:
        return "(invalid)"


def submit(store: StudentAidStore, settings: Settings, staff: StaffPrincipal, row: dict) -> dict:
    """One row, through the use case of the service's ``submit_application``."""
    data = validated(AidApplicationRequestSchema(), row)
    try:
        return submit_staff_application(
            store,
            settings.policy_dir,
            staff,
            data,
            allow_backdated=settings.allow_backdated_input,
        )
    except DomainError as error:
        raise answer(error) from None


def import_command(args: argparse.Namespace) -> int:
    if not orgs.is_known(args.org):
        raise SystemExit(f"--org {args.org} is not an org unit of the city")
    settings = load_settings(os.environ)
    store = open_store(settings)
    if store.campaign(args.campaign) is None:
        raise SystemExit(f"there is no {args.campaign} campaign: open it first")
    rows = list(
        import_files.read_rows(
            Path(args.file),
            settings.enrolment_import_max_rows,
            settings.enrolment_import_max_columns,
            COLUMNS,
        )
    )
    staff = StaffPrincipal(sub=CLI_USER, role=CLI_ROLE, org=args.org)
    counts = {"rows": len(rows), "imported": 0, "eligible": 0, "rejected": 0}
    errors: list[dict] = []
    import_files.progress(0, len(rows))
    for done, (line, row) in enumerate(rows, start=1):
        try:
            application = submit(store, settings, staff, _clean(row, args.campaign))
        except ApiError as exc:
            errors.append(
                {
                    "line": line,
                    "id_number": _safe_id(row),
                    "status": exc.status,
                    "message": exc.message,
                    "fields": exc.fields or {},
                }
            )
        else:
            counts["imported"] += 1
            counts["eligible"] += application["status"] == "eligible"
        import_files.progress(done, len(rows))
    sys.stderr.write("\n")
    counts["rejected"] = len(errors)
    import_files.report_errors(
        errors, key="id_number", column="student_id_number_masked", path=args.report
    )
    print(json.dumps(counts))
    return 1 if errors else 0


def disbursement_file_command(args: argparse.Namespace) -> int:
    store = open_store(load_settings(os.environ))
    batch = store.disbursement_of(args.year)
    if batch is None:
        raise SystemExit(f"the {args.year} campaign has no disbursement batch: finance makes it")
    text = bank_file(store, batch["_id"], CLI_USER)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m services.student_aid.cli", description=__doc__.split("\n")[0]
    )
    commands = top.add_subparsers(dest="command", required=True)
    bulk = commands.add_parser("import", help="import staff-collected applications (CSV, XLSX)")
    bulk.add_argument("file")
    bulk.add_argument("--campaign", type=int, required=True)
    bulk.add_argument("--org", required=True, help="the org unit of the staff who collected them")
    bulk.add_argument("--report", help="also write the row errors to this CSV")
    bulk.set_defaults(run=import_command)
    bank = commands.add_parser("disbursement-file", help="the campaign's bank file (finance)")
    bank.add_argument("year", type=int)
    bank.add_argument("--out")
    bank.set_defaults(run=disbursement_file_command)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
