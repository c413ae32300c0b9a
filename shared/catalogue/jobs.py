"""Events published by jobs (exchange ``jobs.events``). They carry hashes, ids, dates and
counties: never a clear ID number, a phone, a salary or a hardship cause.

Only what another service reads is an event (see ``shared/catalogue/student_aid.py``)."""

from __future__ import annotations

from marshmallow import fields

from shared.catalogue.base import Payload, register


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
