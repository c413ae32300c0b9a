"""The student-aid import CLI on nx-27017: each row through the staff application steps, bad
rows reported with their status (a duplicate is a 409 of its row, not the end of the import),
CSV and XLSX alike, the file caps; and the bank file of the campaign's batch."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from services.student_aid import cli
from services.student_aid.application import awards, disbursements
from services.student_aid.application.campaigns import open_campaign
from services.student_aid.store import StudentAidStore
from shared.events import make_event
from shared.mongo import get_database
from tests.support.client import new_id_number

pytestmark = pytest.mark.integration

POLICY_DIR = str(Path(__file__).resolve().parents[2] / "config" / "policy")
HEADER = (
    "student_id_number",
    "student_name",
    "parent_id_number",
    "education_level",
    "school",
    "school_kind",
    "aided_elsewhere",
    "migrant_hardship_certified_by",
    "applied_on",
)


@pytest.fixture(autouse=True)
def environment(monkeypatch, mongo_uri, amqp_uri):
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("AMQP_URI", amqp_uri)


@pytest.fixture
def store(settings):
    store = StudentAidStore(
        get_database(settings.mongo_uri, settings.database_name("student_aid")), settings
    )
    store.ensure_indexes()
    return store


@pytest.fixture
def year(store) -> int:
    # The CLI writes the service's own database, shared with the other tests of the session: a
    # past year (applications may not be dated in the future) no test has opened yet.
    year = next(y for y in range(2025, 1999, -1) if store.campaign(y) is None)
    data = {
        "year": year,
        "opens_on": date(year, 7, 1),
        "closes_on": date(year, 8, 31),
        "budget": 2_600_000_00,
    }
    open_campaign(store, POLICY_DIR, data, "admin-1")
    return year


def parent_with_dossier(store, county="LY-XL"):
    parent = new_id_number()
    event = make_event(
        "dossier_established",
        {
            "dossier_id": uuid.uuid4().hex,
            "head_id_hash": store.id_hash(parent),
            "county": county,
            "revision": 1,
            "tier": "national",
            "org": county,
            "established_on": "2018-03-01",
        },
        producer="dossiers",
        correlation_id="c",
    )
    store.open_dossier_head(event, "national")
    return parent


def row(year, parent, **cells) -> dict:
    return {
        "student_id_number": new_id_number(),
        "student_name": "张小明",
        "parent_id_number": parent,
        "education_level": "undergraduate",
        "school": "福州大学",
        "school_kind": "regular",
        "aided_elsewhere": "否",
        "migrant_hardship_certified_by": "",
        "applied_on": f"{year}-07-15",
        **cells,
    }


def write_csv(path, rows):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, json.loads(out.strip().splitlines()[-1]) if out.strip() else None, err


def test_import_takes_good_rows_reports_bad_ones_and_a_rerun_refuses_each_duplicate_409(
    store, year, tmp_path, capsys
):
    bad_id = "350802197001010000"
    rows = [
        row(year, parent_with_dossier(store)),
        row(year, new_id_number(), migrant_hardship_certified_by="LY-XL-0042"),
        row(year, new_id_number()),  # no hardship: taken, not eligible
        row(year, new_id_number(), student_id_number=bad_id),
        row(year, parent_with_dossier(store, "LY-SH")),  # another county's parent
        row(year, parent_with_dossier(store), applied_on=f"{year}-09-01"),
        row(year, parent_with_dossier(store), school_kind="night_school", aided_elsewhere="maybe"),
    ]
    path = write_csv(tmp_path / "paper.csv", rows)
    args = ("import", path, "--campaign", year, "--org", "LY-XL", "--report", tmp_path / "e.csv")
    code, summary, err = run(capsys, *args)
    assert code == 1
    assert summary == {"rows": 7, "imported": 3, "eligible": 2, "rejected": 4}
    assert "7/7 rows" in err  # the progress bar, on stderr
    assert "line 5 (350802********0000): 400 student_id_number" in err
    assert "line 6" in err and "403 parent_id_number" in err
    assert "line 7" in err and "422" in err and "applied_on" in err
    assert "line 8" in err and "school_kind" in err and "aided_elsewhere" in err
    assert bad_id not in err and rows[0]["student_id_number"] not in err
    with (tmp_path / "e.csv").open(encoding="utf-8") as handle:
        report = list(csv.DictReader(handle))
    assert [(r["line"], r["status"]) for r in report] == [
        ("5", "400"),
        ("6", "403"),
        ("7", "422"),
        ("8", "400"),
    ]
    assert store.count_with_status(year, "eligible") == 2

    code, summary, err = run(capsys, *args)
    assert summary == {"rows": 7, "imported": 0, "eligible": 0, "rejected": 7}
    assert err.count(": 409 student_id_number") == 3
    assert store.count_with_status(year, "eligible") == 2


def test_import_reads_xlsx_with_excel_dates_and_booleans(store, year, tmp_path, capsys):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for parent in (parent_with_dossier(store), parent_with_dossier(store)):
        cells = row(year, parent, aided_elsewhere=False, applied_on=date(year, 7, 20))
        sheet.append([cells[name] for name in HEADER])
    book.save(tmp_path / "paper.xlsx")
    code, summary, _ = run(
        capsys, "import", tmp_path / "paper.xlsx", "--campaign", year, "--org", "LY-XL"
    )
    assert (code, summary) == (0, {"rows": 2, "imported": 2, "eligible": 2, "rejected": 0})


def test_import_backdated_row_audited_under_the_cli_user(
    store, year, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("ALLOW_BACKDATED_INPUT", "false")
    path = write_csv(tmp_path / "paper.csv", [row(year, parent_with_dossier(store))])
    code, summary, _ = run(capsys, "import", path, "--campaign", year, "--org", "LY-XL")
    assert (code, summary["imported"]) == (0, 1)
    [entry] = [e for e in store.audit_entries(f"campaign/{year}") if e["action"] == "backdate"]
    assert (entry["by"], entry["org"], entry["stated"]) == (cli.CLI_USER, "LY-XL", f"{year}-07-15")


def test_import_past_the_row_cap_refused_whole(store, year, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENROLMENT_IMPORT_MAX_ROWS", "1")
    rows = [row(year, parent_with_dossier(store)) for _ in range(2)]
    path = write_csv(tmp_path / "paper.csv", rows)
    with pytest.raises(SystemExit, match="more than 1 rows .*ENROLMENT_IMPORT_MAX_ROWS"):
        cli.main(["import", str(path), "--campaign", str(year), "--org", "LY-XL"])
    assert store.count_with_status(year, "eligible") == 0


def test_import_for_an_unknown_org_or_campaign_refused(year, tmp_path):
    path = write_csv(tmp_path / "paper.csv", [])
    with pytest.raises(SystemExit, match="not an org unit of the city"):
        cli.main(["import", str(path), "--campaign", str(year), "--org", "LY-ZZ"])
    with pytest.raises(SystemExit, match="no 2999 campaign"):
        cli.main(["import", str(path), "--campaign", "2999", "--org", "LY-XL"])


def test_disbursement_file_writes_the_batchs_bank_file(store, year, tmp_path, capsys):
    with pytest.raises(SystemExit, match="no disbursement batch"):
        cli.main(["disbursement-file", str(year)])
    path = write_csv(tmp_path / "paper.csv", [row(year, parent_with_dossier(store))])
    run(capsys, "import", path, "--campaign", year, "--org", "LY-XL")
    awards.run_approvals(store, year, "admin-1")
    notice = awards.publish_notice(store, POLICY_DIR, year, date(year, 9, 3), "admin-1")
    disbursements.disbursement_batch(store, year, notice["ends_on"].replace(day=28), "fin-1")
    code, _, _ = run(capsys, "disbursement-file", year, "--out", tmp_path / "bank.csv")
    assert code == 0
    lines = (tmp_path / "bank.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("application_id,student,parent_id_masked")
    assert len(lines) == 2 and lines[1].endswith(",LY-XL,undergraduate,5000.00")
    assert "张*明" in lines[1]
