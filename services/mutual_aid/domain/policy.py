"""The mutual-aid policy: one checked version of the scheme's numbers, amounts in fen."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from marshmallow import ValidationError, fields, post_load, validates, validates_schema

from shared.policy import (
    Flag,
    NumberKey,
    PatternKey,
    PolicyDocument,
    PolicyError,
    PolicySchema,
    Ratio,
    Table,
    Tables,
    Text,
    WholeNumber,
    Yuan,
    parse_policy,
    service_of,
    versioned_schema,
)

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
        """Check a policy document; any problem is a PolicyError naming file and key path."""
        data = document.load(MutualAidPolicySchema())
        window = data["enrolment_window"]
        return cls(
            version=document.version,
            effective_from=document.effective_from,
            digest=document.digest,
            period_years=MappingProxyType(dict(sorted(data["periods"].items()))),
            enrolment_opens=window["opens"],
            enrolment_closes=window["closes"],
            waiting_period_days=data["waiting_period_days"],
            late_after=data["submission_deadline"],
            review_threshold=data["review_threshold_yuan"],
            deductible_by_hospital_level=MappingProxyType(
                dict(sorted(data["deductible_yuan_by_hospital_level"].items()))
            ),
            plans=MappingProxyType(
                {code: Plan(code=code, **plan) for code, plan in data["plans"].items()}
            ),
            exclusions=tuple(DiagnosisExclusion(**exclusion) for exclusion in data["exclusions"]),
            single_diseases=MappingProxyType(
                {
                    category: SingleDisease(
                        category=category,
                        name=disease["name"],
                        amount_by_plan=MappingProxyType(disease["amount_yuan_by_plan"]),
                    )
                    for category, disease in data["single_disease"].items()
                }
            ),
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


# --- the schema of a mutual-aid policy file -----------------------------------------------------

ICD10_CATEGORY = r"[A-Z][0-9][0-9A-Z]"


class AnnualDateSchema(PolicySchema):
    year_offset = WholeNumber(minimum=-1, maximum=1, required=True)
    month = WholeNumber(minimum=1, maximum=12, required=True)
    day = WholeNumber(minimum=1, maximum=31, required=True)

    @validates_schema
    def a_date_every_year(self, data: dict, **kwargs) -> None:
        try:
            # A non-leap year: 29 February would vanish three years in four.
            date(2001, data["month"], data["day"])
        except ValueError:
            raise ValidationError(
                f"{data['month']:02d}-{data['day']:02d} is not a date every year", "day"
            ) from None

    @post_load
    def annual_date(self, data: dict, **kwargs) -> AnnualDate:
        return AnnualDate(**data)


class EnrolmentWindowSchema(PolicySchema):
    opens = fields.Nested(AnnualDateSchema, required=True)
    closes = fields.Nested(AnnualDateSchema, required=True)

    @validates_schema
    def closes_after_opening(self, data: dict, **kwargs) -> None:
        opens, closes = data["opens"], data["closes"]
        if opens.in_period_year(2001) >= closes.in_period_year(2001):
            raise ValidationError(f"must fall after opens ({opens}), got {closes}", "closes")


class PlanSchema(PolicySchema):
    contribution_yuan = Yuan(required=True, attribute="contribution")
    ratio = Ratio(required=True)
    hardship_ratio = Ratio(required=True)
    period_cap_yuan = Yuan(required=True, attribute="period_cap")

    @validates("period_cap_yuan")
    def cap_above_zero(self, value: int, data_key: str) -> None:
        if value == 0:
            raise ValidationError("must be above 0")

    @validates_schema
    def hardship_not_below_ratio(self, data: dict, **kwargs) -> None:
        if data["hardship_ratio"] < data["ratio"]:
            raise ValidationError(
                f"must not be below ratio {data['ratio']}, got {data['hardship_ratio']}",
                "hardship_ratio",
            )


class Icd10Category(Text):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        code = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(ICD10_CATEGORY, code):
            raise ValidationError(
                f"must be a 3-character ICD-10 category such as X60, got {code!r}"
            )
        return code


class ExclusionSchema(PolicySchema):
    reason_code = Text(choices=DIAGNOSIS_EXCLUSION_REASONS, required=True)
    icd10_from = Icd10Category(required=True)
    icd10_to = Icd10Category(required=True)
    only_with_liable_third_party = Flag(load_default=False)

    @validates_schema
    def range_in_order(self, data: dict, **kwargs) -> None:
        if data["icd10_from"] > data["icd10_to"]:
            raise ValidationError(
                f"must not come before icd10_from {data['icd10_from']}", "icd10_to"
            )


class SingleDiseaseSchema(PolicySchema):
    name = Text(required=True)
    # Plan codes are checked against the policy's plans by MutualAidPolicySchema.
    amount_yuan_by_plan = Table(keys=fields.String(), values=Yuan(), required=True)


class MutualAidPolicySchema(versioned_schema(SERVICE)):
    periods = Table(
        keys=NumberKey("period number"),
        values=WholeNumber(minimum=1900, maximum=9999),
        empty="must list at least one period",
        required=True,
    )
    enrolment_window = fields.Nested(EnrolmentWindowSchema, required=True)
    waiting_period_days = WholeNumber(minimum=0, required=True)
    submission_deadline = fields.Nested(AnnualDateSchema, required=True)
    review_threshold_yuan = Yuan(required=True)
    deductible_yuan_by_hospital_level = Table(
        keys=NumberKey("hospital level"),
        values=Yuan(),
        empty="must list at least one hospital level",
        required=True,
    )
    plans = Table(
        keys=PatternKey("[A-Z]", "plan codes are single capital letters"),
        values=fields.Nested(PlanSchema),
        empty="must define at least one plan",
        required=True,
    )
    exclusions = Tables(fields.Nested(ExclusionSchema), load_default=list)
    single_disease = Table(
        keys=PatternKey(ICD10_CATEGORY, "must be a 3-character ICD-10 category such as K35"),
        values=fields.Nested(SingleDiseaseSchema),
        load_default=dict,
    )

    @validates("periods")
    def consecutive_years(self, value: dict[int, int], data_key: str) -> None:
        # A period is one calendar year, so consecutive periods are consecutive years; anything
        # else is a typo that would put a member's renewal in the wrong year.
        if len({year - period for period, year in value.items()}) > 1:
            raise ValidationError(
                "periods must be consecutive calendar years (period n+1 = year+1)"
            )

    @validates_schema
    def single_disease_amount_for_every_plan(self, data: dict, **kwargs) -> None:
        # Every plan needs an amount, or a member of the missing plan would get nothing.
        for category, disease in data["single_disease"].items():
            amounts = disease["amount_yuan_by_plan"]
            missing = sorted(set(data["plans"]) - set(amounts))
            unknown = sorted(set(amounts) - set(data["plans"]))
            if missing or unknown:
                problem = (
                    "is missing (every plan needs an amount)" if missing else "is not a known plan"
                )
                where = {"amount_yuan_by_plan": {(missing or unknown)[0]: [problem]}}
                raise ValidationError({"single_disease": {category: where}})


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
        raise PolicyError(
            source, "version", f'must start with "{SERVICE}/", got {document.version!r}'
        )
    return document
