"""Where a message goes: the provider interface every push channel (SMS, WeChat template
messages) sends through, the development sinks that stand in for contracted providers, the
nameko provider that injects them, and the service's clock.

Tests only: each sink has its own failure switch (``SMS_SINK_FAIL``, ``WECHAT_SINK_FAIL``:
``1`` or ``transient`` for a provider that is down for now, ``permanent`` for one that refuses
the message for good), and ``NOTIFICATIONS_CLOCK_FILE`` names a file whose ISO-8601 time is
the service's "now" (quiet hours, deferrals, retries). None of them is a setting: all are
ignored with ``APP_ENV=production``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from nameko.extensions import DependencyProvider
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from services.notifications.domain.contacts import mask_mobile, mask_openid
from shared.crypto import vault_of
from shared.events import SHANGHAI, now_shanghai
from shared.providers import service_database, settings_of

FAIL_SWITCHES = {"sms": "SMS_SINK_FAIL", "wechat": "WECHAT_SINK_FAIL"}
FAIL_SWITCH = FAIL_SWITCHES["sms"]
CLOCK_FILE = "NOTIFICATIONS_CLOCK_FILE"
TRANSIENT = "transient"
PERMANENT = "permanent"


class ProviderError(RuntimeError):
    """The provider did not take the message."""

    permanent = False


class TransientFailure(ProviderError):
    """Down for now (a timeout, a 5xx): retried with backoff, then treated as permanent."""


class PermanentFailure(ProviderError):
    """Refused for good (an unknown number, an unsubscribed openid): falls back."""

    permanent = True


class Provider(Protocol):
    channel: str

    def send(self, *, message_id: str, address: str, text: str) -> bool:
        """Hand one message over; False when ``message_id`` was handed over before (a provider
        takes the id as its idempotency key). Raises a ProviderError when refused."""
        ...


class DevelopmentSink:
    """Records exactly what would be sent, one record per message id, in place of a provider's
    system (its collection is the provider's side, not the service's store). The address is
    kept sealed and masked, as anything personal at rest."""

    def __init__(
        self,
        channel: str,
        sent: Collection,
        seal: Callable[[str], str],
        mask: Callable[[str], str],
        fail: str | None = None,
    ):
        self.channel = channel
        self.sent = sent
        self.seal = seal
        self.mask = mask
        self.fail = fail  # None, TRANSIENT or PERMANENT: set by tests only

    def send(self, *, message_id: str, address: str, text: str) -> bool:
        switch = FAIL_SWITCHES[self.channel]
        if self.fail == PERMANENT:
            raise PermanentFailure(f"{self.channel} development sink refuses it ({switch})")
        if self.fail is not None:
            raise TransientFailure(f"{self.channel} development sink is down ({switch})")
        try:
            self.sent.insert_one(
                {
                    "_id": message_id,
                    "channel": self.channel,
                    "to_masked": self.mask(address),
                    "to_sealed": self.seal(address),
                    "text": text,
                    "sent_at": now_shanghai().isoformat(timespec="milliseconds"),
                }
            )
        except DuplicateKeyError:
            return False
        return True


def sink_failure(env: Mapping[str, str], app_env: str, channel: str) -> str | None:
    """A sink's failure switch, outside production only: None, TRANSIENT or PERMANENT."""
    value = env.get(FAIL_SWITCHES[channel], "")
    if app_env == "production" or value in ("", "0"):
        return None
    return PERMANENT if value == PERMANENT else TRANSIENT


def sink_fails(env: Mapping[str, str], app_env: str) -> bool:
    """Whether the SMS sink's switch is on (kept for callers of the one-channel switch)."""
    return sink_failure(env, app_env, "sms") is not None


MASKS = {"sms": mask_mobile, "wechat": mask_openid}


def development_sinks(db, seal: Callable[[str], str], env, app_env: str) -> dict[str, Provider]:
    return {
        channel: DevelopmentSink(
            channel,
            db[f"{channel}_sink"],
            seal,
            MASKS[channel],
            fail=sink_failure(env, app_env, channel),
        )
        for channel in FAIL_SWITCHES
    }


class Channels(DependencyProvider):
    """Injects the push providers by channel, built once per process: the development sinks
    until providers are contracted."""

    def setup(self):
        settings = settings_of(self.container)
        self.providers = development_sinks(
            service_database(self.container),
            vault_of(settings).encrypt,
            os.environ,
            settings.app_env,
        )

    def get_dependency(self, worker_ctx) -> Mapping[str, Provider]:
        return self.providers


class Clock:
    """The service's "now" in Asia/Shanghai. ``file`` (tests only) is read at every call: an
    ISO-8601 time is "now" held still; followed by `` running`` it is the time the file was
    written, running on from there; missing or empty, the wall clock answers."""

    def __init__(self, file: str | None = None):
        self.file = Path(file) if file else None

    def now(self) -> datetime:
        if self.file is not None:
            try:
                text = self.file.read_text(encoding="utf-8").strip()
                written = self.file.stat().st_mtime
            except OSError:
                text = ""
            if text:
                stated, _, mode = text.partition(" ")
                moment = datetime.fromisoformat(stated).astimezone(SHANGHAI)
                if mode == "running":
                    moment += timedelta(seconds=max(0.0, time.time() - written))
                return moment
        return now_shanghai()


class FixedClock(Clock):
    """A clock that says what it is told: tests and benchmarks drive it."""

    def __init__(self, moment: datetime):
        super().__init__(None)
        self.moment = moment

    def now(self) -> datetime:
        return self.moment.astimezone(SHANGHAI)


def clock_file(env: Mapping[str, str], app_env: str) -> str | None:
    """The test clock's file, outside production only."""
    return None if app_env == "production" else (env.get(CLOCK_FILE) or None)


class ClockProvider(DependencyProvider):
    def setup(self):
        self.clock = Clock(clock_file(os.environ, settings_of(self.container).app_env))

    def get_dependency(self, worker_ctx) -> Clock:
        return self.clock
