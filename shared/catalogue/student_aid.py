"""Events published by student_aid (exchange ``student_aid.events``). They carry hashes, masked
names, levels and amounts: never a clear ID number, an address or a hardship cause."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.catalogue.base import Payload, register

LEVELS = ["undergraduate", "junior_college", "vocational", "senior_high"]
PATHS = ["national", "local", "migrant"]


@register("campaign_opened", 1)
class CampaignOpenedV1(Payload):
    """City staff opened a year's campaign: its window, budget and the policy it follows."""

    campaign = fields.Integer(required=True)
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    budget_fen = fields.Integer(required=True, validate=validate.Range(min=0))
    policy_version = fields.String(required=True)


@register("application_decided", 1)
class ApplicationDecidedV1(Payload):
    """An application's eligibility was decided (at once, or again on a late dossier)."""

    application_id = fields.String(required=True)
    campaign = fields.Integer(required=True)
    parent_id_hash = fields.String(required=True)
    org = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["eligible", "ineligible"]))
    path = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(PATHS))
    reason_code = fields.String(allow_none=True, load_default=None)
    education_level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    amount_fen = fields.Integer(allow_none=True, load_default=None)
    policy_version = fields.String(required=True)


@register("award_disbursed", 1)
class AwardDisbursedV1(Payload):
    """Finance confirmed the batch paying this award: dossiers records an education grant on the
    household, notifications tells the parent (without naming hardship or the amount)."""

    application_id = fields.String(required=True)
    campaign = fields.Integer(required=True)
    parent_id_hash = fields.String(required=True)
    org = fields.String(required=True)
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1))
    batch_id = fields.String(required=True)
    paid_on = fields.Date(required=True)
