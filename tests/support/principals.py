"""The caller's identity as the gateway forwards it over RPC, for tests that call services
directly. Every integration test builds principals here, so how identity travels on the bus
is decided in one place."""

from __future__ import annotations

from shared.auth import mint_partner_assertion, mint_staff_token
from shared.config import process_settings


def staff(role: str, org: str = "LY", sub: str | None = None, **token) -> str:
    """What the gateway forwards for a signed-in staff member: their staff token, signed with
    the settings the in-process services verify it with (``token`` overrides, e.g. ``now``)."""
    settings = process_settings()
    return mint_staff_token(
        settings.staff_jwt_secret,
        sub=sub or f"it-{role}",
        role=role,
        org=org,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        **token,
    )


def hospital(code: str = "H0001", level: int = 3, **assertion) -> str:
    """What the gateway forwards for a partner hospital whose signature it verified: its
    assertion of the hospital as registered (the level is the registered one, whatever a bill
    states; ``assertion`` overrides, e.g. ``now``)."""
    partner = {"code": code, "kind": "hospital", "level": level}
    return mint_partner_assertion(partner, process_settings(), **assertion)
