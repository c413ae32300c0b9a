"""The year replay (`make replay`) end to end, as a user runs it: `python -m scripts.replay`
starts the platform of its own (its own store, ports and virtual host), is interrupted part
way through the year (Ctrl-C), and run again goes on where it stopped, sending no step twice;
at the end every figure of the report reads back equal to the expected one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest

from scripts.devstack import ROOT
from scripts.replay.engine import IN_PROGRESS, SCENARIOS
from scripts.servers import RabbitVhost

pytestmark = pytest.mark.e2e

SCALE = "0.005"
INTERRUPT_AFTER = 300  # steps recorded before the Ctrl-C


def replay(out, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWAY_URL", "SCALE")}
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.replay", "--scale", SCALE, "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def recorded_keys(state) -> list[str]:
    lines = state.read_text(encoding="utf-8").splitlines()[1:]
    return [json.loads(line)["k"] for line in lines if line.endswith("}")]


def test_the_year_interrupted_and_run_again_reads_back_every_figure_equal(tmp_path, monkeypatch):
    assert not IN_PROGRESS, f"parts of the year still missing: {sorted(IN_PROGRESS)}"
    vhost = f"unionhub-test-replay-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("REPLAY_VHOST", vhost)
    out, state = tmp_path / "replay", tmp_path / "replay" / "2018.state.jsonl"
    try:
        first = replay(out, "--fresh")
        deadline = time.monotonic() + 240
        while first.poll() is None and time.monotonic() < deadline:
            if state.exists() and len(recorded_keys(state)) >= INTERRUPT_AFTER:
                first.send_signal(signal.SIGINT)
                break
            time.sleep(0.2)
        _, err = first.communicate(timeout=120)
        assert first.returncode == 130, err
        assert "run again to go on" in err
        before = len(recorded_keys(state))

        second = replay(out)
        printed, err = second.communicate(timeout=600)
        assert f"going on from {before:,} steps" in err, err
        assert second.returncode == 0, printed + err

        keys = recorded_keys(state)
        assert [k for k, n in Counter(keys).items() if n > 1] == []  # nothing sent twice
        assert {k.split(":")[0] for k in keys} >= {"partners"}
        document = json.loads((out / "2018.json").read_text(encoding="utf-8"))
        assert document["all_equal"] and document["figures"]
        parts = {f["part"] for f in document["figures"]}
        assert parts == set(SCENARIOS) - {"partners"}  # every part reports figures
        assert all(f["equal"] and f["actual"] == f["expected"] for f in document["figures"])
        assert "| NO" not in printed
        page = (out / "2018.html").read_text(encoding="utf-8")
        assert "年度工作回放报告" in page and "echarts.init" in page
    finally:
        RabbitVhost(vhost).delete()
