"""The student-aid contract (API.md "Student aid" and "City platform"): the request and response
schemas the gateway publishes and the service validates."""

from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared import orgs
from shared.identity import IdNumber
from shared.money import Money

# A campaign is named by its year; the bound keeps it a plausible year (and the route's range).
YEARS = validate.Range(min=2000, max=2999)
EDUCATION_LEVELS = ["undergraduate", "junior_college", "vocational", "senior_high"]
SCHOOL_KINDS = ["regular", "military", "free_normal", "directed"]
APPLICATION_STATUSES = [
    "eligible",
    "ineligible",
    "approved",
    "waitlisted",
    "in_review",
    "rejected",
    "paid",
]
REASON_CODES = [
    "not_hardship",
    "excluded_military",
    "excluded_free_normal",
    "excluded_directed",
    "aided_elsewhere",
]
PATHS = ["national", "local", "migrant"]


def grassroots_unit(code: str) -> None:
    """Only a grassroots union certifies a migrant worker's hardship: a unit of the org tree."""
    if not orgs.tree().is_unit(code):
        raise ValidationError("must be a grassroots unit of the city's org tree")


class AidCampaignRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    year = fields.Integer(required=True, strict=True, validate=YEARS)
    # Left out: the policy's default window in the campaign's year.
    opens_on = fields.Date(load_default=None)
    closes_on = fields.Date(load_default=None)
    budget = Money(required=True)

    @validates_schema
    def window_in_order(self, data, **kwargs):
        opens, closes = data.get("opens_on"), data.get("closes_on")
        if opens and closes and closes < opens:
            raise ValidationError({"closes_on": ["must not be before opens_on"]})
        for name in ("opens_on", "closes_on"):
            day = data.get(name)
            if day and day.year != data.get("year"):
                raise ValidationError({name: ["must be in the campaign's year"]})


class AidCampaignBudgetSchema(Schema):
    class Meta:
        unknown = RAISE

    budget = Money(required=True)


class AidCampaignSchema(Schema):
    campaign = fields.Integer(required=True)
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    budget = Money(required=True)
    amounts = fields.Dict(keys=fields.String(), values=Money(), required=True)
    policy_version = fields.String(required=True)


class AidApplicationRequestSchema(Schema):
    """One application, from staff or from the city portal: both end in the same record."""

    class Meta:
        unknown = RAISE

    campaign = fields.Integer(required=True, strict=True, validate=YEARS)
    student_id_number = IdNumber(required=True)
    student_name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    parent_id_number = IdNumber(required=True)
    education_level = fields.String(required=True, validate=validate.OneOf(EDUCATION_LEVELS))
    school = fields.String(required=True, validate=validate.Length(min=1, max=100))
    school_kind = fields.String(required=True, validate=validate.OneOf(SCHOOL_KINDS))
    aided_elsewhere = fields.Boolean(required=True, truthy={True}, falsy={False})
    migrant_hardship_certified_by = fields.String(
        load_default=None,
        allow_none=True,
        validate=grassroots_unit,
        metadata={"description": "a grassroots unit of the org tree, e.g. LY-XL-0042"},
    )
    # A business date: today unless stated by a role that may backdate (shared.business_dates).
    applied_on = fields.Date(load_default=None)

    @validates_schema
    def student_is_not_the_parent(self, data, **kwargs):
        if data.get("student_id_number") and (
            data.get("student_id_number") == data.get("parent_id_number")
        ):
            raise ValidationError({"parent_id_number": ["must not be the student's own"]})


class AidApplicationSchema(Schema):
    application_id = fields.String(required=True)
    campaign = fields.Integer(required=True)
    student_id_number_masked = fields.String(required=True)
    student_name_masked = fields.String(required=True)
    education_level = fields.String(required=True, validate=validate.OneOf(EDUCATION_LEVELS))
    school = fields.String(required=True)
    org = fields.String(required=True)
    applied_on = fields.Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(APPLICATION_STATUSES))
    path = fields.String(allow_none=True, validate=validate.OneOf(PATHS))
    amount = Money(required=True, allow_none=True)
    reason_code = fields.String(allow_none=True, validate=validate.OneOf(REASON_CODES))
    trace = fields.List(fields.String(), required=True)
    policy_version = fields.String(required=True)
    migrant_hardship_certified_by = fields.String(allow_none=True)


# ---- approvals, notice, objections, disbursement, figures ------------------------------------


class AidApprovalsSchema(Schema):
    """The campaign's standing awards (approved, under objection, paid) and its waitlist."""

    approved = fields.Integer(required=True)
    waitlisted = fields.Integer(required=True)
    approved_total = Money(required=True)


class AidNoticeRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    published_on = fields.Date(required=True)


class AidNoticeSchema(Schema):
    published_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "the last working day of it"})


class AidNoticeEntrySchema(Schema):
    """What the public sees of an award: no ID, no address, no hardship cause."""

    name = fields.String(required=True, metadata={"description": "masked: 张*明"})
    school = fields.String(required=True)
    education_level = fields.String(required=True)
    amount = Money(required=True)


class AidPublicNoticeSchema(AidNoticeSchema):
    entries = fields.List(fields.Nested(AidNoticeEntrySchema), required=True)


class AidObjectionRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    note = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    # A business date: today unless stated by a role that may backdate (shared.business_dates).
    received_on = fields.Date(load_default=None)


class AidObjectionDecisionRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    upheld = fields.Boolean(required=True, truthy={True}, falsy={False})


class AidObjectionSchema(Schema):
    objection_id = fields.String(required=True)
    application_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(APPLICATION_STATUSES))


class AidDisbursementRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    # A business date: today unless stated by a role that may backdate (shared.business_dates).
    disbursed_on = fields.Date(load_default=None)


class AidDisbursementSchema(Schema):
    batch_id = fields.String(required=True)
    campaign = fields.Integer(required=True)
    disbursed_on = fields.Date(required=True)
    awards = fields.Integer(required=True)
    total = Money(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["created", "paid"]))


class AidPaidSchema(Schema):
    count = fields.Integer(required=True)
    total = Money(required=True)


class AidFiguresSchema(Schema):
    applications = fields.Integer(required=True)
    eligible = fields.Integer(required=True)
    approved = fields.Integer(required=True)
    approved_total = Money(
        metadata={"description": "the awards standing (approved, under review, paid)"}
    )
    waitlisted = fields.Integer(required=True)
    paid = fields.Nested(AidPaidSchema, required=True)


class AidStatsSchema(AidFiguresSchema):
    by_county = fields.Dict(keys=fields.String(), values=fields.Nested(AidFiguresSchema))
    by_level = fields.Dict(keys=fields.String(), values=fields.Nested(AidFiguresSchema))
    by_path = fields.Dict(keys=fields.String(), values=fields.Nested(AidFiguresSchema))


class AidAuditEntrySchema(Schema):
    """One entry of the append-only audit log; its other keys depend on the action."""

    class Meta:
        unknown = INCLUDE  # published as additionalProperties: true

    id = fields.String(required=True)
    action = fields.String(required=True)
    by = fields.String(required=True)
    at = fields.String(required=True)


class AidAuditSchema(Schema):
    entries = fields.List(fields.Nested(AidAuditEntrySchema), required=True)
