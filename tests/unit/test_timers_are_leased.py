"""Every service runs as several replicas: a timer that is not leased would fire on each."""

from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"


def test_no_service_uses_nameko_s_plain_timer():
    plain = [
        str(path.relative_to(SERVICES))
        for path in SERVICES.rglob("*.py")
        if "nameko.timer" in path.read_text(encoding="utf-8")
    ]
    assert plain == [], f"use shared.lease.leased_timer instead: {plain}"


def test_the_dossiers_schedule_is_leased():
    from services.dossiers.service import DossiersService
    from shared.lease import LeasedTimer

    entrypoints = getattr(DossiersService.scheduled, "nameko_entrypoints", set())
    assert any(isinstance(e, LeasedTimer) for e in entrypoints)
