"""The replay's vocabulary, shared by every scenario, the engine and the report.

A scenario is a module in ``scripts/replay/scenarios`` exposing ``SCENARIO``, an object with:

- ``name``: short and unique (``"mutual_aid"``);
- ``priority``: order among scenarios on the same date and wave (lower first: dossiers before
  the student aid that reads them);
- ``steps(city, scale) -> Iterable[Step]``: every request of the year, in (on, wave) order;
- ``figures(scale) -> list[Figure]``: what the report must show, with the source document's
  value and the value expected at this scale (which follows from the policy and the draw);
- ``actual(api) -> dict[str, int | str]``: the same figures read back through the edge after
  the replay (``api`` is an ``Api``), keyed by ``Figure.name``;
- ``charts(api) -> list[Chart]``: the report page's charts for this part, read back through
  the edge (monthly claims and amounts, households by tier and county, awards by level, fairs
  and hires by month).

Steps are ordered by ``(on, wave, priority, seq)``. Steps sharing ``(on, wave)`` may be sent
concurrently, so a placeholder may only name an answer saved by a step of an earlier
``(on, wave)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

# Statuses a step accepts unless it says otherwise.
OK = (200, 201, 202)


@dataclass(frozen=True)
class Staff:
    """A staff member: a token with this role and org (``sub`` tells two reviewers apart)."""

    role: str
    org: str = "LY"
    sub: str | None = None


@dataclass(frozen=True)
class Partner:
    """A partner's signed webhook (a hospital or the city platform), by partner code. The
    engine signs with the secret saved when the partner was registered (the answer of a
    ``POST /api/v1/partners`` step saved as ``secret:<code>``)."""

    code: str


Actor = Staff | Partner


@dataclass(frozen=True)
class Step:
    """One request of the year.

    ``key`` is unique within the year and stable across runs (the engine records the keys it
    has sent, so an interrupted replay goes on where it stopped, and the same key is the
    webhook id, so a step sent twice has no second effect). ``path`` and string values in
    ``body`` may hold ``{name}`` placeholders filled from answers saved by earlier steps;
    ``save`` maps a name to a dotted path into this step's JSON answer (``"claim_id"``,
    ``"items.0.id"``). ``retry`` lists statuses that mean "not yet" (a claim a moment after
    its 202 answers 404): the engine retries those with backoff for up to ``retry_seconds``.
    """

    on: date
    key: str
    actor: Actor
    method: str
    path: str
    body: Any = None
    wave: int = 0
    expect: tuple[int, ...] = OK
    save: dict[str, str] = field(default_factory=dict)
    retry: tuple[int, ...] = ()
    retry_seconds: float = 60.0


@dataclass(frozen=True)
class Figure:
    """One line of the year's report.

    ``source`` is the source document's figure (unscaled, ``None`` where the document states
    none); ``expected`` is what this replay must produce at its scale; ``how`` says in a
    sentence how the draw reaches it (for example staff-set amounts within policy limits).
    Money figures are two-decimal yuan strings, counts are ints.
    """

    name: str
    label: str  # in Chinese, as a union officer would read it
    expected: int | str
    source: int | str | None = None
    how: str = ""
    unit: str = ""  # "户", "元", "人次", ...


def scaled(count: int, scale: float) -> int:
    """A source count at ``scale``, at least 1 when the count is (so every figure is drawn)."""
    if count == 0:
        return 0
    return max(1, round(count * scale))


@dataclass(frozen=True)
class Chart:
    """A chart of the HTML report: ``categories`` along the x axis (months, counties, levels)
    and one list of values per series, in the same order."""

    title: str  # in Chinese
    categories: list[str]
    series: dict[str, list[float]]
    kind: str = "bar"  # "bar" or "line"


class Api(Protocol):
    """What scenarios read the platform through after the replay (the engine implements it)."""

    def request(self, actor: Actor, method: str, path: str, body: Any = None) -> Any:
        """The ``requests.Response`` of one request as ``actor`` (signed for a Partner)."""

    def get(self, path: str, actor: Actor = Staff("city_admin")) -> Any:
        """The JSON answer of a GET as ``actor``; raises naming the path on any status but 200."""
