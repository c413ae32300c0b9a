"""Rules of per-process liveness: a heartbeat file older than its allowed age, or missing,
fails the probe; a fresh one passes."""

import os
import subprocess
import sys
import time
from pathlib import Path

from shared.config import load_settings
from shared.heartbeat import heartbeat_path, heartbeat_problem

ROOT = Path(__file__).resolve().parents[3]


def _heartbeat(tmp_path: Path, age_seconds: float) -> Path:
    path = tmp_path / "dossiers.heartbeat"
    path.touch()
    touched = time.time() - age_seconds
    os.utime(path, (touched, touched))
    return path


def test_fresh_heartbeat_is_alive(tmp_path):
    assert heartbeat_problem(_heartbeat(tmp_path, 1), max_age_seconds=30) is None


def test_heartbeat_older_than_max_age_is_not_alive(tmp_path):
    problem = heartbeat_problem(_heartbeat(tmp_path, 31), max_age_seconds=30)
    assert problem is not None and "31 s old" in problem


def test_missing_heartbeat_is_not_alive(tmp_path):
    problem = heartbeat_problem(tmp_path / "dossiers.heartbeat", max_age_seconds=30)
    assert problem is not None and "no heartbeat file" in problem


def test_heartbeat_file_is_per_service_under_heartbeat_dir(tmp_path):
    settings = load_settings({"APP_ENV": "test", "HEARTBEAT_DIR": str(tmp_path)})
    assert heartbeat_path(settings, "mutual_aid") == tmp_path / "mutual_aid.heartbeat"
    assert settings.heartbeat_max_age_seconds == 30


def _alive_probe(tmp_path: Path, max_age: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "HEARTBEAT_DIR": str(tmp_path),
        "HEARTBEAT_MAX_AGE_SECONDS": max_age,
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "shared.healthcheck", "alive", "dossiers"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_liveness_probe_fails_past_heartbeat_max_age_setting(tmp_path):
    _heartbeat(tmp_path, 100)
    stale = _alive_probe(tmp_path, "30")
    assert stale.returncode == 1
    assert "dossiers: not alive: heartbeat" in stale.stderr
    assert _alive_probe(tmp_path, "300").returncode == 0, "the age allowed is the setting's"
