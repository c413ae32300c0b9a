"""Where an SMS goes: the provider interface notifications sends through, the development sink
that stands in for a contracted provider, and the nameko provider that injects it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from nameko.extensions import DependencyProvider
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from shared.events import now_shanghai
from shared.providers import service_database, settings_of

# The development sink's own switch, set only by tests: every send fails, to exercise retries,
# dead letters and replay end to end. Never honoured in production.
FAIL_SWITCH = "SMS_SINK_FAIL"


class SmsProviderError(RuntimeError):
    """The provider did not take the message; the event is retried, then parked."""


class SmsProvider(Protocol):
    def send(self, *, message_id: str, recipient: str, text: str) -> bool:
        """Hand one message over; False when ``message_id`` was handed over before (a
        redelivered event sends nothing twice). Raises SmsProviderError when refused."""
        ...


class DevelopmentSmsSink:
    """Records what would be sent, one record per message id, in place of a provider's system
    (its ``sms_sink`` collection is the provider's side, not the service's store)."""

    def __init__(self, sent: Collection, fail: bool = False):
        self.sent = sent
        self.fail = fail

    def send(self, *, message_id: str, recipient: str, text: str) -> bool:
        if self.fail:
            raise SmsProviderError(f"SMS development sink is set to fail ({FAIL_SWITCH}=1)")
        try:
            self.sent.insert_one(
                {
                    "_id": message_id,
                    "recipient": recipient,
                    "text": text,
                    "sent_at": now_shanghai().isoformat(timespec="milliseconds"),
                }
            )
        except DuplicateKeyError:
            return False
        return True


def sink_fails(env: Mapping[str, str], app_env: str) -> bool:
    """The sink's failure switch: ``SMS_SINK_FAIL=1``, outside production only."""
    return env.get(FAIL_SWITCH, "") == "1" and app_env != "production"


class Sms(DependencyProvider):
    """Injects the SMS provider, built once per process: the development sink until a provider
    is contracted."""

    def setup(self):
        settings = settings_of(self.container)
        self.provider = DevelopmentSmsSink(
            service_database(self.container)["sms_sink"],
            fail=sink_fails(os.environ, settings.app_env),
        )

    def get_dependency(self, worker_ctx) -> SmsProvider:
        return self.provider
