"""The enrolment import CLI on nx-27017: good rows enrolled, bad rows reported, reruns and
renewals, CSV and XLSX alike; the finance payout commands."""

from __future__ import annotations

import csv
import json
import uuid

import pytest
from openpyxl import Workbook

from services.mutual_aid import cli
from tests.support.client import new_id_number

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def environment(monkeypatch, mongo_uri, amqp_uri):
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("AMQP_URI", amqp_uri)


def org() -> str:
    return f"LY-XL-{uuid.uuid4().int % 10000:04d}"


def write_csv(path, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("id_number", "name", "coverage_start", "plan"))
        writer.writerows(rows)
    return path


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]) if out.strip() else None, err


def test_csv_import_enrols_good_rows_reports_bad_ones_and_reruns_enrol_nobody_twice(
    tmp_path, capsys
):
    good = [new_id_number() for _ in range(3)]
    bad_id = "350802197001010000"
    rows = [
        (good[0], "张三", "2018-01-01", ""),
        (bad_id, "李四", "2018-01-01", ""),
        (good[1], "王五", "2018-01-01", "Z"),
        (good[2], "赵六", "2019-01-01", ""),
        (new_id_number(), "钱七", "2018-02-01", "C"),
    ]
    path = write_csv(tmp_path / "staff.csv", rows)
    employer = org()
    args = ("enroll", path, "--period", 11, "--plan", "A", "--employer-org", employer)
    args += ("--enrolled-on", "2017-11-20", "--report", tmp_path / "errors.csv")

    code, summary, err = run(capsys, *args)

    assert code == 1
    assert summary == {"rows": 5, "enrolled": 2, "already_enrolled": 0, "rejected": 3}
    assert "5/5 rows" in err  # the progress bar, on stderr
    assert "line 3 (350802********0000): id_number" in err
    assert "line 4" in err and "plan" in err and "line 5" in err and "coverage_start" in err
    assert bad_id not in err and good[1] not in err
    report = list(csv.DictReader((tmp_path / "errors.csv").open(encoding="utf-8")))
    assert [r["line"] for r in report] == ["3", "4", "5"]

    code, summary, _ = run(capsys, *args)
    assert summary == {"rows": 5, "enrolled": 0, "already_enrolled": 2, "rejected": 3}


def test_xlsx_import_detects_renewals(tmp_path, capsys):
    renewing, first_timer = new_id_number(), new_id_number()
    employer = org()
    write_csv(tmp_path / "p11.csv", [(renewing, "张三", "2018-01-01", "")])
    run(
        capsys,
        "enroll",
        tmp_path / "p11.csv",
        "--period",
        11,
        "--plan",
        "A",
        "--employer-org",
        employer,
        "--enrolled-on",
        "2017-11-20",
    )

    book = Workbook()
    sheet = book.active
    sheet.append(["id_number", "name", "coverage_start", "bank_account"])
    sheet.append([renewing, "张三", "2019-01-01", "6222020200112233445"])
    sheet.append([first_timer, "李四", "2019-01-01", None])
    book.save(tmp_path / "p12.xlsx")

    code, summary, _ = run(
        capsys,
        "enroll",
        tmp_path / "p12.xlsx",
        "--period",
        12,
        "--plan",
        "B",
        "--employer-org",
        employer,
        "--enrolled-on",
        "2018-11-20",
    )

    assert code == 0 and summary["enrolled"] == 2
    store = cli.open_store()
    renewal = {
        doc["name"]: doc["renewal"]
        for doc in store.members.find({"period": 12, "employer_org": employer})
    }
    assert renewal == {"张三": True, "李四": False}
    member = store.membership(12, store.vault.lookup_hash(renewing))
    assert member["account_masked"] == "6222***********3445" and member["contribution_fen"] == 6000


def test_import_outside_the_enrolment_window_stops_before_any_row(tmp_path, capsys):
    path = write_csv(tmp_path / "late.csv", [(new_id_number(), "张三", "2018-12-05", "")])
    with pytest.raises(SystemExit, match="enrols from 2017-11-01 to 2018-11-30"):
        cli.main(
            [
                "enroll",
                str(path),
                "--period",
                "11",
                "--plan",
                "A",
                "--employer-org",
                org(),
                "--enrolled-on",
                "2018-12-01",
            ]
        )


def test_payout_commands_refuse_a_bad_month_and_an_unknown_batch(capsys):
    with pytest.raises(SystemExit, match="month"):
        cli.main(["payout", "create", "2018-6"])
    assert cli.main(["payout", "file", "payout-1999-01"]) == 2
    assert "not found" in capsys.readouterr().err


def test_import_over_the_row_cap_is_refused_whole_before_any_row(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ENROLMENT_IMPORT_MAX_ROWS", "2")
    rows = [(new_id_number(), "张三", "2018-01-01", "") for _ in range(3)]
    path = write_csv(tmp_path / "big.csv", rows)
    args = ["enroll", path, "--period", 11, "--plan", "A", "--employer-org", org()]
    args += ["--enrolled-on", "2017-11-20"]
    with pytest.raises(SystemExit, match="more than 2 rows .*ENROLMENT_IMPORT_MAX_ROWS"):
        cli.main([str(a) for a in args])

    monkeypatch.setenv("ENROLMENT_IMPORT_MAX_ROWS", "3")
    code, summary, _ = run(capsys, *args)
    assert (code, summary["enrolled"], summary["already_enrolled"]) == (0, 3, 0)


@pytest.mark.parametrize("employer", ["LY-ZZ-0001", "XX"])
def test_import_for_an_employer_outside_the_org_tree_is_refused_before_any_row(tmp_path, employer):
    path = write_csv(tmp_path / "stray.csv", [(new_id_number(), "张三", "2017-11-20", "")])
    with pytest.raises(SystemExit, match="not an org unit of the city"):
        cli.main(["enroll", str(path), "--period", "11", "--plan", "A", "--employer-org", employer])
