"""The caller's identity as the gateway forwards it over RPC, for tests that call services
directly. Every integration test builds principals here, so how identity travels on the bus
is decided in one place."""

from __future__ import annotations


def staff(role: str, org: str = "LY", sub: str | None = None) -> dict:
    """What the gateway forwards for a signed-in staff member."""
    return {"sub": sub or f"it-{role}", "role": role, "org": org}
