"""The bank file and the period figures, to the fen."""

import csv
import io

from services.mutual_aid.domain.payout import NO_ACCOUNT, bank_file, county_of, period_figures


def row(claim_id, member, amount, account=None):
    return {
        "claim_id": claim_id,
        "member_id_hash": f"h-{member}",
        "member": "张*明",
        "member_id_masked": "350802********1234",
        "account_masked": account,
        "amount_fen": amount,
    }


def test_bank_file_has_one_line_per_member_with_sum_and_claim_ids():
    text = bank_file([row("c1", 1, 66001, "6222********1234"), row("c2", 2, 100), row("c3", 1, 99)])
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["member", "member_id_masked", "account_masked", "amount_yuan", "claim_ids"]
    assert lines[1] == ["张*明", "350802********1234", "6222********1234", "661.00", "c1 c3"]
    assert lines[2] == ["张*明", "350802********1234", NO_ACCOUNT, "1.00", "c2"]


def test_bank_file_of_an_empty_batch_is_the_header():
    assert bank_file([]).count("\n") == 1


def test_county_of_org_units():
    assert county_of("LY-XL-0042") == "LY-XL"
    assert county_of("LY-XL") == "LY-XL"
    assert county_of(None) == "LY"


def test_period_figures_count_approved_and_paid_above_zero_exactly():
    claims = [
        {"status": "approved", "amount_fen": 66001, "plan": "A", "member_org": "LY-XL-0001"},
        {"status": "paid", "amount_fen": 33333, "plan": "B", "member_org": "LY-XL-0002"},
        {"status": "paid", "amount_fen": 1, "plan": "A", "member_org": "LY-SH-0001"},
        {"status": "approved", "amount_fen": 0, "plan": "A", "member_org": "LY-SH-0001"},
        {"status": "rejected", "amount_fen": 0, "plan": "A", "member_org": "LY-SH-0001"},
        {"status": "needs_review", "amount_fen": 5000, "plan": "A", "member_org": "LY-SH-0001"},
    ]
    figures = period_figures(claims)
    assert figures["person_times"] == 3
    assert figures["approved_total"] == 99335
    assert figures["paid_total"] == 33334
    assert figures["by_plan"]["A"] == {"person_times": 2, "approved_total": 66002, "paid_total": 1}
    assert figures["by_county"]["LY-XL"] == {
        "person_times": 2,
        "approved_total": 99334,
        "paid_total": 33333,
    }


def test_period_figures_by_month_of_submission_and_county():
    claims = [
        {"status": "approved", "amount_fen": 500, "member_org": "LY-XL-0001", "submitted_on": "2018-05-31"},
        {"status": "paid", "amount_fen": 700, "member_org": "LY-XL-0002", "submitted_on": "2018-05-01"},
        {"status": "paid", "amount_fen": 900, "member_org": "LY-SH-0001", "submitted_on": "2018-06-01"},
        {"status": "rejected", "amount_fen": 0, "member_org": "LY-SH-0001", "submitted_on": "2018-06-02"},
    ]  # fmt: skip
    by_month = period_figures(claims)["by_month"]
    assert list(by_month) == ["2018-05", "2018-06"]
    may = by_month["2018-05"]
    assert (may["person_times"], may["approved_total"], may["paid_total"]) == (2, 1200, 700)
    assert may["by_county"] == {
        "LY-XL": {"person_times": 2, "approved_total": 1200, "paid_total": 700}
    }
    assert by_month["2018-06"]["by_county"] == {
        "LY-SH": {"person_times": 1, "approved_total": 900, "paid_total": 900}
    }
