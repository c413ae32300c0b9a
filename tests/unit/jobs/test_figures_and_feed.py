"""The figures of a range (what counts where), and the change feed that keeps the match index:
nothing queried when the counter has not moved, a write committed late still found, a number
that never lands given up after a while."""

from services.jobs.application import matching
from services.jobs.application.matching import _Feed
from services.jobs.domain.figures import figures


def test_figures_count_by_county_and_by_fair_kind():
    fair_kinds = {"F1": "monthly", "F2": "migrant_special"}
    result = figures(
        fairs=[
            {"fair_id": "F1", "kind": "monthly", "county": "LY-XL"},
            {"fair_id": "F2", "kind": "migrant_special", "county": "LY-SH"},
        ],
        vacancies=[
            {"county": "LY-XL", "fair_id": "F1", "employer_id": "E1", "headcount": 5},
            {"county": "LY-XL", "fair_id": None, "employer_id": "E1", "headcount": 2},
            {"county": "LY-SH", "fair_id": "F2", "employer_id": "E2", "headcount": 3},
        ],
        registrations=[
            {"county": "LY-SH", "fair_id": "F2", "employer_id": "E3"},
            {"county": "LY-SH", "fair_id": "F2", "seeker_id": "S1"},
        ],
        seekers=[{"county": "LY-SH", "seeker_id": "S1"}, {"county": "LY-XL", "seeker_id": "S2"}],
        intents_agreed=[
            {"county": "LY-XL", "fair_id": "F1", "seeker_id": "S2"},
            {"county": "LY-SH", "fair_id": "F2", "seeker_id": "S3"},
        ],
        hires=[
            {"county": "LY-XL", "fair_id": "F1", "seeker_id": "S2", "retained": True},
            {"county": "LY-SH", "fair_id": "F2", "seeker_id": "S3", "retained": False},
        ],
        fair_kinds=fair_kinds,
    )
    assert result["fairs"] == {"monthly": 1, "campus_enterprise": 0, "migrant_special": 1}
    assert (result["employers"], result["positions"]) == (3, 10)
    assert result["seekers_served"] == 3  # S1 (registered, at a fair), S2, S3 (an intent)
    assert (result["intents"], result["hires"], result["retained_90_days"]) == (2, 2, 1)
    xl, sh = result["by_county"]["LY-XL"], result["by_county"]["LY-SH"]
    assert (xl["positions"], xl["employers"], xl["hires"], xl["retained_90_days"]) == (7, 1, 1, 1)
    assert (sh["positions"], sh["employers"], sh["seekers_served"]) == (3, 2, 2)
    monthly = result["by_fair_kind"]["monthly"]
    assert (monthly["positions"], monthly["intents"], monthly["fairs"]["monthly"]) == (5, 1, 1)
    assert result["by_fair_kind"]["migrant_special"]["employers"] == 2
    assert "campus_enterprise" not in result["by_fair_kind"]


class FakeSide:
    """A side of the store: committed documents by change number, and its counter."""

    def __init__(self):
        self.docs: dict[int, dict] = {}
        self.counter = 0
        self.queries = 0

    def take(self) -> int:
        self.counter += 1
        return self.counter

    def commit(self, seq: int) -> None:
        self.docs[seq] = {"_id": f"V{seq}", "seq": seq}

    def changes(self, after, limit):
        self.queries += 1
        return [self.docs[s] for s in sorted(self.docs) if s > after][:limit]

    def at(self, seqs):
        self.queries += 1
        return [self.docs[s] for s in seqs if s in self.docs]

    def feed(self) -> _Feed:
        return _Feed(self.changes, self.at, lambda: self.counter)


def pulled(feed) -> list[int]:
    return [doc["seq"] for batch in feed.pull() for doc in batch]


def test_an_idle_feed_queries_nothing():
    side = FakeSide()
    side.commit(side.take())
    feed = side.feed()
    assert pulled(feed) == [1]
    before = side.queries
    assert pulled(feed) == [] and pulled(feed) == []
    assert side.queries == before


def test_a_write_committed_after_a_later_one_is_still_found(monkeypatch):
    side = FakeSide()
    feed = side.feed()
    pulled(feed)
    first, second = side.take(), side.take()
    side.commit(second)  # 2 is visible before 1
    assert pulled(feed) == [2]
    side.commit(first)
    assert pulled(feed) == [1]  # asked for again as a gap


def test_a_number_that_never_lands_is_given_up(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(matching.time, "monotonic", lambda: clock[0])
    side = FakeSide()
    side.commit(side.take())
    feed = side.feed()
    pulled(feed)
    side.take()  # a write that never happened (its guard matched nothing)
    assert pulled(feed) == []
    asked = side.queries
    clock[0] += matching.GAP_SECONDS + 1
    assert pulled(feed) == [] and side.queries == asked  # given up: no more queries
    side.commit(side.take())  # the counter moves: asked again, and found
    assert pulled(feed) == [3]
