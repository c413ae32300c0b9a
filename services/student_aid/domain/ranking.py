"""Approval within the budget: strict priority order, no skipping ahead to a smaller award."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

# National tier first, then local tier, then migrant workers (DOMAIN.md §3).
PRIORITY = {"national": 0, "local": 1, "migrant": 2}


@dataclass(frozen=True)
class Candidate:
    """An eligible (or waitlisted) application awaiting approval; ``received`` is the order in
    which we received it, the tie-break on ``applied_on``. ``amount`` is fen."""

    application_id: str
    path: str
    applied_on: date
    received: int
    amount: int


@dataclass(frozen=True)
class Ranking:
    approved: tuple[Candidate, ...]
    waitlisted: tuple[Candidate, ...]

    @property
    def approved_total(self) -> int:
        return sum(candidate.amount for candidate in self.approved)


def priority_order(candidates: Iterable[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (PRIORITY[c.path], c.applied_on, c.received))


def rank_for_approval(candidates: Iterable[Candidate], budget_remaining: int) -> Ranking:
    """Approve in priority order while the next fits in ``budget_remaining`` (fen); the first
    that does not fit and every one after it are waitlisted."""
    ordered = priority_order(candidates)
    approved: list[Candidate] = []
    remaining = budget_remaining
    for position, candidate in enumerate(ordered):
        if candidate.amount > remaining:
            return Ranking(tuple(approved), tuple(ordered[position:]))
        approved.append(candidate)
        remaining -= candidate.amount
    return Ranking(tuple(approved), ())
