"""A campaign's figures: counts and totals in fen (paid, and the awards standing against the
budget), whole and by county, level and path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shared.contracts.student_aid import EDUCATION_LEVELS, PATHS

# An application judged eligible stays counted as such whatever came after (approval,
# waitlist, objection, payment); "approved" counts the awards standing: approved, under an
# objection's review, or paid.
ELIGIBLE_STATUSES = frozenset(
    {"eligible", "approved", "waitlisted", "in_review", "rejected", "paid"}
)
APPROVED_STATUSES = frozenset({"approved", "in_review", "paid"})


@dataclass(frozen=True)
class FigureRow:
    """What the figures read of one application; ``amount`` is fen (None when ineligible)."""

    county: str
    education_level: str
    path: str | None
    status: str
    amount: int | None


def _empty() -> dict:
    return {
        "applications": 0,
        "eligible": 0,
        "approved": 0,
        "approved_total": 0,
        "waitlisted": 0,
        "paid": {"count": 0, "total": 0},
    }


def _count(figures: dict, row: FigureRow) -> None:
    figures["applications"] += 1
    figures["eligible"] += row.status in ELIGIBLE_STATUSES
    if row.status in APPROVED_STATUSES:  # the awards standing: what the budget holds
        figures["approved"] += 1
        figures["approved_total"] += row.amount or 0
    figures["waitlisted"] += row.status == "waitlisted"
    if row.status == "paid":
        figures["paid"]["count"] += 1
        figures["paid"]["total"] += row.amount


def campaign_figures(rows: Iterable[FigureRow]) -> dict:
    """The campaign's figures; every level and path is listed, counties only when they applied."""
    figures = _empty()
    by_county: dict[str, dict] = {}
    by_level = {level: _empty() for level in EDUCATION_LEVELS}
    by_path = {path: _empty() for path in PATHS}
    for row in rows:
        _count(figures, row)
        _count(by_county.setdefault(row.county, _empty()), row)
        _count(by_level[row.education_level], row)
        if row.path is not None:
            _count(by_path[row.path], row)
    return {
        **figures,
        "by_county": dict(sorted(by_county.items())),
        "by_level": by_level,
        "by_path": by_path,
    }
