"""Events published by student_aid (exchange ``student_aid.events``). They carry hashes, masked
names, levels and amounts: never a clear ID number, an address or a hardship cause.

Only what another service reads is an event: the relay retries an event no queue is bound for
on every pass (the publisher sets ``mandatory``), so an event nobody reads would be retried
for ever and hold up the ones behind it. Campaigns are therefore records of this service, not
events, until a reader needs them. Eligibility decisions and approvals are events since
notifications tells the parent of them (never why, never the amount)."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.catalogue.base import Payload, register


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


@register("eligibility_decided", 1)
class EligibilityDecidedV1(Payload):
    """An application was decided eligible or not when it arrived (staff or city portal). The
    reason code stays in student_aid: it may tell the household's hardship."""

    application_id = fields.String(required=True)
    campaign = fields.Integer(required=True)
    parent_id_hash = fields.String(required=True)
    org = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["eligible", "ineligible"]))


class ApprovedAward(Payload):
    application_id = fields.String(required=True)
    parent_id_hash = fields.String(required=True)
    org = fields.String(required=True)


@register("awards_approved", 1)
class AwardsApprovedV1(Payload):
    """A run of the city's approvals took these applications within the budget: one event
    per run (written with the run's claim, one write however many awards), which
    notifications fans out to each parent. Never the amount."""

    campaign = fields.Integer(required=True)
    run = fields.Integer(required=True, validate=validate.Range(min=1))
    awards = fields.List(fields.Nested(ApprovedAward), required=True)
