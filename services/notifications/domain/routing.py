"""Which channels tell a worker, and where a message goes when a provider refuses it for good.
Plain Python: the worker's contact points and preferences in, channel names out.

The inbox always holds the message (it is the worker's record, read on the city portal).
Besides it, one push message: on the first channel of SMS → WeChat the worker has a contact
point for and has not turned off. A permanent failure falls back along SMS → WeChat → inbox,
skipping a channel the worker cannot be reached on, has turned off, or that already carries
this event (a channel turned on again later never gets the event twice)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

FALLBACK_ORDER = ("sms", "wechat")
INBOX = "inbox"


@dataclass(frozen=True)
class Reach:
    """What notifications knows of a worker: which contact points exist, which channels are on."""

    mobile: bool = False
    wechat: bool = False
    sms_on: bool = True
    wechat_on: bool = True

    def can(self, channel: str) -> bool:
        if channel == "sms":
            return self.mobile and self.sms_on
        if channel == "wechat":
            return self.wechat and self.wechat_on
        return channel == INBOX


NOBODY = Reach()


def push_channels(reach: Reach) -> list[str]:
    """The channel besides the inbox that carries a new message: the first of SMS → WeChat
    the worker can be reached on (none: the inbox alone)."""
    return [channel for channel in FALLBACK_ORDER if reach.can(channel)][:1]


def fallback_after(channel: str, reach: Reach, taken: Collection[str]) -> str:
    """Where a message refused for good on ``channel`` goes next: the next channel of
    SMS → WeChat the worker can be reached on and which does not carry it already, else the
    inbox (which always holds it)."""
    order = list(FALLBACK_ORDER)
    start = order.index(channel) + 1 if channel in order else len(order)
    for candidate in order[start:]:
        if reach.can(candidate) and candidate not in taken:
            return candidate
    return INBOX
