"""Schemas the gateway itself owns: partners, dead letters, errors, health; the services'
contracts it publishes are in shared/contracts/."""

from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

# A partner's code, as registered and as named in a signed request's path (checked there
# before any lookup).
PARTNER_CODE = re.compile(r"[A-Z][A-Z0-9]{1,15}", re.ASCII)


def is_partner_code(text: str) -> bool:
    return PARTNER_CODE.fullmatch(text) is not None


def validate_partner_code(text: str) -> None:
    if not is_partner_code(text):
        raise ValidationError("must be a capital letter and 1 to 15 capitals or digits")


# The services behind the gateway, each answering RPC with the dead-letter entrypoints.
BACKENDS = ("dossiers", "mutual_aid", "student_aid", "jobs", "notifications")


class PartnerRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    # The Regexp is what OpenAPI publishes; its $ would also let "H0001\n" through.
    code = fields.String(
        required=True,
        validate=[validate.Regexp(rf"^{PARTNER_CODE.pattern}$"), validate_partner_code],
    )
    kind = fields.String(required=True, validate=validate.OneOf(["hospital", "city_platform"]))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    level = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.OneOf([1, 2, 3])
    )

    @validates_schema
    def hospitals_have_a_level(self, data, **kwargs):
        if data["kind"] == "hospital" and data.get("level") is None:
            raise ValidationError({"level": ["required for a hospital (1, 2 or 3)"]})


class PartnerLevelSchema(Schema):
    """Re-registering a hospital's level: nothing else about the partner changes."""

    class Meta:
        unknown = RAISE

    level = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2, 3]))


class PartnerSchema(Schema):
    code = fields.String()
    kind = fields.String()
    name = fields.String()
    level = fields.Integer(allow_none=True)


class PartnerAuditEntrySchema(Schema):
    id = fields.String()
    at = fields.String()
    actor = fields.String()
    role = fields.String()
    action = fields.String()
    detail = fields.Dict()


class PartnerAuditSchema(Schema):
    entries = fields.List(fields.Nested(PartnerAuditEntrySchema))


class PartnerCreatedSchema(Schema):
    code = fields.String()
    secret = fields.String()


class DeadLetterSchema(Schema):
    id = fields.String()
    queue = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    attempts = fields.Integer()
    error = fields.String()
    status = fields.String()
    parked_at = fields.String()
    replayed_by = fields.String(allow_none=True)
    service = fields.String()


class DeadLettersSchema(Schema):
    dead_letters = fields.List(fields.Nested(DeadLetterSchema))


class DeadLetterStatusQuerySchema(Schema):
    status = fields.String(
        load_default="parked", validate=validate.OneOf(["parked", "replaying", "replayed", "all"])
    )


class DeadLettersQuerySchema(DeadLetterStatusQuerySchema):
    """The query string of the dead-letter list: one service (default every one) and a status."""

    service = fields.String(validate=validate.OneOf(BACKENDS))


class DeadLetterReplayedSchema(Schema):
    id = fields.String()
    service = fields.String()
    status = fields.String()


class ErrorDetailSchema(Schema):
    """API.md's error: a code, a sentence, and the fields at fault (an object, or absent)."""

    class Meta:
        unknown = RAISE  # published as additionalProperties: false

    code = fields.String(required=True)
    message = fields.String(required=True)
    # The record a 409 names (API.md "Jobs": the same credit code or ID number twice).
    employer_id = fields.String()
    seeker_id = fields.String()
    fields = fields.Dict(keys=fields.String())  # last: it shadows the module in this body


class ErrorSchema(Schema):
    class Meta:
        unknown = RAISE

    error = fields.Nested(ErrorDetailSchema, required=True)


class AliveSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["alive"]))


class HealthSchema(Schema):
    status = fields.String()
    services = fields.Dict(keys=fields.String(), values=fields.String())
