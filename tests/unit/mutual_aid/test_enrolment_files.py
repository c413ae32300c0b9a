"""Enrolment files are read within bounds and parsed safely: rows and columns are capped (the
caps are named in the refusal), and an XLSX whose XML declares entities is refused, never
expanded and never allowed to read another file."""

import io
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook

from services.mutual_aid.cli import read_rows
from tests.support.client import new_id_number

HEADER = ["id_number", "name", "coverage_start"]

LAUGHS = (
    '<!DOCTYPE worksheet [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    + "]>"
)
EXTERNAL = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def rows_of(path: Path, max_rows: int = 100, max_columns: int = 5) -> list[tuple[int, dict]]:
    return list(read_rows(path, max_rows, max_columns))


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def member(name: str = "张三") -> list[str]:
    return [new_id_number(), name, "2018-01-01"]


def with_sheet_xml(path: Path, edit: Callable[[str], str]) -> Path:
    """A copy of the workbook whose sheet XML went through ``edit``."""
    source = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = edit(data.decode()).encode()
            target.writestr(item, data)
    edited = path.with_name("edited-" + path.name)
    edited.write_bytes(out.getvalue())
    return edited


def hostile(path: Path, doctype: str, name_xml: str) -> Path:
    """The workbook with a DOCTYPE before the sheet's root and ``name_xml`` as the first name."""
    return with_sheet_xml(
        path,
        lambda xml: xml.replace("<worksheet", doctype + "<worksheet", 1).replace(
            "<t>张三</t>", f"<t>{name_xml}</t>", 1
        ),
    )


def undeclared_extent(path: Path) -> Path:
    """The workbook without the sheet's <dimension>, as some producers write it."""
    return with_sheet_xml(path, lambda xml: re.sub(r"<dimension [^>]*/>", "", xml))


def test_csv_and_xlsx_within_the_caps_are_read(tmp_path):
    rows = [member("张三"), member("李四")]
    for path in (write_csv(tmp_path / "a.csv", rows), write_xlsx(tmp_path / "a.xlsx", rows)):
        read = rows_of(path, max_rows=2, max_columns=3)
        assert [(line, row["name"]) for line, row in read] == [(2, "张三"), (3, "李四")]


def csv_file(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    return write_csv(path.with_suffix(".csv"), rows, header)


def xlsx_file(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    return write_xlsx(path.with_suffix(".xlsx"), rows, header)


def xlsx_file_without_extent(path: Path, rows: list[list], header: list[str] = HEADER) -> Path:
    return undeclared_extent(xlsx_file(path, rows, header))


FILE_KINDS = pytest.mark.parametrize("write", [csv_file, xlsx_file, xlsx_file_without_extent])


@FILE_KINDS
def test_enrolment_file_with_more_rows_than_the_cap_refused(tmp_path, write):
    path = write(tmp_path / "big", [member() for _ in range(3)])
    with pytest.raises(SystemExit, match=r"more than 2 rows .*ENROLMENT_IMPORT_MAX_ROWS"):
        rows_of(path, max_rows=2)


@FILE_KINDS
def test_enrolment_file_with_more_columns_than_the_cap_refused(tmp_path, write):
    wide_row = write(tmp_path / "row", [member(), [*member(), "x", "y", "z"]])
    with pytest.raises(SystemExit, match=r"\b5\b.*ENROLMENT_IMPORT_MAX_COLUMNS"):
        rows_of(wide_row, max_columns=5)
    wide_header = write(tmp_path / "header", [member()], [*HEADER, *"abc"])
    with pytest.raises(SystemExit, match=r"\b5\b.*ENROLMENT_IMPORT_MAX_COLUMNS"):
        rows_of(wide_header, max_columns=5)


def far_cell_workbook(path: Path, row: int, column: int) -> Path:
    book = Workbook()
    book.active.append(HEADER)
    book.active.append(member())
    book.active.cell(row=row, column=column, value="x")
    book.save(path)
    return path


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared_extent"])
def test_xlsx_reaching_a_far_row_refused_without_walking_to_it(tmp_path, declared):
    path = far_cell_workbook(tmp_path / "far-row.xlsx", row=1_000_000, column=1)
    path = path if declared else undeclared_extent(path)
    started = time.monotonic()
    with pytest.raises(SystemExit, match="more than 100 rows .*ENROLMENT_IMPORT_MAX_ROWS"):
        rows_of(path, max_rows=100)
    assert time.monotonic() - started < 5


def test_xlsx_reaching_a_far_column_refused(tmp_path):
    path = far_cell_workbook(tmp_path / "far-column.xlsx", row=2, column=16_000)
    with pytest.raises(SystemExit, match="16000 columns, more than 5 .*MAX_COLUMNS"):
        rows_of(path, max_columns=5)


def test_xlsx_cells_past_the_column_cap_are_never_read_when_the_extent_is_undeclared(tmp_path):
    path = undeclared_extent(far_cell_workbook(tmp_path / "far.xlsx", row=2, column=16_000))
    [(line, row)] = rows_of(path, max_columns=5)
    assert line == 2 and "x" not in row.values()


def test_xlsx_with_entity_expansion_refused_not_expanded(tmp_path):
    for entity in ("&lol9;", "&lol2;"):  # a billion laughs, and one small enough to expand
        path = hostile(write_xlsx(tmp_path / "a.xlsx", [member()]), LAUGHS, entity)
        with pytest.raises(SystemExit, match="declares XML entities or a DTD"):
            rows_of(path)


def test_xlsx_with_external_entity_refused(tmp_path):
    path = hostile(write_xlsx(tmp_path / "a.xlsx", [member()]), EXTERNAL, "&xxe;")
    with pytest.raises(SystemExit, match="declares XML entities or a DTD"):
        rows_of(path)


def test_xlsx_import_refused_when_openpyxl_would_parse_without_defusedxml(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "a.xlsx", [member()])
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)  # as OPENPYXL_DEFUSEDXML=False does
    with pytest.raises(SystemExit, match="need defusedxml"):
        rows_of(path)
