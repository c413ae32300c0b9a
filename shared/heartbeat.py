"""Per-process liveness: each service's own nameko timer touches its heartbeat file, and the
liveness probe (``python -m shared.healthcheck alive``) fails when that file grows stale."""

from __future__ import annotations

import time
from pathlib import Path

from nameko.extensions import DependencyProvider
from nameko.timer import timer

from shared.config import Settings
from shared.providers import settings_of

# How often the timer touches the file; HEARTBEAT_MAX_AGE_SECONDS (default 30) allows several
# missed beats before the probe calls the process dead.
HEARTBEAT_SECONDS = 5


def heartbeat_path(settings: Settings, service: str) -> Path:
    return Path(settings.heartbeat_dir) / f"{service}.heartbeat"


def heartbeat_problem(path: Path, max_age_seconds: float, now: float | None = None) -> str | None:
    """Why the heartbeat at ``path`` does not show a live process, or None when it does."""
    try:
        touched = path.stat().st_mtime
    except FileNotFoundError:
        return f"no heartbeat file {path}"
    age = (time.time() if now is None else now) - touched
    if age > max_age_seconds:
        return f"heartbeat {path} is {age:.0f} s old (more than {max_age_seconds:g} s)"
    return None


class HeartbeatFile(DependencyProvider):
    """Injects this process's heartbeat file path (its directory made once, at start)."""

    def setup(self):
        self.path = heartbeat_path(settings_of(self.container), self.container.service_name)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def get_dependency(self, worker_ctx):
        return self.path


class Heartbeat:
    """Mixin: the service's timer touches its heartbeat file. The timer runs as a worker of
    this very process, so a fresh file means its hub and worker pool still turn over."""

    heartbeat_file = HeartbeatFile()

    @timer(interval=HEARTBEAT_SECONDS, eager=True)
    def beat(self) -> None:
        self.heartbeat_file.touch()
