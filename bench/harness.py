"""The bench harness: an isolated stack, HTTP load loops, percentiles, the table and the JSON."""

from __future__ import annotations

import http.client
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.devstack import ROOT, Stack, free_port, start_nx
from shared.config import Settings, load_settings

RESULTS_DIR = ROOT / "bench" / "results"
RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672
HTTP_TIMEOUT_SECONDS = 30.0

_started = time.monotonic()


class HarnessError(RuntimeError):
    """The harness itself could not run (not a missed goal): `python -m bench` exits 1."""


def progress(message: str) -> None:
    """One progress line on stderr, so stdout carries only the table."""
    print(f"[bench {time.monotonic() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


# ---- statistics -----------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50/p90/p99/max of a list of latencies, in milliseconds."""
    return {
        "count": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p90_ms": round(percentile(seconds, 90) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2) if seconds else math.nan,
    }


# ---- results --------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a metric, its value and, for a figure, its goal."""

    metric: str
    value: float
    unit: str
    baseline: float | None = None  # the baseline value the ratio is taken against
    baseline_label: str = ""
    goal: str = ""  # human text, e.g. ">= 0.5 x raw_store" or "<= 50 ms"
    ok: bool | None = None  # None: a baseline or an informative figure, no goal

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0) or math.isnan(self.value):
            return None
        return self.value / self.baseline

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": _json_number(self.value),
            "unit": self.unit,
            "baseline": _json_number(self.baseline),
            "baseline_label": self.baseline_label or None,
            "ratio": _json_number(self.ratio),
            "goal": self.goal or None,
            "ok": self.ok,
        }


def _json_number(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(value, 4)


def at_least_ratio(
    metric: str, value: float, unit: str, baseline: float, label: str, factor: float
) -> Row:
    """A throughput row whose goal is value >= factor x baseline."""
    return Row(
        metric,
        value,
        unit,
        baseline=baseline,
        baseline_label=label,
        goal=f">= {factor:g} x {label}",
        ok=(not math.isnan(value)) and value >= factor * baseline,
    )


def at_most(metric: str, value: float, unit: str, limit: float) -> Row:
    """A row whose goal is value <= limit (latency, memory)."""
    return Row(
        metric,
        value,
        unit,
        goal=f"<= {limit:g} {unit}",
        ok=(not math.isnan(value)) and value <= limit,
    )


@dataclass
class Result:
    name: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # for other benchmarks to read

    def write(self) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        document = {
            "name": self.name,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "rows": [row.to_dict() for row in self.rows],
            "details": self.details,
        }
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n")
        return path


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def render_table(results: list[Result]) -> str:
    header = ("name", "metric", "value", "baseline", "ratio", "goal", "ok")
    lines = []
    for result in results:
        for row in result.rows:
            baseline = (
                f"{_fmt(row.baseline)} ({row.baseline_label})" if row.baseline is not None else "-"
            )
            ratio = _fmt(row.ratio) if row.ratio is not None else "-"
            ok = "-" if row.ok is None else ("yes" if row.ok else "no")
            lines.append(
                (
                    result.name,
                    row.metric,
                    _fmt(row.value, row.unit),
                    baseline,
                    ratio,
                    row.goal or "-",
                    ok,
                )
            )
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]

    def fmt_line(cells) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt_line(header), rule, *(fmt_line(line) for line in lines)])


# ---- the isolated environment -----------------------------------------------------------------


def rabbitmqctl(*args: str) -> str:
    try:
        done = subprocess.run(
            ["rabbitmqctl", *args], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HarnessError(f"rabbitmqctl {' '.join(args)} failed: {exc}") from exc
    if done.returncode != 0:
        raise HarnessError(
            f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout


class Environment:
    """Own nx-27017 on a free port, own RabbitMQ vhost, and the stack on a free gateway port."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="unionhub-bench-"))
        self.vhost = f"bench-{secrets.token_hex(4)}"
        self.vhost_created = False
        self.nx: subprocess.Popen | None = None
        self.stack: Stack | None = None
        self.mongo_uri = ""
        self.amqp_uri = f"pyamqp://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{self.vhost}"
        self.gateway_port = 0
        self.settings: Settings | None = None
        self.counts_dir = self.tmp / "mongo-counts"
        self.notifications_clock = str(self.tmp / "notifications.clock")

    def start(self) -> None:
        nx_port = free_port()
        progress(f"starting nx-27017 on 127.0.0.1:{nx_port} (data in {self.tmp})")
        try:
            self.nx = start_nx(self.tmp / "nx-data", nx_port, self.tmp / "log")
        except Exception as exc:  # noqa: BLE001 - StackError or OSError: the harness cannot run
            raise HarnessError(f"nx-27017 did not start: {exc}") from exc
        self.mongo_uri = f"mongodb://127.0.0.1:{nx_port}"

        progress(f"creating RabbitMQ vhost {self.vhost}")
        rabbitmqctl("add_vhost", self.vhost)
        self.vhost_created = True
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")

        self.gateway_port = free_port()
        env = {
            "GATEWAY_PORT": str(self.gateway_port),
            "MONGO_URI": self.mongo_uri,
            "AMQP_URI": self.amqp_uri,
            "APP_ENV": "development",
            # All load comes from 127.0.0.1, faster than one client's default rate: the limiter
            # still counts every request (its cost is in the figures) but never refuses one.
            "RATE_LIMIT_REQUESTS": "1000000/second",
            # Every service process counts its MongoDB commands here (commands_per_bill).
            "MONGO_COMMAND_COUNTS_DIR": str(self.counts_dir),
            # The notifications service's test clock (empty: the wall clock); notify_fanout
            # runs it from noon so quiet hours never defer what it measures.
            "NOTIFICATIONS_CLOCK_FILE": self.notifications_clock,
        }
        # What the services will read: our variables over the caller's environment.
        self.settings = load_settings({**os.environ, **env})
        self.stack = Stack(var_dir=self.tmp, env=env)
        progress(f"starting the stack (gateway on 127.0.0.1:{self.gateway_port})")
        try:
            self.stack.start()
        except Exception as exc:  # noqa: BLE001 - StackError or OSError: the harness cannot run
            raise HarnessError(
                f"the stack did not start: {exc}; logs in {self.tmp / 'log'}"
            ) from exc
        progress("stack healthy: " + ", ".join(f"{n}={p.pid}" for n, p in self.processes.items()))

    @property
    def processes(self) -> dict[str, subprocess.Popen]:
        return dict(self.stack.processes) if self.stack else {}

    def database_name(self, service: str) -> str:
        return self.settings.database_name(service)

    def report_log_problems(self) -> None:
        """Name the services that logged warnings or errors: a benchmark must not hide them."""
        for log_file in sorted((self.tmp / "log").glob("*.log")):
            counts: dict[str, int] = {}
            first: dict[str, str] = {}
            for line in log_file.read_text(errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    entry = {"level": "ERROR" if "Traceback" in line else ""}
                level = entry.get("level", "") if isinstance(entry, dict) else ""
                if level in ("WARNING", "ERROR", "CRITICAL"):
                    counts[level] = counts.get(level, 0) + 1
                    first.setdefault(level, line[:300])
            for level, count in counts.items():
                progress(f"{log_file.stem} logged {count} {level} lines; first: {first[level]}")

    def stop(self, keep_logs: bool = False) -> None:
        if self.stack is not None:
            self.report_log_problems()
            progress("stopping the stack")
            try:
                self.stack.stop()
            except Exception as exc:  # noqa: BLE001 - go on cleaning up the rest
                progress(f"stopping the stack failed: {exc!r}")
        if self.nx is not None and self.nx.poll() is None:
            self.nx.send_signal(signal.SIGTERM)
            try:
                self.nx.wait(15)
            except subprocess.TimeoutExpired:
                self.nx.kill()
                self.nx.wait()
        if self.vhost_created:
            try:
                rabbitmqctl("delete_vhost", self.vhost)
                progress(f"deleted RabbitMQ vhost {self.vhost}")
            except HarnessError as exc:
                progress(str(exc))
        if keep_logs:
            progress(f"kept logs and data in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---- HTTP load ------------------------------------------------------------------------------


class HttpClient:
    """One keep-alive HTTP/1.1 connection to the gateway (one per load thread)."""

    def __init__(self, port: int):
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=HTTP_TIMEOUT_SECONDS
                    )
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return response.status, data
            except (http.client.HTTPException, OSError):
                # A keep-alive connection the server closed: one fresh attempt. Safe for our
                # POSTs: a signed bill is idempotent on its webhook-id.
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, payload: Any = None, headers: dict | None = None):
        body = None if payload is None else json.dumps(payload).encode()
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        status, data = self.request(method, path, body, all_headers)
        try:
            decoded = json.loads(data) if data else None
        except ValueError:
            decoded = data.decode(errors="replace")
        return status, decoded

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


@dataclass
class Sample:
    index: int
    status: int  # 0: the request raised
    sent_at: float  # wall clock (time.time()) when the request left
    scheduled_at: float  # wall clock of its slot (== sent_at in a closed loop)
    latency: float  # seconds, from sent_at to the full answer
    body: bytes = b""

    @property
    def corrected_latency(self) -> float:
        """From the scheduled slot: counts the wait of a request that could not leave in time."""
        return self.latency + (self.sent_at - self.scheduled_at)


@dataclass
class LoadRun:
    samples: list[Sample]
    elapsed: float  # seconds from the first slot to the last answer

    def with_status(self, *statuses: int) -> list[Sample]:
        return [s for s in self.samples if s.status in statuses]

    def errors(self, *good: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for sample in self.samples:
            if sample.status not in good:
                counts[str(sample.status)] = counts.get(str(sample.status), 0) + 1
        return counts


Request = Callable[[HttpClient, int], tuple[int, bytes]]


def run_load(
    port: int,
    request: Request,
    *,
    total: int,
    clients: int,
    max_seconds: float,
    rate: float | None = None,
) -> LoadRun:
    """Send up to ``total`` requests from ``clients`` threads, for at most ``max_seconds``.

    Closed loop when ``rate`` is None (each client sends as soon as its last answer came);
    otherwise paced: request k is due at start + k / rate whichever client takes it, and a
    request that leaves late keeps its slot time (see Sample.corrected_latency)."""
    lock = threading.Lock()
    next_index = [0]
    samples: list[Sample] = []
    start = deadline = 0.0  # set just before the threads start

    def take() -> int | None:
        with lock:
            index = next_index[0]
            if index >= total:
                return None
            next_index[0] += 1
            return index

    def worker() -> None:
        client = HttpClient(port)
        local: list[Sample] = []
        try:
            while True:
                index = take()
                if index is None:
                    break
                scheduled = start + index / rate if rate else time.time()
                if scheduled >= deadline or time.time() >= deadline:
                    break
                delay = scheduled - time.time()
                if delay > 0:
                    time.sleep(delay)
                sent = time.time()
                try:
                    status, body = request(client, index)
                except (http.client.HTTPException, OSError):
                    status, body = 0, b""
                local.append(Sample(index, status, sent, scheduled, time.time() - sent, body))
        finally:
            client.close()
            with lock:
                samples.extend(local)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    start = time.time() + (0.02 if rate else 0.0)
    deadline = start + max_seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max_seconds + HTTP_TIMEOUT_SECONDS + 10)
    end = max((s.sent_at + s.latency for s in samples), default=start)
    samples.sort(key=lambda s: s.index)
    return LoadRun(samples, max(end - start, 1e-9))


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass; returns its last answer."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass
class Context:
    """What the benchmarks of one run share: the environment, earlier results, fixtures."""

    env: Environment
    results: dict[str, Result] = field(default_factory=dict)
    fixtures: dict[str, Any] = field(default_factory=dict)

    def metric(self, benchmark: str, name: str) -> float:
        return self.results[benchmark].metrics[name]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each process of the environment (and the bench itself) spends in a block."""

    def __init__(self, env: Environment):
        self.pids = {name: p.pid for name, p in env.processes.items()}
        if env.nx is not None:
            self.pids["nx-27017"] = env.nx.pid
        self.pids["bench (clients)"] = os.getpid()
        self.used: dict[str, float] = {}
        self.wall = 0.0

    def __enter__(self) -> CpuMeter:
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._wall = time.monotonic()
        return self

    def __exit__(self, *exc_info) -> None:
        self.wall = time.monotonic() - self._wall
        self.used = {
            name: round(cpu_seconds(pid) - self._start[name], 2) for name, pid in self.pids.items()
        }

    def summary(self) -> dict[str, Any]:
        """CPU seconds per process and as a share of one core over the block's wall time."""
        return {
            "wall_s": round(self.wall, 2),
            "cpu_s": self.used,
            "cores_busy": round(sum(self.used.values()) / self.wall, 2) if self.wall else None,
        }

    def line(self) -> str:
        return ", ".join(f"{n} {s:.1f}" for n, s in self.used.items()) + " CPU s"
