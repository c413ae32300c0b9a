"""The dossiers policy: reference lines (低保), tier rules, campaign days, condolences, in fen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from marshmallow import ValidationError, fields, post_load, validates

from services.dossiers.domain.errors import NoReferenceLine
from shared.contracts.dossiers import CAUSES, TIERS
from shared.policy import (
    Flag,
    Number,
    NumberKey,
    PolicyDocument,
    PolicySchema,
    Table,
    Tables,
    Text,
    WholeNumber,
    Yuan,
    versioned_schema,
)

SERVICE = "dossiers"


@dataclass(frozen=True)
class TierRule:
    """One entry rule: per-capita income against ``multiple`` × the line, plus its conditions."""

    code: str
    tier: str
    multiple: Fraction
    below: bool  # strictly below (<) rather than at most (≤)
    min_months_below_line: int
    causes: frozenset[str]
    any_cause: bool


@dataclass(frozen=True)
class DossierPolicy:
    version: str
    effective_from: date
    digest: str
    reference_lines: Mapping[int, Mapping[str, int]]  # year → county → fen per person per month
    tier_rules: tuple[TierRule, ...]
    not_eligible_homes: int
    campaign_opens: tuple[tuple[int, int], ...]  # (month, day)
    campaign_days: int
    retention_years: int
    condolence: Mapping[str, int]  # tier → fen
    # Days a proposal may wait for staff confirmation before it expires; None: it never does
    # (versions before dossiers/2026-v2 set no limit).
    proposal_expiry_days: int | None = None

    @classmethod
    def from_document(cls, document: PolicyDocument) -> DossierPolicy:
        """Check a policy document; any problem is a PolicyError naming file and key path."""
        data = document.load(DossierPolicySchema())
        return cls(
            version=document.version,
            effective_from=document.effective_from,
            digest=document.digest,
            reference_lines=MappingProxyType(
                {
                    year: MappingProxyType(lines)
                    for year, lines in data["reference_line_yuan"].items()
                }
            ),
            tier_rules=tuple(TierRule(**rule) for rule in data["tier_rules"]),
            not_eligible_homes=data["not_eligible_homes"],
            campaign_opens=tuple((day["month"], day["day"]) for day in data["campaign_opens"]),
            campaign_days=data["campaign_days"],
            retention_years=data["retention_years"],
            condolence=MappingProxyType(data["condolence_yuan"]),
            proposal_expiry_days=data["proposal_expiry_days"],
        )

    def reference_line(self, county: str, year: int) -> tuple[int, int]:
        """(fen, year of the figure): the newest year's line on or before ``year``."""
        years = sorted(
            y for y in self.reference_lines if y <= year and county in self.reference_lines[y]
        )
        if not years:
            raise NoReferenceLine(
                f"policy {self.version} has no reference line for {county} by {year}"
            )
        return self.reference_lines[years[-1]][county], years[-1]

    def counties(self) -> tuple[str, ...]:
        return tuple(sorted({c for lines in self.reference_lines.values() for c in lines}))


# --- the schema of a dossiers policy file -------------------------------------------------------


class Cause(Text):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        cause = super()._deserialize(value, attr, data, **kwargs)
        if cause not in CAUSES:
            raise ValidationError(f"unknown cause {cause!r} (known: {', '.join(CAUSES)})")
        return cause


class TierRuleSchema(PolicySchema):
    code = Text(required=True)
    tier = Text(choices=TIERS, required=True)
    multiple = Number(required=True)
    below = Flag(load_default=False)
    min_months_below_line = WholeNumber(minimum=0, load_default=0)
    causes = fields.List(Cause(), load_default=list)
    any_cause = Flag(load_default=False)

    @validates("multiple")
    def multiple_positive(self, value: Decimal, data_key: str) -> None:
        if value <= 0:
            raise ValidationError("must be positive")

    @post_load
    def exact(self, data: dict, **kwargs) -> dict:
        return {**data, "multiple": Fraction(data["multiple"]), "causes": frozenset(data["causes"])}


class MonthDaySchema(PolicySchema):
    month = WholeNumber(minimum=1, maximum=12, required=True)
    day = WholeNumber(minimum=1, maximum=31, required=True)


class CondolenceSchema(PolicySchema):
    national = Yuan(required=True)
    local = Yuan(required=True)
    grassroots = Yuan(required=True)


class DossierPolicySchema(versioned_schema(SERVICE)):
    campaign_opens = Tables(fields.Nested(MonthDaySchema), load_default=list)
    campaign_days = WholeNumber(minimum=1, required=True)
    retention_years = WholeNumber(minimum=1, required=True)
    not_eligible_homes = WholeNumber(minimum=1, required=True)
    # year → county → yuan per person per month
    reference_line_yuan = Table(
        keys=NumberKey("year"),
        values=Table(keys=fields.String(), values=Yuan()),
        empty="must name at least one year",
        required=True,
    )
    condolence_yuan = fields.Nested(CondolenceSchema, required=True)
    tier_rules = Tables(fields.Nested(TierRuleSchema), load_default=list)
    # None: proposals never expire (versions before dossiers/2026-v2 set no limit).
    proposal_expiry_days = WholeNumber(minimum=1, load_default=None)
