"""Events published by mutual_aid (exchange ``mutual_aid.events``). No diagnosis ever rides in one.

``member_org`` (the member's employer org unit; None for a bill of someone never enrolled) was
added to ``claim_decided`` and ``claim_paid`` as an optional field, a compatible change within
v1: readers that keep these events scope what they show by it, and treat an event without it
as visible at city level only."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.catalogue.base import Payload, register


@register("claim_received", 1)
class ClaimReceivedV1(Payload):
    """A discharge bill was durably accepted as a claim and awaits adjudication."""

    claim_id = fields.String(required=True)
    hospital_code = fields.String(required=True)
    bill_no = fields.String(required=True)


@register("claim_decided", 1)
class ClaimDecidedV1(Payload):
    """A claim was adjudicated (or reviewed): readers need the outcome, not the illness."""

    claim_id = fields.String(required=True)
    member_id_hash = fields.String(required=True)
    member_id_masked = fields.String(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["approved", "rejected", "needs_review"])
    )
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=0))
    reason_code = fields.String(allow_none=True, load_default=None)
    period = fields.Integer(allow_none=True, load_default=None)
    policy_version = fields.String(required=True)
    member_org = fields.String(allow_none=True, load_default=None)


@register("claim_paid", 1)
class ClaimPaidV1(Payload):
    """Finance confirmed the payout batch holding this claim: the money has gone out."""

    claim_id = fields.String(required=True)
    member_id_hash = fields.String(required=True)
    member_id_masked = fields.String(required=True)
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1))
    batch_id = fields.String(required=True)
    period = fields.Integer(required=True)
    paid_on = fields.Date(required=True)
    member_org = fields.String(allow_none=True, load_default=None)
