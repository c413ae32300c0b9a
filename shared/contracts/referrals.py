"""The 12345 referral contract (API.md "City platform"): what the city platform's hotline
forwards to ``POST /api/v1/city/referrals``. The gateway route validates it and routes it by
``kind``: ``hardship`` to ``dossiers.take_referral`` (the county's intake-request queue),
``job_seeking`` to jobs (a seeker registration). Both services validate it again with this
schema: nothing on the bus is trusted because it arrived."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from shared import orgs
from shared.identity import IdNumber, WholeMatch

REFERRAL_KINDS = ("hardship", "job_seeking")
ROUTED_TO = {"hardship": "dossiers", "job_seeking": "jobs"}
# The platform's case number, e.g. 12345-2018-000123: letters, digits and dashes only (it is a
# key in our stores, so never an operator or a dotted path).
CASE_NO = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{0,39}$")
COUNTY = re.compile(orgs.code_pattern())
# A phone as a caller gave it to the hotline: a mobile or a landline, digits with an optional
# leading + and dashes (0597-1234567).
PHONE = re.compile(r"^\+?[0-9][0-9-]{4,19}$")


class Strict(Schema):
    class Meta:
        unknown = RAISE


class CitizenSchema(Strict):
    id_number = IdNumber(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = fields.String(required=True, validate=WholeMatch(PHONE))


class ReferralSchema(Strict):
    """``{"case_no", "kind", "county", "citizen": {"id_number", "name", "phone"}, "summary"}``."""

    case_no = fields.String(required=True, validate=WholeMatch(CASE_NO))
    kind = fields.String(required=True, validate=validate.OneOf(REFERRAL_KINDS))
    county = fields.String(required=True, validate=WholeMatch(COUNTY))
    citizen = fields.Nested(CitizenSchema, required=True)
    summary = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def check_county(self, data, **kwargs):
        if not orgs.tree().is_county(data["county"]):
            raise ValidationError({"county": ["is not a county of the city"]})


class ReferralAcceptedSchema(Schema):
    """The gateway's 202: the same ``case_no`` again answers the same ``referral_id``."""

    referral_id = fields.String(required=True)
    routed_to = fields.String(required=True, validate=validate.OneOf(sorted(ROUTED_TO.values())))


class ReferralTakenSchema(Schema):
    """What ``dossiers.take_referral`` answers: ``created`` is false for a case number seen
    before (the same referral, no second effect)."""

    referral_id = fields.String(required=True)
    created = fields.Boolean(required=True)
