"""The caller's identity as the gateway forwards it over RPC, for tests that call services
directly. Every integration test builds principals here, so how identity travels on the bus
is decided in one place."""

from __future__ import annotations


def staff(role: str, org: str = "LY", sub: str | None = None) -> dict:
    """What the gateway forwards for a signed-in staff member."""
    return {"sub": sub or f"it-{role}", "role": role, "org": org}


def hospital(code: str = "H0001", level: int = 3) -> dict:
    """What the gateway forwards for a partner hospital whose signature it verified: the
    hospital as registered (its level is the registered one, whatever a bill states)."""
    return {"code": code, "kind": "hospital", "level": level}
