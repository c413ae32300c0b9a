"""A campaign's figures: counts and fen totals, whole and by county, level and path."""

from services.student_aid.domain.figures import FigureRow, campaign_figures


def row(status, county="LY-XL", level="undergraduate", path="national", amount=500_000):
    return FigureRow(county, level, path, status, amount if status != "ineligible" else None)


def test_figures_count_each_status_and_total_paid_in_fen():
    figures = campaign_figures(
        [
            row("paid"),
            row("paid", level="senior_high", path="migrant", amount=200_000, county="LY-SH"),
            row("approved", path="local"),
            row("in_review"),
            row("waitlisted", path="local"),
            row("eligible", path="migrant"),
            row("rejected"),
            row("ineligible", path=None),
        ]
    )
    assert {
        k: figures[k] for k in ("applications", "eligible", "approved", "waitlisted", "paid")
    } == {
        "applications": 8,
        "eligible": 7,
        "approved": 4,
        "waitlisted": 1,
        "paid": {"count": 2, "total": 700_000},
    }
    assert figures["by_county"]["LY-SH"] == {
        "applications": 1,
        "eligible": 1,
        "approved": 1,
        "approved_total": 200_000,
        "waitlisted": 0,
        "paid": {"count": 1, "total": 200_000},
    }
    assert figures["by_county"]["LY-XL"]["applications"] == 7
    assert figures["by_level"]["senior_high"]["paid"] == {"count": 1, "total": 200_000}
    assert figures["by_level"]["vocational"]["applications"] == 0
    # The awards standing against the budget: approved, under an objection's review, or paid.
    assert figures["approved_total"] == 4 * 500_000 - 500_000 + 200_000
    assert figures["by_level"]["undergraduate"]["approved_total"] == 3 * 500_000
    assert figures["by_path"]["national"]["applications"] == 3
    assert figures["by_path"]["local"] == {
        "applications": 2,
        "eligible": 2,
        "approved": 1,
        "approved_total": 500_000,
        "waitlisted": 1,
        "paid": {"count": 0, "total": 0},
    }
    # An application without a hardship path is counted whole, under no path.
    assert sum(p["applications"] for p in figures["by_path"].values()) == 7


def test_figures_of_an_empty_campaign():
    figures = campaign_figures([])
    assert figures["applications"] == 0
    assert figures["by_county"] == {}
    assert set(figures["by_path"]) == {"national", "local", "migrant"}
