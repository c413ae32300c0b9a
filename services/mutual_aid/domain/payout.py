"""The monthly payout file for the bank and the period figures: pure functions over claim rows."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable

from shared import orgs
from shared.money import format_fen

NO_ACCOUNT = "未登记"  # no account on file: the member's employer union pays out by hand
CSV_HEADER = ("member", "member_id_masked", "account_masked", "amount_yuan", "claim_ids")


def bank_file(rows: Iterable[dict]) -> str:
    """One line per member: masked name and ID, masked account, the sum in yuan and the claim
    ids it pays (space-separated), in the order of the first claim of each member."""
    members: dict[str, dict] = {}
    for row in rows:
        entry = members.setdefault(
            row["member_id_hash"],
            {
                "member": row["member"],
                "member_id_masked": row["member_id_masked"],
                "account_masked": row.get("account_masked") or NO_ACCOUNT,
                "amount": 0,
                "claim_ids": [],
            },
        )
        entry["amount"] += row["amount_fen"]
        entry["claim_ids"].append(row["claim_id"])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for entry in members.values():
        writer.writerow(
            (
                entry["member"],
                entry["member_id_masked"],
                entry["account_masked"],
                format_fen(entry["amount"]),
                " ".join(entry["claim_ids"]),
            )
        )
    return out.getvalue()


def county_of(org: str | None) -> str:
    """The county an org unit lies in: ``LY-XL-0042`` → ``LY-XL``; the city level, a missing or
    an unknown org count at the city root."""
    return orgs.county_of(org) or orgs.city_root()


def _figures() -> dict:
    return {"person_times": 0, "approved_total": 0, "paid_total": 0}


def _month_figures() -> dict:
    return {**_figures(), "by_county": defaultdict(_figures)}


def period_figures(claims: Iterable[dict]) -> dict:
    """Person-times (approved or paid, amount above 0), approved total (approved or paid:
    everything granted) and paid total, overall, by plan, by county, and by the month the
    hospital submitted the bill (受理月份, ``YYYY-MM``) and county within it, in fen."""
    total = _figures()
    by_plan: dict[str, dict] = defaultdict(_figures)
    by_county: dict[str, dict] = defaultdict(_figures)
    by_month: dict[str, dict] = defaultdict(_month_figures)
    for claim in claims:
        amount = claim.get("amount_fen") or 0
        if claim["status"] not in ("approved", "paid") or amount <= 0:
            continue
        county = county_of(claim.get("member_org"))
        month = by_month[(claim.get("submitted_on") or "?")[:7]]
        for figures in (
            total,
            by_plan[claim.get("plan") or "?"],
            by_county[county],
            month,
            month["by_county"][county],
        ):
            figures["person_times"] += 1
            figures["approved_total"] += amount
            if claim["status"] == "paid":
                figures["paid_total"] += amount
    return {
        **total,
        "by_plan": dict(sorted(by_plan.items())),
        "by_county": dict(sorted(by_county.items())),
        "by_month": {
            key: {**month, "by_county": dict(sorted(month["by_county"].items()))}
            for key, month in sorted(by_month.items())
        },
    }
