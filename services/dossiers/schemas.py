"""Schemas private to dossiers; its contract with the gateway is shared/contracts/dossiers.py."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.contracts.dossiers import AUDIT_ACTOR_MAX, Strict


class AuditFilterSchema(Strict):
    """What the audit log may be narrowed by: named fields, never a query."""

    action = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z_]{1,40}$"))
    target = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    limit = fields.Integer(load_default=100, strict=False)
    actor = fields.String(load_default=None, validate=validate.Length(min=1, max=AUDIT_ACTOR_MAX))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
