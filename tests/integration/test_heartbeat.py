"""A running service process touches its own heartbeat file, again and again (liveness)."""

import dataclasses

import pytest

from services.notifications.service import NotificationsService
from shared.heartbeat import HEARTBEAT_SECONDS, heartbeat_path, heartbeat_problem
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings, tmp_path):
    return dataclasses.replace(settings, heartbeat_dir=str(tmp_path / "heartbeat"))


def test_running_service_touches_its_heartbeat(run_service, settings):
    path = heartbeat_path(settings, "notifications")
    run_service(NotificationsService)

    wait_until(path.exists, timeout=10, what=f"{path} written at start")
    first = path.stat().st_mtime
    wait_until(
        lambda: path.stat().st_mtime > first,
        timeout=HEARTBEAT_SECONDS * 3,
        what=f"{path} touched again",
    )
    assert heartbeat_problem(path, settings.heartbeat_max_age_seconds) is None
