"""The refusals of the dossier rules that carry more than a kind: the door answers them (422)."""

from __future__ import annotations

from shared.domain_errors import RuleViolation


class NoReferenceLine(RuleViolation, LookupError):
    """The policy in force has no 低保 line for the county by that year."""

    def __init__(self, message: str):
        super().__init__(message, "county")


class FundInsufficient(RuleViolation):
    """What remains of the fund's year cannot pay it: nothing was paid."""

    code = "fund_insufficient"
