"""A dossier head hired through the jobs service (jobs.dossier_holder_hired): whether the hire
asks staff for a re-evaluation visit. The jobs service's word is checked against the dossier
as we hold it: nothing on the bus is trusted more than a request over HTTP. Plain rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

UNEMPLOYMENT = "unemployment"
# Why a hire is ignored (recorded with the event, and in the log).
HIRED_IN_FUTURE = "hired_in_future"
DOSSIER_NOT_FOUND = "dossier_not_found"
DOSSIER_NOT_OPEN = "dossier_not_open"
HEAD_MISMATCH = "head_mismatch"
CAUSE_NOT_UNEMPLOYMENT = "cause_not_unemployment"


@dataclass(frozen=True)
class DossierFacts:
    """What the rule reads of the dossier as we hold it."""

    status: str
    head_id_hash: str
    causes: frozenset[str]


@dataclass(frozen=True)
class HireJudgement:
    """``re_evaluate``: a re-evaluation task for staff; else ``reason`` says why not."""

    re_evaluate: bool
    reason: str


def judge_hire(
    dossier: DossierFacts | None, head_id_hash: str, hired_on: date, today: date
) -> HireJudgement:
    """A re-evaluation when the hire has happened (not after ``today``), the dossier exists, is
    open and is headed by the person hired, and unemployment is among its causes."""
    if hired_on > today:
        return HireJudgement(False, HIRED_IN_FUTURE)
    if dossier is None:
        return HireJudgement(False, DOSSIER_NOT_FOUND)
    if dossier.status != "open":
        return HireJudgement(False, DOSSIER_NOT_OPEN)
    if dossier.head_id_hash != head_id_hash:
        return HireJudgement(False, HEAD_MISMATCH)
    if UNEMPLOYMENT not in dossier.causes:
        return HireJudgement(False, CAUSE_NOT_UNEMPLOYMENT)
    return HireJudgement(True, UNEMPLOYMENT)
