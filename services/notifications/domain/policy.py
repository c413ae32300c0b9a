"""The notifications policy: quiet hours (Asia/Shanghai) and the event types sent through them.
Plain Python; a message's send time is decided here, never in the store or the door."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from marshmallow import ValidationError, fields

from shared.events import SHANGHAI
from shared.policy import PolicyDocument, PolicySchema, Text, versioned_schema

SERVICE = "notifications"
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ClockTime(Text):
    def _deserialize(self, value, attr, data, **kwargs) -> time:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _CLOCK.fullmatch(text):
            raise ValidationError(f'must be a wall-clock time "HH:MM", got {text!r}')
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))


class QuietHoursSchema(PolicySchema):
    starts = ClockTime(required=True)
    ends = ClockTime(required=True)
    urgent = fields.List(Text(), required=True)


class NotificationsPolicySchema(versioned_schema(SERVICE)):
    quiet_hours = fields.Nested(QuietHoursSchema, required=True)


@dataclass(frozen=True)
class NotificationsPolicy:
    version: str
    quiet_starts: time
    quiet_ends: time
    urgent: frozenset[str]

    @classmethod
    def from_document(cls, document: PolicyDocument) -> NotificationsPolicy:
        data = document.load(NotificationsPolicySchema())
        quiet = data["quiet_hours"]
        return cls(
            version=document.version,
            quiet_starts=quiet["starts"],
            quiet_ends=quiet["ends"],
            urgent=frozenset(quiet["urgent"]),
        )

    def is_quiet(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in quiet hours, read on the Shanghai wall clock."""
        wall = moment.astimezone(SHANGHAI).time()
        if self.quiet_starts <= self.quiet_ends:  # a window inside one day
            return self.quiet_starts <= wall < self.quiet_ends
        return wall >= self.quiet_starts or wall < self.quiet_ends

    def send_at(self, event_key: str, moment: datetime) -> datetime | None:
        """None to send now; else the end of these quiet hours (Shanghai), when the timer sends
        the message. ``event_key`` is "<producer>.<event_type>"."""
        if event_key in self.urgent or not self.is_quiet(moment):
            return None
        local = moment.astimezone(SHANGHAI)
        end = local.replace(
            hour=self.quiet_ends.hour, minute=self.quiet_ends.minute, second=0, microsecond=0
        )
        return end if end > local else end + timedelta(days=1)
