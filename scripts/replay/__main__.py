"""`python -m scripts.replay [--scale 0.05] [--year 2018] [--fresh]` (`make replay SCALE=0.05`).

Replays the year through the HTTP edge, then prints and writes its report (var/replay/). With
GATEWAY_URL (and STAFF_JWT_SECRET) it replays against that platform; otherwise it starts the
platform as `make run` does, on free ports, with its own nx-27017 data under
var/replay/<year>/ and its own RabbitMQ virtual host (REPLAY_VHOST, by default
unionhub-replay-<year>), and stops it at the end. Both are kept
between runs, so an interrupted replay run again goes on where it stopped; --fresh wipes them
and the replay's state and starts the year over. Exits 0 only when every figure is equal.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scripts.devstack import ROOT, Stack, StackError, free_port
from scripts.replay import report
from scripts.replay.city import YEAR
from scripts.replay.engine import Edge, ReplayError, load_scenarios, replay
from scripts.replay.state import Journal, StateError
from scripts.servers import NxServer, RabbitVhost

OUT_DIR = ROOT / "var" / "replay"
# The replay's own stack signs and checks staff tokens with this (never a production secret:
# the stack runs with APP_ENV=development).
OWN_JWT_SECRET = "replay-staff-jwt-secret-of-its-own-stack"


@dataclass(frozen=True)
class Platform:
    url: str
    jwt_secret: str
    identity: str  # which platform the state belongs to (its data dir's id, or the URL)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.replay", description=__doc__)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("SCALE") or 1))
    parser.add_argument("--year", type=int, default=YEAR)
    parser.add_argument("--fresh", action="store_true", help="start the year over")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where state and report go")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error(f"--scale must be above 0 and at most 1, got {args.scale:g}")
    if args.year != YEAR:
        parser.error(f"the city is drawn for {YEAR} only (--year {args.year})")
    return args


def say(message: str) -> None:
    print(f"replay: {message}", file=sys.stderr, flush=True)


@contextmanager
def given_platform() -> Iterator[Platform]:
    """The running platform GATEWAY_URL names (its STAFF_JWT_SECRET is needed to sign)."""
    url, secret = os.environ["GATEWAY_URL"], os.environ.get("STAFF_JWT_SECRET")
    if not secret:
        raise SystemExit("replay: GATEWAY_URL is set, so STAFF_JWT_SECRET must be too")
    yield Platform(url, secret, url)


def wipe_own(data_dir: Path, vhost: RabbitVhost) -> None:
    """Forget the replay's own platform: its store's files and its virtual host."""
    shutil.rmtree(data_dir, ignore_errors=True)
    try:
        vhost.delete()
    except (subprocess.CalledProcessError, OSError):
        pass  # not there, or no broker yet: nothing to forget


@contextmanager
def own_platform(data_dir: Path, vhost_name: str, fresh: bool) -> Iterator[Platform]:
    """The platform started as `make run` starts it, on its own ports, store and vhost."""
    vhost = RabbitVhost(vhost_name)
    if fresh:
        wipe_own(data_dir, vhost)
    data_dir.mkdir(parents=True, exist_ok=True)
    identity_file = data_dir / "platform-id"
    if not identity_file.exists():
        identity_file.write_text(uuid.uuid4().hex)
    env = {
        "APP_ENV": "development",
        "ALLOW_BACKDATED_INPUT": "true",  # the year's business dates are honoured as sent
        "GATEWAY_PORT": str(free_port()),
        "STAFF_JWT_SECRET": OWN_JWT_SECRET,
        # One client sends the whole year from 127.0.0.1: the limiter must never refuse it.
        "RATE_LIMIT_REQUESTS": "1000000/second",
        "RATE_LIMIT_FAILURES": "1000000/minute",
        # The whole year pushed through a small machine: a service slowed by the load answers
        # late rather than never, and a 503 for a staff step would stop the replay (its effect
        # unknown, it cannot be sent again blindly). Below the engine's HTTP timeout.
        "RPC_TIMEOUT_SECONDS": "30",
    }
    nx = NxServer(data_dir / "nx")
    stack = Stack(data_dir, env)
    try:
        stack.ensure_rabbit()  # starts a local broker when none answers
        env["AMQP_URI"] = vhost.create()
        env["MONGO_URI"] = nx.start()
        say(f"starting the platform (logs in {stack.log_dir})")
        stack.start()
        say(f"platform up at {stack.gateway_url}")
        yield Platform(stack.gateway_url, OWN_JWT_SECRET, identity_file.read_text())
    finally:
        stack.stop()
        nx.stop()


def run(
    args: argparse.Namespace, scenarios: list | None = None, vhost_name: str | None = None
) -> int:
    """The replay and its report; ``scenarios`` and ``vhost_name`` let a test replay a year of
    its own on a virtual host of its own."""
    scenarios = load_scenarios(warn=say) if scenarios is None else scenarios
    state_path = args.out / f"{args.year}.state.jsonl"
    if "GATEWAY_URL" in os.environ:
        platform = given_platform()
    else:
        vhost_name = vhost_name or os.environ.get("REPLAY_VHOST") or f"unionhub-replay-{args.year}"
        platform = own_platform(args.out / str(args.year), vhost_name, args.fresh)
    with platform as target:
        header = {"year": args.year, "scale": args.scale, "platform": target.identity}
        journal = Journal(state_path, header, fresh=args.fresh)
        try:
            if journal.sent:
                say(f"going on from {len(journal.sent):,} steps sent before ({state_path})")
            edge = Edge(target.url, target.jwt_secret, journal.saved)
            outcome = replay(scenarios, edge, journal, scale=args.scale)
        finally:
            journal.close()
        if outcome.interrupted:
            say(f"interrupted after {outcome.sent:,} steps; run again to go on")
            return 130
        say(f"sent {outcome.sent:,} steps in {outcome.seconds:,.1f} s; reading the report")
        lines = report.read_until_settled(lambda: report.collect(scenarios, edge, args.scale))
        charts = [chart for scenario in scenarios for chart in scenario.charts(edge)]
    print(report.table(lines), flush=True)
    json_path = report.write_json(
        args.out / f"{args.year}.json", lines, year=args.year, scale=args.scale
    )
    html_path = report.write_html(
        args.out / f"{args.year}.html", lines, charts, year=args.year, scale=args.scale
    )
    say(f"wrote {json_path} and {html_path}")
    differ = report.differing(lines)
    if differ or not lines:
        say("figures differ: " + (", ".join(differ) or "no figure was read back"))
    return report.exit_status(lines)


def main(argv: list[str]) -> int:
    args = parse(argv)

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    # Stopping and going on is how the year is meant to be run: Ctrl-C (or `kill -INT`) stops
    # it even when it was started from a script in the background, where the shell set SIGINT
    # to be ignored and Python, finding it ignored, would have left it so.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return run(args)
    except (ReplayError, StateError, StackError, FileNotFoundError) as exc:
        say(str(exc))
        return 2
    except KeyboardInterrupt:
        say("interrupted; run again to go on")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
