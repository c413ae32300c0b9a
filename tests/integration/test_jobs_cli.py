"""The jobs import CLI on nx-27017: a fair's vacancies from its spreadsheet, each row through
the staff steps (employer found or registered, registered for the fair, vacancy posted), bad
rows reported with their line and status, CSV and XLSX alike."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.jobs import cli
from services.jobs.store import JobsStore
from shared.identity import make_credit_code
from shared.mongo import get_database

pytestmark = pytest.mark.integration

HEADER = (
    "credit_code",
    "employer_name",
    "industry",
    "title",
    "occupation",
    "headcount",
    "salary_min",
    "salary_max",
    "education",
    "experience_years",
    "skills",
    "migrant_friendly",
    "valid_until",
)


@pytest.fixture(autouse=True)
def environment(monkeypatch, mongo_uri, amqp_uri):
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("AMQP_URI", amqp_uri)


@pytest.fixture
def store(settings):
    store = JobsStore(get_database(settings.mongo_uri, settings.database_name("jobs")), settings)
    store.ensure_indexes()
    return store


@pytest.fixture
def fair(store):
    fair_id = f"F-cli-{uuid.uuid4().hex[:8]}"
    store.add_fair(
        {
            "_id": fair_id,
            "kind": "monthly",
            "name": "月度招聘会",
            "date": "2018-04-15",
            "county": "LY-XL",
        }
    )
    return fair_id


def code() -> str:
    return make_credit_code("91350800" + f"{uuid.uuid4().int % 10**9:09d}")


def rows(first_code: str) -> list[tuple]:
    return [
        (
            first_code,
            "紫金矿业",
            "采矿",
            "电焊工",
            "电焊工",
            5,
            3000,
            "4500.50",
            "junior_high",
            1,
            "焊接、识图",
            "是",
            "2099-12-31",
        ),
        (
            first_code,
            "紫金矿业",
            "采矿",
            "叉车司机",
            "叉车司机",
            "2",
            "3500",
            "5000",
            "none",
            0,
            "叉车驾驶",
            "no",
            "2099-12-31",
        ),
        (
            code()[:17] + "?",
            "坏代码厂",
            "制造",
            "普工",
            "普工",
            3,
            3000,
            3500,
            "none",
            0,
            "",
            "",
            "2099-12-31",
        ),
        (
            code(),
            "龙工",
            "机械",
            "普工",
            "普工",
            3,
            4000,
            3500,
            "none",
            0,
            "装配",
            "",
            "2099-12-31",
        ),
        (
            code(),
            "龙净",
            "环保",
            "电工",
            "电工",
            1,
            3000,
            4000,
            "doctorate",
            0,
            "电工",
            "",
            "2099-12-31",
        ),
    ]


def write_csv(path: Path, data: list[tuple]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(data)
    return path


def write_xlsx(path: Path, data: list[tuple]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in data:
        sheet.append(list(row))
    book.save(path)
    return path


@pytest.mark.parametrize("writer", [write_csv, write_xlsx], ids=["csv", "xlsx"])
def test_a_fairs_sheet_imported_with_bad_rows_reported(tmp_path, store, fair, writer, capsys):
    first = code()
    suffix = "csv" if writer is write_csv else "xlsx"
    sheet = writer(tmp_path / f"fair.{suffix}", rows(first))
    report = tmp_path / "errors.csv"
    status = cli.main(
        [
            "import-vacancies",
            str(sheet),
            "--fair",
            fair,
            "--employer-org",
            "LY-XL-0042",
            "--report",
            str(report),
        ]
    )
    out, err = capsys.readouterr()
    assert status == 1  # some rows refused
    assert json.loads(out.strip().splitlines()[-1]) == {
        "rows": 5,
        "imported": 2,
        "positions": 7,
        "rejected": 3,
    }
    assert "line 4" in err and "credit_code" in err  # a bad check character
    assert "line 5" in err and "salary_max" in err  # below salary_min
    assert "line 6" in err and "education" in err
    assert "[" in err and "5/5 rows" in err  # the progress bar
    with report.open(encoding="utf-8") as handle:
        assert [r["line"] for r in csv.DictReader(handle)] == ["4", "5", "6"]
    employer = store.employers.find_one({"credit_code": first})
    vacancies = list(store.vacancies.find({"fair_id": fair}).sort("headcount", -1))
    assert [(v["employer_id"], v["headcount"], v["salary_max_fen"]) for v in vacancies] == [
        (employer["_id"], 5, 450_050),
        (employer["_id"], 2, 500_000),
    ]
    assert vacancies[0]["skills"] == ["焊接", "识图"] and vacancies[0]["migrant_friendly"] is True
    assert vacancies[0]["posted_on"] == "2018-04-15"  # the fair's date
    assert (
        store.registrations.count_documents({"fair_id": fair, "employer_id": employer["_id"]}) == 1
    )


def test_a_fair_never_opened_is_refused_whole(tmp_path, capsys):
    sheet = write_csv(tmp_path / "fair.csv", rows(code()))
    with pytest.raises(SystemExit, match="no fair"):
        cli.main(["import-vacancies", str(sheet), "--fair", "F-none", "--employer-org", "LY-XL"])
