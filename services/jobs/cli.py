"""Staff command line for jobs: bulk import of a fair's vacancies from its spreadsheet.

    python -m services.jobs.cli import-vacancies FILE.csv|FILE.xlsx --fair F --employer-org LY-XL \\
        [--report errors.csv]

Columns: ``credit_code``, ``employer_name``, ``title``, ``occupation``, ``headcount``,
``salary_min``, ``salary_max`` (yuan), ``education``, ``experience_years``, ``skills``
(separated by 、 , ， ; or ；), ``valid_until``; optional ``industry``, ``county`` (default: the
county of ``--employer-org``) and ``migrant_friendly`` (yes/no, 是/否; default no).

Each row goes through the use cases staff reach over the API, as staff of ``--employer-org``:
the employer found by its credit code or registered (``employer_name``, ``industry``), the
employer registered for the fair, the vacancy posted for the fair (the request schema, then
``post_vacancy``), against the service's own database configured like the service
(``MONGO_URI``, ``PII_*`` ...). A refused row (400, 403, 409, 422) is reported with its line and
never stops the import; the running service's index picks the vacancies up within a second.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from services.jobs.application.registry import (
    post_vacancy,
    register_at_fair,
    register_employer,
)
from services.jobs.domain.policy import SERVICE
from services.jobs.store import JobsStore
from shared import import_files, orgs
from shared.auth import StaffPrincipal
from shared.config import Settings, load_settings
from shared.contracts.jobs import EmployerRequestSchema, VacancyRequestSchema
from shared.errors import ApiError, validated
from shared.events import today_shanghai
from shared.mongo import get_database

COLUMNS = (
    "credit_code",
    "employer_name",
    "title",
    "occupation",
    "headcount",
    "salary_min",
    "salary_max",
    "education",
    "experience_years",
    "skills",
    "valid_until",
)
YES_NO = {"yes": True, "true": True, "1": True, "是": True, "no": False, "false": False}
YES_NO |= {"0": False, "否": False, "": False}
SKILL_SEPARATORS = re.compile(r"[、,，;；/]+")
CLI_USER = "cli:" + os.environ.get("USER", "staff")
# The staff who run a fair's import serve workers in that county: county staff of its org.
CLI_ROLE = "county_staff"


def open_store(settings: Settings) -> JobsStore:
    store = JobsStore(get_database(settings.mongo_uri, settings.database_name(SERVICE)), settings)
    store.ensure_indexes()
    return store


def _text(value) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _number(value) -> int | str:
    text = _text(value)
    return int(text) if text.isdigit() else text


def _money(value) -> str:
    text = _text(value)
    try:
        return f"{float(text):.2f}" if text and "." not in text else text
    except ValueError:
        return text


def vacancy_request(row: dict, employer_id: str, fair_id: str, county: str) -> dict:
    flag = _text(row.get("migrant_friendly")).lower()
    return {
        "employer_id": employer_id,
        "title": _text(row.get("title")),
        "occupation": _text(row.get("occupation")),
        "headcount": _number(row.get("headcount")),
        "salary_min": _money(row.get("salary_min")),
        "salary_max": _money(row.get("salary_max")),
        "education": _text(row.get("education")),
        "experience_years": _number(row.get("experience_years")),
        "county": _text(row.get("county")) or county,
        "skills": [s for s in SKILL_SEPARATORS.split(_text(row.get("skills"))) if s.strip()],
        "migrant_friendly": YES_NO.get(flag, flag),
        "valid_until": _text(row.get("valid_until")),
        "fair_id": fair_id,
    }


def employer_of(store: JobsStore, staff: StaffPrincipal, row: dict, county: str) -> str:
    """The row's employer by credit code: found, or registered now."""
    data = validated(
        EmployerRequestSchema(),
        {
            "credit_code": _text(row.get("credit_code")),
            "name": _text(row.get("employer_name")),
            "county": _text(row.get("county")) or county,
            "industry": _text(row.get("industry")) or "未填",
        },
    )
    try:
        return register_employer(store, staff, data)
    except ApiError as exc:
        if exc.status == 409 and "employer_id" in exc.extra:
            return exc.extra["employer_id"]
        raise


def import_row(store: JobsStore, staff: StaffPrincipal, row: dict, fair: dict, county: str) -> str:
    employer_id = employer_of(store, staff, row, county)
    register_at_fair(store, staff, fair["_id"], {"employer_id": employer_id}, "cli-import")
    data = validated(VacancyRequestSchema(), vacancy_request(row, employer_id, fair["_id"], county))
    return post_vacancy(store, staff, data, today_shanghai())["_id"]


def import_vacancies_command(args: argparse.Namespace) -> int:
    county = orgs.county_of(args.employer_org)
    if county is None:
        raise SystemExit(f"--employer-org {args.employer_org} is not a county or unit of the city")
    settings = load_settings(os.environ)
    store = open_store(settings)
    fair = store.fair(args.fair)
    if fair is None:
        raise SystemExit(f"there is no fair {args.fair}: open it first")
    rows = list(
        import_files.read_rows(
            Path(args.file),
            settings.enrolment_import_max_rows,
            settings.enrolment_import_max_columns,
            COLUMNS,
        )
    )
    staff = StaffPrincipal(sub=CLI_USER, role=CLI_ROLE, org=args.employer_org)
    counts = {"rows": len(rows), "imported": 0, "positions": 0, "rejected": 0}
    errors: list[dict] = []
    import_files.progress(0, len(rows))
    for done, (line, row) in enumerate(rows, start=1):
        try:
            import_row(store, staff, row, fair, county)
        except ApiError as exc:
            errors.append(
                {
                    "line": line,
                    "credit_code": _text(row.get("credit_code")),
                    "status": exc.status,
                    "message": exc.message,
                    "fields": exc.fields or {},
                }
            )
        else:
            counts["imported"] += 1
            counts["positions"] += int(_number(row.get("headcount")) or 0)
        import_files.progress(done, len(rows))
    sys.stderr.write("\n")
    counts["rejected"] = len(errors)
    import_files.report_errors(errors, key="credit_code", column="credit_code", path=args.report)
    print(json.dumps(counts))
    return 1 if errors else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m services.jobs.cli", description=__doc__.split("\n")[0]
    )
    commands = top.add_subparsers(dest="command", required=True)
    bulk = commands.add_parser("import-vacancies", help="import a fair's vacancies (CSV, XLSX)")
    bulk.add_argument("file")
    bulk.add_argument("--fair", required=True, help="the fair's id")
    bulk.add_argument(
        "--employer-org", required=True, help="the county or unit whose staff run the import"
    )
    bulk.add_argument("--report", help="also write the row errors to this CSV")
    bulk.set_defaults(run=import_vacancies_command)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
