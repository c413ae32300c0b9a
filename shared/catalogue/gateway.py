"""Events published by the gateway (exchange ``gateway.events``): what it took in at the edge on
a service's behalf, so a request is kept while that service is down (README "Bills while
mutual_aid is down"). No clear ID number, name or diagnosis rides in one: they travel sealed
with the PII vault, as the owning service stores them."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.catalogue.base import Payload, register


class SealedBillFlags(Payload):
    drunk_driving = fields.Boolean(required=True)
    crime = fields.Boolean(required=True)
    third_party_liable = fields.Boolean(required=True)


@register("bill_submitted", 1)
class BillSubmittedV1(Payload):
    """A partner hospital's discharge bill, verified (signature, contract, registered level,
    the day received) and answered 202 with ``claim_id``: mutual_aid decides it from here."""

    claim_id = fields.String(required=True, validate=validate.Length(equal=32))
    hospital_code = fields.String(required=True)
    hospital_level = fields.Integer(required=True, validate=validate.OneOf([1, 2, 3]))
    webhook_id = fields.String(required=True)
    bill_no = fields.String(required=True)
    admission_date = fields.String(required=True)
    discharge_date = fields.String(required=True)
    submitted_on = fields.String(required=True)
    total_cost = fields.Integer(required=True, validate=validate.Range(min=0))
    fund_paid = fields.Integer(required=True, validate=validate.Range(min=0))
    self_pay_in_catalogue = fields.Integer(required=True, validate=validate.Range(min=0))
    self_pay_out_of_catalogue = fields.Integer(required=True, validate=validate.Range(min=0))
    flags = fields.Nested(SealedBillFlags, required=True)
    member_id_hash = fields.String(required=True)
    member_id_enc = fields.String(required=True)
    member_id_masked = fields.String(required=True)
    patient_name_enc = fields.String(required=True)
    patient_name_masked = fields.String(required=True)
    diagnoses_enc = fields.String(required=True)
    single_disease_code_enc = fields.String(allow_none=True, load_default=None)
