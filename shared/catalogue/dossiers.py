"""Events published by dossiers (exchange ``dossiers.events``): who the union treats as a
household in hardship. They carry the household head's ID hash, tier and county — what readers
need — and never a clear ID number, an income or a hardship cause.

``revision`` is the dossier's revision after the change: a read model applies an event only
when its revision is newer than what it holds, so duplicates and out-of-order deliveries are
harmless."""

from __future__ import annotations

from marshmallow import fields, validate

from shared.catalogue.base import Payload, register

TIERS = ["national", "local", "grassroots"]
# not_eligible: a home visit found a not-eligible case (不宜建档), e.g. a second home bought.
EXIT_REASONS = [
    "income_above_line",
    "death_or_dissolved",
    "moved_out_of_city",
    "fraud",
    "not_eligible",
]
GRANT_TYPES = ["living", "medical", "education", "condolence", "emergency"]


class _DossierChange(Payload):
    dossier_id = fields.String(required=True)
    head_id_hash = fields.String(required=True)
    county = fields.String(required=True)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))


@register("dossier_established", 1)
class DossierEstablishedV1(_DossierChange):
    """Staff confirmed a tier: the dossier is open."""

    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    org = fields.String(required=True)
    established_on = fields.Date(required=True)
    # The household head's mobile taken at intake, if any, sealed with the platform's PII
    # vault (shared.crypto): only notifications opens it, to bind the worker's contact point.
    # An optional field, a compatible change within v1.
    mobile_encrypted = fields.String(allow_none=True, load_default=None)


@register("dossier_tier_changed", 1)
class DossierTierChangedV1(_DossierChange):
    tier_from = fields.String(required=True, validate=validate.OneOf(TIERS))
    tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    changed_on = fields.Date(required=True)


@register("dossier_exited", 1)
class DossierExitedV1(_DossierChange):
    reason = fields.String(required=True, validate=validate.OneOf(EXIT_REASONS))
    exited_on = fields.Date(required=True)


@register("dossier_transferred", 1)
class DossierTransferredV1(_DossierChange):
    """Moved inside the city: a new county (``county``), the dossier stays open."""

    county_from = fields.String(required=True)
    org = fields.String(required=True)
    transferred_on = fields.Date(required=True)


@register("verification_overdue", 1)
class VerificationOverdueV1(_DossierChange):
    campaign_id = fields.String(required=True)


@register("assistance_granted", 1)
class AssistanceGrantedV1(Payload):
    """A grant recorded on the household's assistance ledger (帮扶台账)."""

    grant_id = fields.String(required=True)
    dossier_id = fields.String(required=True)
    head_id_hash = fields.String(required=True)
    county = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(GRANT_TYPES))
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1))
    fund = fields.String(required=True)
    source = fields.String(required=True)  # the granting service: dossiers, mutual_aid, ...
    granted_on = fields.Date(required=True)
