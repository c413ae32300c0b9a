"""The notifications contract (API.md "Notifications" and "City platform"): a worker's inbox and
who looked at it, contact points and preferences, the delivery log with its status history,
the figures; the city portal's inbox, read marks and phone binding."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared.identity import IdNumber, WholeMatch

MESSAGE_ID = "^[0-9a-f]{32}$"
MOBILE = WholeMatch("^1[3-9][0-9]{9}$", error="must be a mainland mobile number (11 digits)")
WECHAT_OPENID = WholeMatch("^[A-Za-z0-9_-]{16,64}$", error="must be a WeChat openid")
STATUSES = ("queued", "deferred", "sent", "failed", "fell_back")
CHANNELS = ("inbox", "sms", "wechat")


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
    read = fields.Boolean()


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


class StatusEntrySchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    at = fields.String()
    detail = fields.String()


class DeliverySchema(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    ref = fields.String()
    channel = fields.String(validate=validate.OneOf(CHANNELS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    updated_at = fields.String()
    history = fields.List(fields.Nested(StatusEntrySchema))


class DeliveriesSchema(Schema):
    deliveries = fields.List(fields.Nested(DeliverySchema))


class PreferencesSchema(Schema):
    class Meta:
        unknown = RAISE

    sms = fields.Boolean(load_default=True)
    wechat = fields.Boolean(load_default=True)


class ContactsRequestSchema(Schema):
    """Staff state a worker's contact points whole: a point null or left out is removed."""

    class Meta:
        unknown = RAISE

    id_number = IdNumber(required=True)
    mobile = fields.String(load_default=None, allow_none=True, validate=MOBILE)
    wechat_openid = fields.String(load_default=None, allow_none=True, validate=WECHAT_OPENID)
    preferences = fields.Nested(
        PreferencesSchema, load_default=lambda: {"sms": True, "wechat": True}
    )


class ContactsSchema(Schema):
    """A worker's contact points as staff see them: masked."""

    id_number = fields.String(metadata={"description": "masked", "example": "350881********0007"})
    mobile = fields.String(allow_none=True, metadata={"example": "138****0000"})
    wechat_openid = fields.String(allow_none=True)
    preferences = fields.Nested(PreferencesSchema)
    updated_at = fields.String(allow_none=True)


class CityContactsRequestSchema(Schema):
    """A worker bound a phone (or WeChat) on the city portal: a null point is left as it was."""

    class Meta:
        unknown = RAISE

    id_number = IdNumber(required=True)
    mobile = fields.String(load_default=None, allow_none=True, validate=MOBILE)
    wechat_openid = fields.String(load_default=None, allow_none=True, validate=WECHAT_OPENID)


class StatsQuerySchema(Schema):
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)


class StatsRowSchema(Schema):
    event_type = fields.String()
    channel = fields.String()
    status = fields.String()
    count = fields.Integer()


class StatsSchema(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()
    rows = fields.List(fields.Nested(StatsRowSchema))
    failed_at_least_once = fields.Integer()
    fell_back = fields.Integer()
