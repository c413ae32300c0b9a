"""The mutual-aid policy: one checked version of the scheme's numbers, amounts in fen."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from shared.policy import PolicyDocument, PolicyError, PolicyTable, parse_policy, service_of

SERVICE = "mutual_aid"

# Reason codes are part of the HTTP contract (API.md), so a policy may not invent new ones.
DIAGNOSIS_EXCLUSION_REASONS = ("excluded_self_harm", "excluded_cosmetic", "excluded_third_party")

_ICD10_CODE = re.compile(r"^([A-Z][0-9][0-9A-Z])(?:\.?[0-9A-Z]{1,4})?$")


def icd10_category(code: str) -> str:
    """The 3-character ICD-10 category of a code: ``"X84.9"`` → ``"X84"``."""
    match = _ICD10_CODE.fullmatch(code.strip().upper())
    if not match:
        raise ValueError(f"{code!r} is not an ICD-10 code")
    return match.group(1)


@dataclass(frozen=True)
class AnnualDate:
    """A month and day in a year counted from a period's calendar year (e.g. 31 March, +1)."""

    year_offset: int
    month: int
    day: int

    def in_period_year(self, year: int) -> date:
        return date(year + self.year_offset, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d} (period year {self.year_offset:+d})"


@dataclass(frozen=True)
class Plan:
    code: str
    contribution: int
    ratio: Decimal
    hardship_ratio: Decimal
    period_cap: int


@dataclass(frozen=True)
class DiagnosisExclusion:
    reason_code: str
    icd10_from: str
    icd10_to: str
    only_with_liable_third_party: bool

    def covers(self, category: str) -> bool:
        return self.icd10_from <= category <= self.icd10_to

    def __str__(self) -> str:
        span = self.icd10_from
        if self.icd10_to != self.icd10_from:
            span = f"{self.icd10_from}–{self.icd10_to}"
        return span


@dataclass(frozen=True)
class SingleDisease:
    category: str
    name: str
    amount_by_plan: Mapping[str, int]


@dataclass(frozen=True)
class MutualAidPolicy:
    """One version of the mutual-aid rules. Amounts are fen; ratios are exact decimals."""

    version: str
    effective_from: date
    digest: str
    period_years: Mapping[int, int]
    enrolment_opens: AnnualDate
    enrolment_closes: AnnualDate
    waiting_period_days: int
    late_after: AnnualDate
    review_threshold: int
    deductible_by_hospital_level: Mapping[int, int]
    plans: Mapping[str, Plan]
    exclusions: tuple[DiagnosisExclusion, ...]
    single_diseases: Mapping[str, SingleDisease]

    @property
    def diagnosis_reason_codes(self) -> frozenset[str]:
        """The reason codes that tell an illness: those of the diagnosis-range exclusions."""
        return frozenset(exclusion.reason_code for exclusion in self.exclusions)

    @classmethod
    def from_document(cls, document: PolicyDocument) -> MutualAidPolicy:
        """Parse and check a policy document; any problem is a PolicyError naming file and key."""
        root = document.root()
        root.reject_unknown(
            (
                "version",
                "effective_from",
                "periods",
                "enrolment_window",
                "waiting_period_days",
                "submission_deadline",
                "review_threshold_yuan",
                "deductible_yuan_by_hospital_level",
                "plans",
                "exclusions",
                "single_disease",
            )
        )
        if service_of(document.version) != SERVICE:
            raise root.error("version", f'must start with "{SERVICE}/", got {document.version!r}')
        window = root.table("enrolment_window")
        window.reject_unknown(("opens", "closes"))
        opens = _annual_date(window, "opens")
        closes = _annual_date(window, "closes")
        if opens.in_period_year(2001) >= closes.in_period_year(2001):
            raise window.error("closes", f"must fall after opens ({opens}), got {closes}")
        plans = _plans(root.table("plans"))
        return cls(
            version=document.version,
            effective_from=document.effective_from,
            digest=document.digest,
            period_years=_period_years(root.table("periods")),
            enrolment_opens=opens,
            enrolment_closes=closes,
            waiting_period_days=root.integer("waiting_period_days", minimum=0),
            late_after=_annual_date(root, "submission_deadline"),
            review_threshold=root.yuan("review_threshold_yuan"),
            deductible_by_hospital_level=_deductibles(
                root.table("deductible_yuan_by_hospital_level")
            ),
            plans=plans,
            exclusions=tuple(_exclusion(table) for table in root.tables("exclusions")),
            single_diseases=_single_diseases(root, plans),
        )

    def year_of(self, period: int) -> int:
        try:
            return self.period_years[period]
        except KeyError:
            raise LookupError(
                f"period {period} is not in policy {self.version} "
                f"(periods: {', '.join(map(str, self.period_years))})"
            ) from None

    def period_for_date(self, day: date) -> int | None:
        """The period whose calendar year contains ``day``, or None when the policy has none."""
        for period, year in self.period_years.items():
            if year == day.year:
                return period
        return None

    def enrolment_window(self, period: int) -> tuple[date, date]:
        """First and last day (inclusive) on which members can be enrolled in ``period``."""
        year = self.year_of(period)
        return self.enrolment_opens.in_period_year(year), self.enrolment_closes.in_period_year(year)

    def submission_deadline(self, period: int) -> date:
        """The last day (inclusive) a bill discharged in ``period`` may be submitted."""
        return self.late_after.in_period_year(self.year_of(period))

    def plan(self, code: str) -> Plan:
        try:
            return self.plans[code]
        except KeyError:
            raise LookupError(
                f"plan {code!r} is not in policy {self.version} (plans: {', '.join(self.plans)})"
            ) from None

    def deductible(self, hospital_level: int) -> int:
        try:
            return self.deductible_by_hospital_level[hospital_level]
        except KeyError:
            levels = ", ".join(map(str, self.deductible_by_hospital_level))
            raise LookupError(
                f"hospital level {hospital_level} has no deductible in policy {self.version} "
                f"(levels: {levels})"
            ) from None

    def single_disease(self, code: str | None) -> SingleDisease | None:
        """The table entry for a billed single-disease group, matched by ICD-10 category."""
        if not code:
            return None
        return self.single_diseases.get(icd10_category(code))


def _whole_number_key(table: PolicyTable, key: str, what: str) -> int:
    if not (key.isascii() and key.isdigit()):
        raise table.error(key, f"must be a {what} (a whole number)")
    return int(key)


def _period_years(table: PolicyTable) -> Mapping[int, int]:
    years: dict[int, int] = {}
    for key in table.keys():
        period = _whole_number_key(table, key, "period number")
        years[period] = table.integer(key, minimum=1900, maximum=9999)
    if not years:
        raise table.error(None, "must list at least one period")
    # A period is one calendar year, so consecutive periods are consecutive years; anything
    # else is a typo that would put a member's renewal in the wrong year.
    offsets = {year - period for period, year in years.items()}
    if len(offsets) > 1:
        raise table.error(None, "periods must be consecutive calendar years (period n+1 = year+1)")
    return MappingProxyType(dict(sorted(years.items())))


def _annual_date(table: PolicyTable, key: str) -> AnnualDate:
    spec = table.table(key)
    spec.reject_unknown(("year_offset", "month", "day"))
    annual = AnnualDate(
        year_offset=spec.integer("year_offset", minimum=-1, maximum=1),
        month=spec.integer("month", minimum=1, maximum=12),
        day=spec.integer("day", minimum=1, maximum=31),
    )
    try:
        # A non-leap year: 29 February would vanish three years in four.
        annual.in_period_year(2001)
    except ValueError:
        raise spec.error(
            "day", f"{annual.month:02d}-{annual.day:02d} is not a date every year"
        ) from None
    return annual


def _deductibles(table: PolicyTable) -> Mapping[int, int]:
    deductibles = {
        _whole_number_key(table, key, "hospital level"): table.yuan(key) for key in table.keys()
    }
    if not deductibles:
        raise table.error(None, "must list at least one hospital level")
    return MappingProxyType(dict(sorted(deductibles.items())))


def _plans(table: PolicyTable) -> Mapping[str, Plan]:
    plans = {}
    for code in table.keys():
        if not re.fullmatch(r"[A-Z]", code):
            raise table.error(code, "plan codes are single capital letters")
        spec = table.table(code)
        spec.reject_unknown(("contribution_yuan", "ratio", "hardship_ratio", "period_cap_yuan"))
        plan = Plan(
            code=code,
            contribution=spec.yuan("contribution_yuan"),
            ratio=spec.ratio("ratio"),
            hardship_ratio=spec.ratio("hardship_ratio"),
            period_cap=spec.yuan("period_cap_yuan"),
        )
        if plan.hardship_ratio < plan.ratio:
            raise spec.error(
                "hardship_ratio",
                f"must not be below ratio {plan.ratio}, got {plan.hardship_ratio}",
            )
        if plan.period_cap == 0:
            raise spec.error("period_cap_yuan", "must be above 0")
        plans[code] = plan
    if not plans:
        raise table.error(None, "must define at least one plan")
    return MappingProxyType(plans)


def _category(table: PolicyTable, key: str) -> str:
    code = table.text(key)
    if not re.fullmatch(r"[A-Z][0-9][0-9A-Z]", code):
        raise table.error(key, f"must be a 3-character ICD-10 category such as X60, got {code!r}")
    return code


def _exclusion(table: PolicyTable) -> DiagnosisExclusion:
    table.reject_unknown(("reason_code", "icd10_from", "icd10_to", "only_with_liable_third_party"))
    reason_code = table.text("reason_code")
    if reason_code not in DIAGNOSIS_EXCLUSION_REASONS:
        raise table.error(
            "reason_code",
            f"must be one of {', '.join(DIAGNOSIS_EXCLUSION_REASONS)}, got {reason_code!r}",
        )
    exclusion = DiagnosisExclusion(
        reason_code=reason_code,
        icd10_from=_category(table, "icd10_from"),
        icd10_to=_category(table, "icd10_to"),
        only_with_liable_third_party=table.flag("only_with_liable_third_party", default=False),
    )
    if exclusion.icd10_from > exclusion.icd10_to:
        raise table.error("icd10_to", f"must not come before icd10_from {exclusion.icd10_from}")
    return exclusion


def _single_diseases(root: PolicyTable, plans: Mapping[str, Plan]) -> Mapping[str, SingleDisease]:
    diseases: dict[str, SingleDisease] = {}
    if not root.has("single_disease"):
        return MappingProxyType(diseases)
    table = root.table("single_disease")
    for category in table.keys():
        if not re.fullmatch(r"[A-Z][0-9][0-9A-Z]", category):
            raise table.error(category, "must be a 3-character ICD-10 category such as K35")
        spec = table.table(category)
        spec.reject_unknown(("name", "amount_yuan_by_plan"))
        amounts = spec.table("amount_yuan_by_plan")
        # Every plan needs an amount, or a member of the missing plan would get nothing.
        missing = sorted(set(plans) - set(amounts.keys()))
        if missing:
            raise amounts.error(missing[0], "is missing (every plan needs an amount)")
        amounts.reject_unknown(plans)
        diseases[category] = SingleDisease(
            category=category,
            name=spec.text("name"),
            amount_by_plan=MappingProxyType({code: amounts.yuan(code) for code in plans}),
        )
    return MappingProxyType(diseases)


__all__ = [
    "DIAGNOSIS_EXCLUSION_REASONS",
    "AnnualDate",
    "DiagnosisExclusion",
    "MutualAidPolicy",
    "Plan",
    "PolicyError",
    "SingleDisease",
    "document_from_text",
    "icd10_category",
]


def document_from_text(text: str, source: str) -> PolicyDocument:
    """A mutual-aid policy document from TOML text (a staff upload), checked like a file."""
    document = parse_policy(text.encode("utf-8"), source)
    if service_of(document.version) != SERVICE:
        raise document.root().error(
            "version", f'must start with "{SERVICE}/", got {document.version!r}'
        )
    return document
