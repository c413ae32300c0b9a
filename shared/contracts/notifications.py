"""The notifications contract (API.md "Notifications"): a worker's inbox and who looked at it,
the delivery log."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared.identity import IdNumber


class InboxQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    id_number = IdNumber(required=True)


class DeliveriesQuerySchema(Schema):
    """The query string of the delivery log: the business object's reference."""

    ref = fields.String(required=True, validate=validate.Length(min=1, max=200))


class InboxMessageSchema(Schema):
    id = fields.String()
    ref = fields.String()
    event_type = fields.String()
    text = fields.String()
    created_at = fields.String()


class InboxSchema(Schema):
    messages = fields.List(fields.Nested(InboxMessageSchema))


class InboxLookupSchema(Schema):
    id = fields.String()
    action = fields.String()
    by = fields.String()
    role = fields.String()
    org = fields.String()
    messages = fields.Integer()
    at = fields.String()


class InboxLookupsSchema(Schema):
    entries = fields.List(fields.Nested(InboxLookupSchema))


class DeliverySchema(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    ref = fields.String()
    channel = fields.String()
    status = fields.String()
    updated_at = fields.String()


class DeliveriesSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema))
