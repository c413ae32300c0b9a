"""The mutual-aid contract (API.md "Mutual aid"): the request and response schemas the gateway
publishes and the service validates."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import date

from marshmallow import (
    EXCLUDE,
    INCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from shared import orgs
from shared.crypto import PiiVault
from shared.errors import ApiError, validation_error
from shared.events import today_shanghai
from shared.identity import IdNumber, WholeMatch, mask_id_number, mask_name
from shared.money import Money

ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
ORG_CODE = re.compile(orgs.code_pattern(city=True, unit=True))


def known_org(code: str) -> None:
    """The pattern states the shape; the tree decides (a unit number it does not hold)."""
    if not orgs.is_known(code):
        raise ValidationError("is not an org unit of the city")


# Enrolment periods (期) are numbered from 1; the bound keeps a number an 8-byte Mongo int
# (a larger one was a 500). The gateway's period routes use the same range.
PERIODS = validate.Range(min=1, max=9999)
CLAIM_STATUSES = ["received", "approved", "rejected", "needs_review", "paid"]


class EnrollmentMemberSchema(Schema):
    class Meta:
        unknown = RAISE

    id_number = IdNumber(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    coverage_start = fields.Date(required=True)
    # Optional: a row may name its own plan (the CLI import's ``plan`` column), and the member's
    # bank account for payouts (stored encrypted; only its masked form ever leaves the service).
    plan = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=8))
    bank_account = fields.String(
        load_default=None,
        allow_none=True,
        validate=WholeMatch(r"^[0-9]{8,32}$", error="must be 8 to 32 digits"),
    )


class RowOf(fields.Nested):
    """A row loaded as sent (an object), checked later one by one; the OpenAPI document
    publishes the row's schema, as apispec does for any nested schema."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise self.make_error("type", input=value, input_type=type(value).__name__)
        return value


class EnrollmentRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    period = fields.Integer(required=True, strict=True, validate=PERIODS)
    employer_org = fields.String(required=True, validate=[WholeMatch(ORG_CODE), known_org])
    plan = fields.String(required=True, validate=validate.Length(min=1, max=8))
    enrolled_on = fields.Date(load_default=None)
    # Members are checked one by one by the service so that one bad row does not
    # reject the whole list (it is reported in ``rejected`` with its index).
    members = fields.List(
        RowOf(EnrollmentMemberSchema), required=True, validate=validate.Length(min=1, max=5000)
    )


class RejectedMemberSchema(Schema):
    index = fields.Integer()
    error = fields.Dict()


class EnrollmentResultSchema(Schema):
    enrolled = fields.Integer()
    already_enrolled = fields.Integer()
    rejected = fields.List(fields.Nested(RejectedMemberSchema))


class BillFlagsSchema(Schema):
    class Meta:
        unknown = RAISE

    drunk_driving = fields.Boolean(load_default=False)
    crime = fields.Boolean(load_default=False)
    third_party_liable = fields.Boolean(load_default=False)


class DischargeBillSchema(Schema):
    class Meta:
        unknown = RAISE

    bill_no = fields.String(required=True, validate=WholeMatch(r"^[A-Za-z0-9_-]{1,40}$"))
    patient_id_number = IdNumber(required=True)
    patient_name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    hospital_level = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2, 3]))
    admission_date = fields.Date(required=True)
    discharge_date = fields.Date(required=True)
    diagnoses = fields.List(
        fields.String(validate=WholeMatch(ICD10, error="must be an ICD-10 code such as K35.8")),
        required=True,
        validate=validate.Length(min=1, max=20),
    )
    total_cost = Money(required=True)
    fund_paid = Money(required=True)
    self_pay_in_catalogue = Money(required=True)
    self_pay_out_of_catalogue = Money(required=True)
    single_disease_code = fields.String(
        load_default=None,
        allow_none=True,
        validate=WholeMatch(ICD10, error="must be an ICD-10 code such as K35"),
    )
    submitted_on = fields.Date(load_default=None)
    flags = fields.Nested(BillFlagsSchema, load_default=dict)

    @validates_schema
    def check_consistency(self, data, **kwargs):
        errors = {}
        if data["discharge_date"] < data["admission_date"]:
            errors["discharge_date"] = ["must not be before admission_date"]
        if data.get("submitted_on") and data["submitted_on"] < data["discharge_date"]:
            errors["submitted_on"] = ["must not be before discharge_date"]
        parts = (
            data["fund_paid"] + data["self_pay_in_catalogue"] + data["self_pay_out_of_catalogue"]
        )
        if parts > data["total_cost"]:
            errors["total_cost"] = [
                "must be at least fund_paid + self_pay_in_catalogue + self_pay_out_of_catalogue"
            ]
        if errors:
            raise ValidationError(errors)


class BillAcceptedSchema(Schema):
    claim_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CLAIM_STATUSES))


class ClaimSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    # Every key is always present (required is what the document publishes; dumping ignores it).
    claim_id = fields.String(required=True)
    bill_no = fields.String(required=True)
    hospital_code = fields.String(required=True)
    member_id_number_masked = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CLAIM_STATUSES))
    amount = Money(required=True, allow_none=True)
    reason_code = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "excluded_diagnosis stands for a diagnosis-range exclusion"
            " (excluded_self_harm, ...) to roles other than reviewer, auditor and city_admin"
        },
    )
    trace = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "diagnosis parts read [diagnosis hidden] to those roles"},
    )
    policy_version = fields.String(required=True, allow_none=True)


class ReviewRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    decision = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    amount = Money(load_default=None, allow_none=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class ReviewQueueSchema(Schema):
    claims = fields.List(fields.Dict())


class PolicyUploadSchema(Schema):
    class Meta:
        unknown = RAISE

    document = fields.String(required=True, validate=validate.Length(min=1, max=200_000))


class MutualAidAuditEntrySchema(Schema):
    """One entry of the append-only audit log; its other keys depend on the action."""

    class Meta:
        unknown = INCLUDE  # published as additionalProperties: true

    id = fields.String(required=True)
    action = fields.String(required=True)
    at = fields.String(required=True)


class MutualAidAuditSchema(Schema):
    entries = fields.List(fields.Nested(MutualAidAuditEntrySchema), required=True)


class PolicyVersionSchema(Schema):
    version = fields.String()
    effective_from = fields.String()
    digest = fields.String()
    loaded_by = fields.String(allow_none=True)
    loaded_at = fields.String()


class PolicyVersionsSchema(Schema):
    versions = fields.List(fields.Nested(PolicyVersionSchema), required=True)


class PayoutBatchRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    month = fields.String(
        required=True,
        validate=WholeMatch(r"^[0-9]{4}-(0[1-9]|1[0-2])$", error="must look like 2018-06"),
    )


class PayoutBatchSchema(Schema):
    batch_id = fields.String()
    month = fields.String()
    claims = fields.Integer()
    total = Money()
    status = fields.String()


class PlanFiguresSchema(Schema):
    person_times = fields.Integer()
    approved_total = Money()
    paid_total = Money()


class MonthFiguresSchema(PlanFiguresSchema):
    by_county = fields.Dict(keys=fields.String(), values=fields.Nested(PlanFiguresSchema))


class PeriodStatsSchema(Schema):
    person_times = fields.Integer()
    paid_total = Money()
    approved_total = Money()
    by_plan = fields.Dict(keys=fields.String(), values=fields.Nested(PlanFiguresSchema))
    by_county = fields.Dict(keys=fields.String(), values=fields.Nested(PlanFiguresSchema))
    by_month = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(MonthFiguresSchema),
        metadata={"description": "by the month the bill was submitted (YYYY-MM), then county"},
    )


class EmployerContributionSchema(Schema):
    employer_org = fields.String()
    members = fields.Integer()
    contributions = Money()


class ContributionsSchema(Schema):
    period = fields.Integer()
    employers = fields.List(fields.Nested(EmployerContributionSchema))
    total = Money()


# ---- a discharge bill at intake (the gateway's checks; README "Bills while mutual_aid is down")


def claim_id_for(hospital_code: str, bill_no: str) -> str:
    """The claim id of a hospital's bill, derived from (hospital, bill number) alone: the
    gateway answers it before mutual_aid has seen the bill, every repeat of the bill gets the
    same one, and the claim is inserted under it (a repeat collides with the first)."""
    return uuid.uuid5(CLAIM_NAMESPACE, f"{hospital_code}\x1f{bill_no}").hex


CLAIM_NAMESPACE = uuid.UUID("6f3f3b0e-5b7a-4d0e-9a55-6d2b1c0e7a12")


def check_hospital_level(partner: Mapping, stated: int) -> None:
    """The level is the one registered for the partner; a hospital changes it by re-registering."""
    if stated != partner["level"]:
        raise ApiError(
            422,
            "hospital_level_mismatch",
            f"hospital {partner['code']} is registered at level {partner['level']}; "
            f"the bill states level {stated}",
            {
                "hospital_level": [
                    f"must be {partner['level']}, the level registered for the hospital"
                ]
            },
        )


def submission_date(stated: date | None, discharge_date: date, allow_backdated: bool) -> date:
    """The day we received the bill (Asia/Shanghai). A stated ``submitted_on`` is honoured only
    when the platform replays past input; otherwise it is ignored, as the contract lets a
    hospital send it."""
    if allow_backdated and stated is not None:
        return stated
    received = today_shanghai()
    if discharge_date > received:
        raise validation_error(
            {"discharge_date": [f"must not be after the day the bill is received ({received})"]}
        )
    return received


def single_disease_error(code: str, version: str, table: list[str]) -> ApiError:
    """A billed single-disease group not in the table of the policy in force: 400 naming what
    the table holds."""
    listed = ", ".join(sorted(table)) or "empty"
    return validation_error(
        {
            "single_disease_code": [
                f"{code} is not in the single-disease table of {version} ({listed})"
            ]
        }
    )


def table_in_force(tables: list[dict], day: date) -> dict | None:
    """Of ``[{"version", "effective_from", "codes"}]`` (oldest first), the one in force on
    ``day`` (the earliest for days before any), as mutual_aid's policy book picks it."""
    if not tables:
        return None
    in_force = [t for t in tables if t["effective_from"] <= day.isoformat()] or tables[:1]
    return in_force[-1]


def sealed_bill(
    vault: PiiVault,
    partner: Mapping,
    webhook_id: str,
    data: dict,
    submitted_on: date,
) -> dict:
    """The ``bill_submitted`` payload of a checked bill (``DischargeBillSchema`` loaded): the
    patient's ID number, name, diagnoses and single-disease group sealed with the vault (only
    hash and masked forms readable), the level the one registered for the hospital."""
    id_number, code = data["patient_id_number"], data["single_disease_code"]
    return {
        "claim_id": claim_id_for(partner["code"], data["bill_no"]),
        "hospital_code": partner["code"],
        "hospital_level": partner["level"],
        "webhook_id": webhook_id,
        "bill_no": data["bill_no"],
        "admission_date": data["admission_date"].isoformat(),
        "discharge_date": data["discharge_date"].isoformat(),
        "submitted_on": submitted_on.isoformat(),
        "total_cost": data["total_cost"],
        "fund_paid": data["fund_paid"],
        "self_pay_in_catalogue": data["self_pay_in_catalogue"],
        "self_pay_out_of_catalogue": data["self_pay_out_of_catalogue"],
        "flags": {
            "drunk_driving": data["flags"].get("drunk_driving", False),
            "crime": data["flags"].get("crime", False),
            "third_party_liable": data["flags"].get("third_party_liable", False),
        },
        "member_id_hash": vault.lookup_hash(id_number),
        "member_id_enc": vault.encrypt(id_number),
        "member_id_masked": mask_id_number(id_number),
        "patient_name_enc": vault.encrypt(data["patient_name"]),
        "patient_name_masked": mask_name(data["patient_name"]),
        "diagnoses_enc": vault.encrypt(json.dumps(list(data["diagnoses"]))),
        "single_disease_code_enc": vault.encrypt(code) if code else None,
    }
