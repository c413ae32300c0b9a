"""Events published by jobs (exchange ``jobs.events``): a seeker registered, at a fair, agreed,
hired, due a follow-up, and a dossier holder hired. They carry the seeker's ID hash, ids,
counties and dates: never a clear ID number, a name, a phone in clear, an income or a hardship
cause. ``mobile_encrypted`` is the phone sealed with the shared PiiVault (the notifications
service opens it to send an SMS), or null when none was given."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.catalogue.base import Payload, register

FOLLOW_UP_DAYS = [30, 90]


class _SeekerEvent(Payload):
    seeker_id = fields.String(required=True)
    id_hash = fields.String(required=True)
    county = fields.String(required=True)


@register("seeker_registered", 1)
class SeekerRegisteredV1(_SeekerEvent):
    """A job seeker was registered (by staff, or from a 12345 referral)."""

    mobile_encrypted = fields.String(required=True, allow_none=True)


@register("fair_registered", 1)
class FairRegisteredV1(_SeekerEvent):
    """A seeker registered for a job fair."""

    fair_id = fields.String(required=True)
    fair_name = fields.String(required=True)
    fair_date = fields.Date(required=True)


@register("intent_recorded", 1)
class IntentRecordedV1(_SeekerEvent):
    """A seeker and an employer agreed an employment intent (就业意向)."""

    intent_id = fields.String(required=True)
    vacancy_id = fields.String(required=True)
    agreed_on = fields.Date(required=True)


@register("seeker_hired", 1)
class SeekerHiredV1(_SeekerEvent):
    """An intent ended in a hire: the vacancy's open headcount went down by one."""

    intent_id = fields.String(required=True)
    vacancy_id = fields.String(required=True)
    hired_on = fields.Date(required=True)


@register("follow_up_due", 1)
class FollowUpDueV1(_SeekerEvent):
    """A hire's follow-up (day 30 or 90) fell due: staff call the worker."""

    intent_id = fields.String(required=True)
    day = fields.Integer(required=True, validate=validate.OneOf(FOLLOW_UP_DAYS))
    due_on = fields.Date(required=True)


@register("dossier_holder_hired", 1)
class DossierHolderHiredV1(Payload):
    """A seeker who heads an open dossier (by the jobs read model of the dossiers events) was
    hired: dossiers checks the dossier (open, same head) and, when its cause is unemployment,
    asks staff for a re-evaluation visit. The cause is never on the bus: dossiers judges it."""

    intent_id = fields.String(required=True)
    dossier_id = fields.String(required=True)
    head_id_hash = fields.String(required=True)
    hired_on = fields.Date(required=True)
    county = fields.String(required=True)
