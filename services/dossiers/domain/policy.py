"""The dossiers policy: reference lines (低保), tier rules, campaign days, condolences, in fen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from types import MappingProxyType

from shared.policy import PolicyDocument, PolicyTable, service_of

SERVICE = "dossiers"
TIERS = ("national", "local", "grassroots")
CAUSES = (
    "illness",
    "major_illness",
    "disability",
    "unemployment",
    "single_parent",
    "child_education",
    "accident",
    "disaster",
    "low_income",
)


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
        root = document.root()
        root.reject_unknown(
            (
                "version",
                "effective_from",
                "campaign_opens",
                "campaign_days",
                "retention_years",
                "not_eligible_homes",
                "reference_line_yuan",
                "condolence_yuan",
                "tier_rules",
                "proposal_expiry_days",
            )
        )
        if service_of(document.version) != SERVICE:
            raise root.error("version", f'must start with "{SERVICE}/", got {document.version!r}')
        condolence_table = root.table("condolence_yuan")
        condolence_table.reject_unknown(TIERS)
        return cls(
            version=document.version,
            effective_from=document.effective_from,
            digest=document.digest,
            reference_lines=_reference_lines(root.table("reference_line_yuan")),
            tier_rules=tuple(_tier_rule(table) for table in root.tables("tier_rules")),
            not_eligible_homes=root.integer("not_eligible_homes", minimum=1),
            campaign_opens=tuple(
                (t.integer("month", 1, 12), t.integer("day", 1, 31))
                for t in root.tables("campaign_opens")
            ),
            campaign_days=root.integer("campaign_days", minimum=1),
            retention_years=root.integer("retention_years", minimum=1),
            condolence=MappingProxyType({t: condolence_table.yuan(t) for t in TIERS}),
            proposal_expiry_days=(
                root.integer("proposal_expiry_days", minimum=1)
                if root.has("proposal_expiry_days")
                else None
            ),
        )

    def reference_line(self, county: str, year: int) -> tuple[int, int]:
        """(fen, year of the figure): the newest year's line on or before ``year``."""
        years = sorted(
            y for y in self.reference_lines if y <= year and county in self.reference_lines[y]
        )
        if not years:
            raise LookupError(f"policy {self.version} has no reference line for {county} by {year}")
        return self.reference_lines[years[-1]][county], years[-1]

    def counties(self) -> tuple[str, ...]:
        return tuple(sorted({c for lines in self.reference_lines.values() for c in lines}))


def _reference_lines(table: PolicyTable) -> Mapping[int, Mapping[str, int]]:
    lines: dict[int, Mapping[str, int]] = {}
    for key in table.keys():
        if not (key.isascii() and key.isdigit()):
            raise table.error(key, "must be a year")
        counties = table.table(key)
        lines[int(key)] = MappingProxyType({c: counties.yuan(c) for c in counties.keys()})
    if not lines:
        raise table.error(None, "must name at least one year")
    return MappingProxyType(lines)


def _tier_rule(table: PolicyTable) -> TierRule:
    table.reject_unknown(
        ("code", "tier", "multiple", "below", "min_months_below_line", "causes", "any_cause")
    )
    tier = table.text("tier")
    if tier not in TIERS:
        raise table.error("tier", f"must be one of {', '.join(TIERS)}, got {tier!r}")
    causes = frozenset(table._table.get("causes", []))  # noqa: SLF001 - optional list of codes
    unknown = sorted(causes - set(CAUSES))
    if unknown:
        raise table.error("causes", f"unknown cause {unknown[0]!r}")
    multiple = table.decimal("multiple")
    if multiple <= 0:
        raise table.error("multiple", "must be positive")
    return TierRule(
        code=table.text("code"),
        tier=tier,
        multiple=Fraction(multiple),
        below=table.flag("below", default=False),
        min_months_below_line=(
            table.integer("min_months_below_line", minimum=0)
            if table.has("min_months_below_line")
            else 0
        ),
        causes=causes,
        any_cause=table.flag("any_cause", default=False),
    )
