"""The jobs contract (API.md "Jobs" and the 12345 referrals of "City platform"): the request and
response schemas the gateway publishes and the services validate. ``ReferralSchema`` is shared
by jobs and dossiers: the gateway validates a referral once and routes the loaded dict (clear ID
number inside) by RPC to the service its ``kind`` names."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared import orgs
from shared.contracts import referrals
from shared.identity import CreditCode, IdNumber, WholeMatch
from shared.money import Money

# In order: a vacancy's required level is met by that level or any later one.
EDUCATION = [
    "none",
    "junior_high",
    "senior_high",
    "vocational",
    "junior_college",
    "undergraduate",
    "postgraduate",
]
FAIR_KINDS = ["monthly", "campus_enterprise", "migrant_special"]
VACANCY_STATUSES = ["open", "filled", "closed"]
SEEKER_STATUSES = ["incomplete", "active"]
INTENT_STATUSES = ["intent", "hired"]
FOLLOW_UP_DAYS = [30, 90]

COUNTY = re.compile(orgs.code_pattern())
MOBILE = re.compile(r"1[3-9][0-9]{9}")
MAX_SKILLS = 30
_NAME = validate.Length(min=1, max=50)
_TERM = validate.Length(min=1, max=40)


def county_of_city(code: str) -> None:
    if not orgs.tree().is_county(code):
        raise ValidationError("is not a county of the city")


def _county(**kwargs) -> fields.String:
    return fields.String(validate=[WholeMatch(COUNTY), county_of_city], **kwargs)


def _mobile(**kwargs) -> fields.String:
    return fields.String(validate=WholeMatch(MOBILE), **kwargs)


def _skills(**kwargs) -> fields.List:
    return fields.List(
        fields.String(validate=_TERM), validate=validate.Length(max=MAX_SKILLS), **kwargs
    )


def _flag(**kwargs) -> fields.Boolean:
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)


def _years(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=60), **kwargs)


# ---- employers ---------------------------------------------------------------------------------


class EmployerRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    credit_code = CreditCode(
        required=True,
        metadata={"pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"},
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    county = _county(required=True)
    industry = fields.String(required=True, validate=validate.Length(min=1, max=50))


class EmployerCreatedSchema(Schema):
    employer_id = fields.String(required=True)


class EmployerSchema(EmployerCreatedSchema):
    credit_code = fields.String(required=True)
    name = fields.String(required=True)
    county = fields.String(required=True)
    industry = fields.String(required=True)


# ---- vacancies ---------------------------------------------------------------------------------


class VacancyRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    employer_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=validate.Length(min=1, max=100))
    occupation = fields.String(required=True, validate=_TERM)
    headcount = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=10000)
    )
    salary_min = Money(required=True)
    salary_max = Money(required=True)
    education = fields.String(required=True, validate=validate.OneOf(EDUCATION))
    experience_years = _years(required=True)
    county = _county(required=True)
    skills = _skills(required=True)
    migrant_friendly = _flag(required=True)
    valid_until = fields.Date(required=True)
    fair_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))

    @validates_schema
    def salary_in_order(self, data, **kwargs):
        low, high = data.get("salary_min"), data.get("salary_max")
        if low is not None and high is not None and high < low:
            raise ValidationError({"salary_max": ["must not be below salary_min"]})


class VacancySchema(Schema):
    vacancy_id = fields.String(required=True)
    employer_id = fields.String(required=True)
    title = fields.String(required=True)
    occupation = fields.String(required=True)
    headcount = fields.Integer(required=True)
    open_headcount = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(VACANCY_STATUSES))
    salary_min = Money(required=True)
    salary_max = Money(required=True)
    education = fields.String(required=True)
    experience_years = fields.Integer(required=True)
    county = fields.String(required=True)
    skills = fields.List(fields.String(), required=True)
    migrant_friendly = fields.Boolean(required=True)
    valid_until = fields.Date(required=True)
    fair_id = fields.String(allow_none=True)


class VacancyCreatedSchema(Schema):
    vacancy_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(VACANCY_STATUSES))
    open_headcount = fields.Integer(required=True)


# ---- seekers -----------------------------------------------------------------------------------


class SeekerProfileSchema(Schema):
    """What a seeker offers and wants; staff complete it for a seeker a referral registered."""

    class Meta:
        unknown = RAISE

    skills = _skills(required=True)
    desired_occupation = fields.String(required=True, validate=_TERM)
    willing_to_relocate = _flag(required=True)
    min_salary = Money(required=True)
    education = fields.String(required=True, validate=validate.OneOf(EDUCATION))
    experience_years = _years(required=True)
    migrant_worker = _flag(required=True)
    graduating_student = _flag(required=True)


class SeekerRequestSchema(SeekerProfileSchema):
    """A seeker registered by staff. Hardship status is never sent: it is read from dossiers."""

    id_number = IdNumber(required=True)
    name = fields.String(required=True, validate=_NAME)
    phone = _mobile(load_default=None, allow_none=True)
    county = _county(required=True)


class SeekerCompletionSchema(SeekerProfileSchema):
    """``PATCH /api/v1/jobs/seekers/{id}``: the profile of a seeker registered incomplete (from a
    12345 referral); the seeker becomes active and starts matching."""

    phone = _mobile(load_default=None, allow_none=True)


class SeekerCreatedSchema(Schema):
    seeker_id = fields.String(required=True)


class SeekerSchema(Schema):
    """A seeker as staff read it: ID number, name and phone masked."""

    seeker_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(SEEKER_STATUSES))
    id_number = fields.String(required=True, metadata={"description": "masked"})
    name = fields.String(required=True, metadata={"description": "masked"})
    phone = fields.String(allow_none=True, metadata={"description": "masked"})
    county = fields.String(required=True)
    skills = fields.List(fields.String(), required=True)
    desired_occupation = fields.String(allow_none=True)
    willing_to_relocate = fields.Boolean(allow_none=True)
    min_salary = Money(allow_none=True)
    education = fields.String(allow_none=True)
    experience_years = fields.Integer(allow_none=True)
    migrant_worker = fields.Boolean(allow_none=True)
    graduating_student = fields.Boolean(allow_none=True)
    referral_id = fields.String(allow_none=True)
    summary = fields.String(allow_none=True, metadata={"description": "the 12345 case summary"})


class SeekerListQuerySchema(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(SEEKER_STATUSES))
    county = fields.String(load_default=None, validate=WholeMatch(COUNTY))


class SeekerListSchema(Schema):
    seekers = fields.List(fields.Nested(SeekerSchema), required=True)


# ---- fairs -------------------------------------------------------------------------------------


class FairRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(FAIR_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    date = fields.Date(required=True)
    county = _county(required=True)


class FairCreatedSchema(Schema):
    fair_id = fields.String(required=True)


class FairSchema(FairCreatedSchema):
    kind = fields.String(required=True)
    name = fields.String(required=True)
    date = fields.Date(required=True)
    county = fields.String(required=True)
    employers = fields.Integer(required=True)
    seekers = fields.Integer(required=True)


class FairRegistrationRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    employer_id = fields.String(validate=validate.Length(min=1, max=64))
    seeker_id = fields.String(validate=validate.Length(min=1, max=64))

    @validates_schema
    def exactly_one(self, data, **kwargs):
        if ("employer_id" in data) == ("seeker_id" in data):
            raise ValidationError({"employer_id": ["give employer_id or seeker_id, not both"]})


class FairRegistrationSchema(Schema):
    registration_id = fields.String(required=True)
    fair_id = fields.String(required=True)
    employer_id = fields.String()
    seeker_id = fields.String()


# ---- matching ----------------------------------------------------------------------------------


class MatchQuerySchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class MatchSchema(Schema):
    """One ranked match: the other side's id, its score and the reasons that made it."""

    id = fields.String(required=True)
    score = fields.Float(required=True)
    reasons = fields.List(fields.String(), required=True)


# ---- intents, hires, follow-ups ----------------------------------------------------------------


class IntentRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    seeker_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    vacancy_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    fair_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    # A business date: today unless stated by a role that may backdate (shared.business_dates).
    agreed_on = fields.Date(load_default=None)


class IntentCreatedSchema(Schema):
    intent_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(INTENT_STATUSES))


class HireRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    hired_on = fields.Date(load_default=None)


class HiredSchema(Schema):
    intent_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(INTENT_STATUSES))


class FollowUpRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    day = fields.Integer(required=True, strict=True, validate=validate.OneOf(FOLLOW_UP_DAYS))
    still_employed = _flag(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class FollowUpRecordedSchema(Schema):
    intent_id = fields.String(required=True)
    day = fields.Integer(required=True)
    still_employed = fields.Boolean(required=True)


class FollowUpQuerySchema(Schema):
    county = fields.String(load_default=None, validate=WholeMatch(COUNTY))
    due_before = fields.Date(load_default=None)


class FollowUpTaskSchema(Schema):
    intent_id = fields.String(required=True)
    seeker_id = fields.String(required=True)
    vacancy_id = fields.String(required=True)
    county = fields.String(required=True)
    day = fields.Integer(required=True)
    due_on = fields.Date(required=True)
    hired_on = fields.Date(required=True)


class FollowUpsSchema(Schema):
    follow_ups = fields.List(fields.Nested(FollowUpTaskSchema), required=True)


# ---- figures -----------------------------------------------------------------------------------


class StatsQuerySchema(Schema):
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)

    @validates_schema
    def in_order(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError({"to": ["must not be before from"]})


class JobFiguresSchema(Schema):
    fairs = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    employers = fields.Integer(required=True)
    positions = fields.Integer(required=True)
    seekers_served = fields.Integer(required=True)
    intents = fields.Integer(required=True)
    hires = fields.Integer(required=True)
    retained_90_days = fields.Integer(required=True)


class JobStatsSchema(JobFiguresSchema):
    by_county = fields.Dict(keys=fields.String(), values=fields.Nested(JobFiguresSchema))
    by_fair_kind = fields.Dict(keys=fields.String(), values=fields.Nested(JobFiguresSchema))


# ---- 12345 referrals (city platform) -----------------------------------------------------------
# One definition, in shared/contracts/referrals.py (dossiers takes the hardship ones): named here
# too because jobs takes the job-seeking ones.
ReferralSchema = referrals.ReferralSchema
ReferralAcceptedSchema = referrals.ReferralAcceptedSchema
ReferralTakenSchema = referrals.ReferralTakenSchema
