"""year_replay: the Longyan year (scripts/replay) replayed through the HTTP edge, timed.

On a platform of its own, started as `make replay` starts it (a fresh store and virtual host):
the other benchmarks' data would otherwise be counted in the year's figures, and the replay's
hospitals would already be registered. Reports the wall time of the replay and of reading the
report back, the steps per second beside ``raw_store`` inserts per second (the ratio), and
whether every figure came out equal. ``REPLAY_BENCH_SCALE`` sets the share of the year
(default 0.01; ``REPLAY_BENCH_SCALE=1`` for the full year, hours on this machine)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from bench.harness import Context, HarnessError, Result, Row, progress
from scripts.replay import report
from scripts.replay.__main__ import own_platform
from scripts.replay.engine import Edge, Progress, load_scenarios, replay
from scripts.replay.state import Journal
from scripts.servers import RabbitVhost

DEFAULT_SCALE = 0.01


def year_replay(ctx: Context) -> Result:
    scale = float(os.environ.get("REPLAY_BENCH_SCALE") or DEFAULT_SCALE)
    scenarios = load_scenarios(warn=progress)
    base = Path(tempfile.mkdtemp(prefix="unionhub-replay-bench-"))
    vhost = RabbitVhost(f"bench-replay-{uuid.uuid4().hex[:8]}")
    progress(f"year_replay: scale {scale:g}, parts {', '.join(s.name for s in scenarios)}")
    try:
        with own_platform(base / "platform", vhost.name, fresh=True) as target:
            journal = Journal(base / "state.jsonl", {"year": 2018, "scale": scale}, fresh=True)
            edge = Edge(target.url, target.jwt_secret, journal.saved)
            try:
                outcome = replay(scenarios, edge, journal, scale=scale, progress=Progress())
            finally:
                journal.close()
            if outcome.interrupted:
                raise HarnessError("year_replay was interrupted")
            started = time.perf_counter()
            lines = report.read_until_settled(lambda: report.collect(scenarios, edge, scale))
            settle = time.perf_counter() - started
    finally:
        try:
            vhost.delete()
        except Exception as exc:  # noqa: BLE001 - cleaning up: report, go on
            progress(f"year_replay: deleting {vhost.name} failed: {exc!r}")
        shutil.rmtree(base, ignore_errors=True)

    inserts = ctx.results["raw_store"].metrics["inserts_per_s"]
    steps_per_s = outcome.sent / outcome.seconds if outcome.seconds else float("nan")
    equal = sum(line.equal for line in lines)
    result = Result("year_replay")
    result.rows = [
        Row(f"wall time, scale {scale:g}", outcome.seconds + settle, "s"),
        Row(
            "steps/s through the edge",
            steps_per_s,
            "/s",
            baseline=inserts,
            baseline_label="raw_store inserts/s",
        ),
        Row(
            "figures equal",
            equal,
            f"of {len(lines)}",
            goal="all equal",
            ok=bool(lines) and equal == len(lines),
        ),
    ]
    result.details = {
        "scale": scale,
        "parts": [s.name for s in scenarios],
        "steps": outcome.sent,
        "replay_s": outcome.seconds,
        "report_settle_s": settle,
        "raw_store_inserts_per_s": inserts,
        "differing": report.differing(lines),
        "figures": [
            {"name": line.name, "expected": line.expected, "actual": line.actual} for line in lines
        ],
    }
    progress(
        f"year_replay: {outcome.sent:,} steps in {outcome.seconds:,.1f} s "
        f"({steps_per_s:,.1f}/s), {equal}/{len(lines)} figures equal"
    )
    return result
