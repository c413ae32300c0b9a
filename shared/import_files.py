"""Bounded reading of the CSV/XLSX files staff import from the command line, and its progress bar."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path


def read_rows(
    path: Path, max_rows: int, max_columns: int, required: Sequence[str]
) -> Iterator[tuple[int, dict]]:
    """(line number, header → cell) for every data row of a CSV (UTF-8, BOM allowed) or XLSX
    file. A file with more than ``max_rows`` rows after its header, or a value beyond column
    ``max_columns``, or a header lacking a ``required`` column, is refused whole (SystemExit
    naming the cap) before any row is imported."""
    if path.suffix.lower() == ".xlsx":
        yield from _xlsx_rows(path, max_rows, max_columns, required)
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        _check_width(header, 1, max_columns)
        _check_header(header, required)
        for line, values in enumerate(reader, start=2):
            _check_length(line, max_rows)
            _check_width(values, line, max_columns)
            if values:
                yield line, dict(zip(header, values, strict=False))


def _xlsx_rows(
    path: Path, max_rows: int, max_columns: int, required: Sequence[str]
) -> Iterator[tuple[int, dict]]:
    import openpyxl  # only XLSX imports need it

    # openpyxl parses with defusedxml when it is installed (it is pinned in requirements):
    # without it, entity declarations in the XML parts would be expanded.
    if not openpyxl.DEFUSEDXML:
        raise SystemExit("XLSX imports need defusedxml (OPENPYXL_DEFUSEDXML must not be False)")
    from defusedxml import DefusedXmlException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.active
            # The extent the sheet declares, then bounded reads for a sheet that declares none
            # or understates it (openpyxl pads rows up to a far cell; cells past max_col are
            # never read).
            _check_length(sheet.max_row or 0, max_rows)
            if (sheet.max_column or 0) > max_columns:
                raise SystemExit(
                    f"the sheet spans {sheet.max_column} columns, more than {max_columns} "
                    "(ENROLMENT_IMPORT_MAX_COLUMNS); nothing was imported"
                )
            rows = sheet.iter_rows(values_only=True, max_row=max_rows + 2, max_col=max_columns + 1)
            first = next(rows, ())
            _check_width(first, 1, max_columns)
            header = [str(cell or "").strip() for cell in first]
            _check_header(header, required)
            for line, values in enumerate(rows, start=2):
                _check_length(line, max_rows)
                _check_width(values, line, max_columns)
                if all(v is None or str(v).strip() == "" for v in values):
                    continue
                yield line, dict(zip(header, values, strict=False))
        finally:
            workbook.close()
    except (DefusedXmlException, ValueError) as exc:
        # openpyxl wraps what its XML parser raised while loading in a ValueError.
        cause = exc if isinstance(exc, DefusedXmlException) else exc.__cause__
        if not isinstance(cause, DefusedXmlException):
            raise
        raise SystemExit(
            f"{path.name} declares XML entities or a DTD, which an XLSX file never needs: refused"
        ) from None


def _check_length(line: int, max_rows: int) -> None:
    if line - 1 > max_rows:
        raise SystemExit(
            f"the file has more than {max_rows} rows after its header "
            "(ENROLMENT_IMPORT_MAX_ROWS): split it; nothing was imported"
        )


def _check_width(values: Sequence, line: int, max_columns: int) -> None:
    if any(v not in (None, "") for v in values[max_columns:]):
        raise SystemExit(
            f"line {line} has a value beyond column {max_columns} "
            "(ENROLMENT_IMPORT_MAX_COLUMNS); nothing was imported"
        )


def _check_header(header: Sequence[str], required: Sequence[str]) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise SystemExit(
            f"the file lacks the column(s) {', '.join(missing)}: need {tuple(required)}"
        )


def progress(done: int, total: int) -> None:
    """A one-line bar on stderr, redrawn in place."""
    width = 30
    filled = width * done // total if total else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows")
    sys.stderr.flush()


def report_errors(
    errors: Sequence[Mapping], *, key: str, column: str, path: str | None, status: bool = True
) -> None:
    """Say every rejected row on stderr (``line 4 (<the row's key>): <field: reasons>``) and,
    when ``path`` names a file, write them as CSV for staff to fix and import again: ``line``,
    ``column`` (the row's ``key`` value, masked by the caller where it is personal), ``status``
    (unless ``status`` is false) and ``error`` (the fields' reasons as JSON, or the message).
    Each error is a mapping with ``line``, ``key``, ``message``, ``fields`` and ``status``."""
    for error in errors:
        fields = error.get("fields") or {}
        reasons = "; ".join(f"{name}: {' '.join(map(str, v))}" for name, v in fields.items())
        code = f"{error['status']} " if status else ""
        sys.stderr.write(
            f"line {error['line']} ({error[key]}): {code}{reasons or error['message']}\n"
        )
    if not path:
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("line", column, *(("status",) if status else ()), "error"))
        for error in errors:
            detail = json.dumps(error.get("fields") or error["message"], ensure_ascii=False)
            codes = (error["status"],) if status else ()
            writer.writerow((error["line"], error[key], *codes, detail))
