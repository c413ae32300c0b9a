"""Liveness is per process: with two notifications processes up, freezing one fails that one's
liveness probe (its own heartbeat file) while the other's still passes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from scripts.devstack import ROOT
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

# The probe's allowed age: above the 5 s beat, so the live process never flaps.
MAX_AGE = "12"


def alive(stack, heartbeat_dir: str) -> bool:
    """`python -m shared.healthcheck alive notifications`, as the pod's probe runs it."""
    env = {
        **os.environ,
        **stack.env,
        "HEARTBEAT_DIR": heartbeat_dir,
        "HEARTBEAT_MAX_AGE_SECONDS": MAX_AGE,
        "PYTHONPATH": str(ROOT),
    }
    probe = subprocess.run(
        [sys.executable, "-m", "shared.healthcheck", "alive", "notifications"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return probe.returncode == 0


def test_liveness_probe_fails_for_the_frozen_process_only(stack, tmp_path):
    first_dir = stack.env["HEARTBEAT_DIR"]
    second_dir = str(tmp_path / "second-pod")
    second = stack.start_service(
        "notifications", extra_env={"HEARTBEAT_DIR": second_dir}, instance="notifications-2"
    )
    try:
        wait_until(lambda: alive(stack, second_dir), timeout=60, what="the second heartbeat")
        second.send_signal(signal.SIGSTOP)
        wait_until(
            lambda: not alive(stack, second_dir), timeout=60, what="the frozen process to fail"
        )
        assert alive(stack, first_dir), "the running process is alive whatever the other does"
    finally:
        second.send_signal(signal.SIGCONT)
        stack.stop_service("notifications-2")
