"""A campaign's figures, read from its applications."""

from __future__ import annotations

from services.student_aid.domain.figures import FigureRow, campaign_figures
from services.student_aid.store import StudentAidStore
from shared import orgs
from shared.errors import not_found


def campaign_stats(store: StudentAidStore, year: int, scope: str) -> dict:
    """The campaign's figures in fen over the applications of the ``scope`` org's subtree (a
    county's staff count their county's); an application's county is its org's (the city root
    for an org outside the tree)."""
    if store.campaign(year) is None:
        raise not_found("campaign")
    return campaign_figures(
        FigureRow(
            county=orgs.county_of(row["org"]) or orgs.city_root(),
            education_level=row["education_level"],
            path=row["path"],
            status=row["status"],
            amount=row["amount_fen"],
        )
        for row in store.figure_rows(year)
        if orgs.contains(scope, row["org"])
    )
