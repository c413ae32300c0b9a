"""Quiet hours 22:00–08:00 Asia/Shanghai from the policy file: a non-urgent message is deferred
to 08:00, an urgent type goes at once, the edges are exact."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.notifications.domain.policy import NotificationsPolicy
from shared.events import SHANGHAI
from shared.policy import PolicyError, PolicyStore, parse_policy

POLICY = NotificationsPolicy.from_document(
    PolicyStore.for_service("config/policy", "notifications").versions()[-1]
)
URGENT = NotificationsPolicy(
    version="notifications/test",
    quiet_starts=POLICY.quiet_starts,
    quiet_ends=POLICY.quiet_ends,
    urgent=frozenset({"dossiers.verification_overdue"}),
)


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2018, 5, day, hour, minute, second, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("moment", "send_at"),
    [
        (at(10, 21, 59), None),
        (at(10, 21, 59, 59), None),
        (at(10, 22, 0), at(11, 8, 0)),
        (at(10, 23, 0), at(11, 8, 0)),
        (at(11, 0, 0), at(11, 8, 0)),
        (at(11, 7, 59), at(11, 8, 0)),
        (at(11, 7, 59, 59), at(11, 8, 0)),
        (at(11, 8, 0), None),
        (at(11, 12, 0), None),
    ],
)
def test_quiet_hours_defer_to_eight(moment, send_at):
    assert POLICY.send_at("mutual_aid.claim_decided", moment) == send_at


def test_the_policy_reads_shanghai_wall_time_whatever_the_offset_given():
    utc_three_pm = datetime.fromisoformat("2018-05-10T15:00:00+00:00")  # 23:00 in Shanghai
    assert POLICY.send_at("mutual_aid.claim_decided", utc_three_pm) == at(11, 8, 0)


def test_an_urgent_type_is_sent_at_night():
    assert URGENT.send_at("dossiers.verification_overdue", at(10, 23, 0)) is None
    assert URGENT.send_at("dossiers.dossier_exited", at(10, 23, 0)) == at(11, 8, 0)


def test_the_policy_file_says_hours_and_urgent_types():
    assert (POLICY.quiet_starts.hour, POLICY.quiet_ends.hour) == (22, 8)
    assert POLICY.urgent == frozenset()


def test_a_bad_quiet_hour_is_refused_naming_the_key():
    raw = b'version = "notifications/x"\neffective_from = 2020-01-01\n[quiet_hours]\nstarts = "25:00"\nends = "08:00"\nurgent = []\n'
    with pytest.raises(PolicyError, match="quiet_hours.starts"):
        NotificationsPolicy.from_document(parse_policy(raw, "x.toml"))
