"""The preference × fallback matrix: which channels carry a new message, and where one refused
for good goes next (SMS → WeChat → inbox), honouring what the worker turned off."""

from __future__ import annotations

import itertools

import pytest

from services.notifications.domain.routing import Reach, fallback_after, push_channels


def reach(mobile, wechat, sms_on, wechat_on):
    return Reach(mobile=mobile, wechat=wechat, sms_on=sms_on, wechat_on=wechat_on)


MATRIX = list(itertools.product([True, False], repeat=4))


@pytest.mark.parametrize(("mobile", "wechat", "sms_on", "wechat_on"), MATRIX)
def test_the_push_channel_is_the_first_reachable_and_on(mobile, wechat, sms_on, wechat_on):
    expected = []
    if mobile and sms_on:
        expected.append("sms")
    elif wechat and wechat_on:
        expected.append("wechat")
    assert push_channels(reach(mobile, wechat, sms_on, wechat_on)) == expected


@pytest.mark.parametrize(("mobile", "wechat", "sms_on", "wechat_on"), MATRIX)
def test_a_refused_sms_falls_to_wechat_only_when_reachable_on_and_unused(
    mobile, wechat, sms_on, wechat_on
):
    worker = reach(mobile, wechat, sms_on, wechat_on)
    taken = set(push_channels(worker)) | {"inbox"}
    fresh = fallback_after("sms", worker, {"sms", "inbox"})
    assert fresh == ("wechat" if wechat and wechat_on else "inbox")
    # WeChat carries the event already (both channels on): the inbox holds it.
    assert fallback_after("sms", worker, taken) == (
        "wechat" if wechat and wechat_on and "wechat" not in taken else "inbox"
    )


@pytest.mark.parametrize(("mobile", "wechat", "sms_on", "wechat_on"), MATRIX)
def test_a_refused_wechat_falls_to_the_inbox(mobile, wechat, sms_on, wechat_on):
    worker = reach(mobile, wechat, sms_on, wechat_on)
    assert fallback_after("wechat", worker, {"wechat", "inbox"}) == "inbox"


def test_a_worker_notifications_knows_nothing_of_has_the_inbox_only():
    assert push_channels(Reach()) == []
    assert fallback_after("sms", Reach(), set()) == "inbox"
