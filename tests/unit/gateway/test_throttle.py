"""The edge's rate limits: strict for failed authentications, generous for signed traffic."""

import pytest
from limits import parse

from services.gateway.throttle import RateLimited, Throttle
from shared.config import load_settings


def throttle(**env) -> Throttle:
    return Throttle(load_settings(env))


def test_failed_authentications_past_the_rate_are_429_per_address():
    edge = throttle(RATE_LIMIT_FAILURES="3/minute")
    assert [edge.failed("10.0.0.1", None) for _ in range(3)] == [None] * 3
    limited = edge.failed("10.0.0.1", None)
    assert isinstance(limited, RateLimited) and limited.status == 429
    assert 1 <= limited.retry_after <= 60
    assert edge.failed("10.0.0.2", None) is None


def test_failed_authentications_for_one_partner_are_limited_across_addresses():
    edge = throttle(RATE_LIMIT_FAILURES="3/minute")
    assert [edge.failed(f"10.0.0.{n}", "H0001") for n in range(3)] == [None] * 3
    assert isinstance(edge.failed("10.0.0.9", "H0001"), RateLimited)
    assert edge.failed("10.0.0.9", "H0002") is None


def test_requests_past_the_rate_are_429_per_address():
    edge = throttle(RATE_LIMIT_REQUESTS="5/minute")
    for _ in range(5):
        edge.admit("10.0.0.1", None)
    with pytest.raises(RateLimited):
        edge.admit("10.0.0.1", None)
    edge.admit("10.0.0.2", None)


def test_forged_requests_do_not_use_up_a_partners_budget():
    edge = throttle(RATE_LIMIT_REQUESTS="5/minute")
    for n in range(20):
        edge.admit(f"10.0.1.{n}", "H0001")  # never answered: forged or refused
    for _ in range(5):
        edge.answered("H0001")
    with pytest.raises(RateLimited):
        edge.admit("10.0.2.1", "H0001")


def test_signed_traffic_is_never_throttled_below_500_a_second_by_default():
    settings = load_settings({})
    rate = parse(settings.rate_limit_requests)
    assert rate.amount / rate.get_expiry() >= 500
    edge = Throttle(settings)
    for _ in range(500):
        edge.admit("10.0.0.1", "H0001")
        edge.answered("H0001")
