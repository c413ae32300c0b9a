"""A worker's contact points and preferences, owned by notifications and keyed by the ID hash:
stated by staff, bound by the worker on the city portal, carried sealed by dossier intake and
seeker registration events. Sealed at rest, masked in every answer, never logged. Plain Python
over the store (no nameko)."""

from __future__ import annotations

import logging
from datetime import datetime

from services.notifications.domain.contacts import is_mobile, mask_mobile, mask_openid
from services.notifications.store import NotificationStore
from shared.auth import StaffPrincipal
from shared.crypto import PiiDecryptionError, PiiVault
from shared.errors import not_found
from shared.identity import mask_id_number

log = logging.getLogger(__name__)

DEFAULT_PREFERENCES = {"sms": True, "wechat": True}


def _sealed(vault: PiiVault, mobile: str | None, openid: str | None) -> dict:
    return {
        "mobile": None if mobile is None else (vault.encrypt(mobile), mask_mobile(mobile)),
        "wechat": None if openid is None else (vault.encrypt(openid), mask_openid(openid)),
    }


def set_by_staff(
    store: NotificationStore, vault: PiiVault, staff: StaffPrincipal, data: dict, now: datetime
) -> None:
    """Staff state the worker's contact points and preferences whole (a point left null is
    removed), and the audit log says who did."""
    recipient = store.recipient_hash(data["id_number"])
    store.replace_contacts(
        recipient,
        points=_sealed(vault, data.get("mobile"), data.get("wechat_openid")),
        preferences={**DEFAULT_PREFERENCES, **(data.get("preferences") or {})},
        at=now,
        source=f"staff:{staff.sub}",
    )
    store.audit_inbox_lookup(
        by=staff.sub,
        role=staff.role,
        org=staff.org,
        member_id_hash=recipient,
        messages=0,
        action="contacts_set",
    )


def contacts_of(store: NotificationStore, staff: StaffPrincipal, id_number: str) -> dict:
    """The worker's contact points, masked, and preferences; every lookup audited; 404 when
    notifications holds none."""
    recipient = store.recipient_hash(id_number)
    doc = store.contact(recipient)
    store.audit_inbox_lookup(
        by=staff.sub,
        role=staff.role,
        org=staff.org,
        member_id_hash=recipient,
        messages=0 if doc is None else 1,
        action="contacts_lookup",
    )
    if doc is None:
        raise not_found("contact points for this worker")
    return {
        "id_number": mask_id_number(id_number),  # masked before it leaves the service
        "mobile": doc.get("mobile_masked"),
        "wechat_openid": doc.get("wechat_masked"),
        "preferences": {**DEFAULT_PREFERENCES, **(doc.get("preferences") or {})},
        "updated_at": doc.get("updated_at"),
    }


def bind_from_city(
    store: NotificationStore,
    vault: PiiVault,
    partner: str,
    webhook_id: str,
    data: dict,
    now: datetime,
) -> None:
    """The worker bound a phone (or WeChat) on the city portal: each point stated is set, a
    null one left as it was; a webhook id seen before changes nothing."""
    if not store.first_city_webhook(partner, webhook_id, now):
        return
    recipient = store.recipient_hash(data["id_number"])
    for point, sealed_masked in _sealed(
        vault, data.get("mobile"), data.get("wechat_openid")
    ).items():
        if sealed_masked is not None:
            store.bind_point(
                recipient, point, *sealed_masked, at=now, source=f"city_platform:{partner}"
            )


def bind_from_event(
    store: NotificationStore,
    vault: PiiVault,
    recipient: str,
    mobile_encrypted: str | None,
    at: datetime,
    source: str,
) -> bool:
    """A phone collected by another service (dossier intake, seeker registration), carried
    sealed with the platform's vault. Nothing is logged of it but that it was (not) bound."""
    if not mobile_encrypted:
        return False
    try:
        mobile = vault.decrypt(mobile_encrypted)
    except PiiDecryptionError:
        log.warning("a sealed mobile could not be opened", extra={"source": source})
        return False
    if not is_mobile(mobile):
        log.warning("a sealed mobile is not a mobile number", extra={"source": source})
        return False
    return store.bind_point(
        recipient, "mobile", vault.encrypt(mobile), mask_mobile(mobile), at=at, source=source
    )
