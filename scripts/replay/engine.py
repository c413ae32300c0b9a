"""The replayer: every scenario's steps merged in date order and sent through the HTTP edge.

Each scenario yields its steps in ``(on, wave)`` order; ``merged`` interleaves them lazily
(``heapq.merge``), so a full year is never held in memory. Steps sharing ``(on, wave)`` form
a group, sent by a small thread pool; the next group starts once the whole group is answered,
so a step may use what any earlier group saved. Every answered step is recorded in the
``Journal`` (``state.py``): a run interrupted at any point goes on where it stopped.
"""

from __future__ import annotations

import hashlib
import heapq
import importlib
import itertools
import json
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from typing import Any

import requests

from scripts.replay.city import YEAR, City
from scripts.replay.model import Actor, Partner, Staff, Step
from scripts.replay.state import Journal
from shared.auth import mint_staff_token
from shared.webhooks import sign_webhook

# Every part of the year, in one place: the modules of scripts/replay/scenarios.
SCENARIOS = ("partners", "dossiers", "mutual_aid", "student_aid", "jobs")
# Parts still being written on other branches: skipped with a warning while missing (all have
# landed: a missing one is an error). Name a new part here while it is being written.
IN_PROGRESS: frozenset[str] = frozenset()

# The city platform's routes name no partner in their path: the signer names itself here.
PARTNER_HEADER = "X-Partner-Code"
HTTP_TIMEOUT_SECONDS = 60.0
WORKERS = 8
WAIT_SLICE_SECONDS = 0.2  # how soon a Ctrl-C is seen while a group is in flight
TOKEN_TTL_SECONDS = 3600
CITY_ADMIN = Staff("city_admin")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class ReplayError(RuntimeError):
    """The replay cannot go on: a step's answer was not what the year expects."""


# ---- scenarios --------------------------------------------------------------------------------


def load_scenarios(names: Iterable[str] = SCENARIOS, *, warn=print) -> list[Any]:
    """The ``SCENARIO`` of each named module; a module still IN_PROGRESS and not yet on this
    branch is skipped with a warning (any other import error is raised)."""
    loaded = []
    for name in names:
        module_name = f"scripts.replay.scenarios.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name and name in IN_PROGRESS:
                warn(f"scenario {name} is not written yet; the year runs without it")
                continue
            raise
        loaded.append(module.SCENARIO)
    return loaded


def order_key(step: Step, priority: int, rank: int, seq: int) -> tuple:
    """How steps are sent: by date, wave, scenario priority, then (for two scenarios of the
    same priority) the scenario's place in SCENARIOS, then each scenario's own order."""
    return (step.on, step.wave, priority, rank, seq)


def _keyed(scenario: Any, rank: int, city: City, scale: float) -> Iterator[tuple[tuple, str, Step]]:
    """A scenario's steps with their order keys and its name, checking the scenario keeps
    (on, wave) order: heapq.merge would otherwise send a late step early without a word."""
    last = None
    for seq, step in enumerate(scenario.steps(city, scale)):
        if last is not None and (step.on, step.wave) < last:
            raise ReplayError(
                f"scenario {scenario.name} yielded step {step.key} ({step.on}, wave {step.wave}) "
                f"after one of {last}: a scenario must yield its steps in (on, wave) order"
            )
        last = (step.on, step.wave)
        yield order_key(step, scenario.priority, rank, seq), scenario.name, step


def merged(scenarios: list[Any], city: City, scale: float) -> Iterator[tuple[str, Step]]:
    """Every step of the year as ``(scenario name, step)``, in sending order, lazily."""
    streams = [_keyed(scenario, rank, city, scale) for rank, scenario in enumerate(scenarios)]
    for _, name, step in heapq.merge(*streams, key=lambda item: item[0]):
        yield name, step


def groups(steps: Iterator[tuple[str, Step]]) -> Iterator[list[tuple[str, Step]]]:
    """Runs of steps sharing (on, wave): what may be sent at the same time."""
    for _, group in itertools.groupby(steps, key=lambda item: (item[1].on, item[1].wave)):
        yield list(group)


# ---- placeholders and saved answers -----------------------------------------------------------


def fill(value: Any, saved: dict[str, Any], key: str = "") -> Any:
    """``value`` with every ``{name}`` replaced by the saved answer ``name``, through dicts and
    lists. A string that is one placeholder and nothing else takes the saved value as it is
    (an id stays an int if it was one); inside a longer string it is written as text."""
    if isinstance(value, dict):
        return {k: fill(v, saved, key) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, saved, key) for v in value]
    if not isinstance(value, str) or "{" not in value:
        return value

    def lookup(name: str) -> Any:
        if name not in saved:
            raise ReplayError(
                f"step {key} needs {{{name}}}, which no earlier step saved (a placeholder may "
                "only name an answer of an earlier (on, wave))"
            )
        return saved[name]

    whole = _PLACEHOLDER.fullmatch(value)
    if whole:
        return lookup(whole.group(1))
    return _PLACEHOLDER.sub(lambda match: str(lookup(match.group(1))), value)


def pick(answer: Any, dotted: str) -> Any:
    """The value at a dotted path of a JSON answer (``"items.0.id"``); KeyError if absent."""
    value = answer
    for part in dotted.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(dotted)
    return value


def webhook_id(step_key: str) -> str:
    """The same id for the same step on every run, so a step sent twice has one effect."""
    return "msg_" + hashlib.sha256(step_key.encode()).hexdigest()[:32]


# ---- the edge -----------------------------------------------------------------------------------


class Edge:
    """Requests to the gateway as a staff member (a minted token) or as a partner (signed with
    its saved secret); one ``requests.Session`` per thread. Also the ``model.Api`` that
    scenarios read the year back through."""

    def __init__(self, base_url: str, jwt_secret: str, secrets: dict[str, Any]):
        self.base_url = base_url.rstrip("/")
        self.jwt_secret = jwt_secret
        self.secrets = secrets  # the saved answers, where each partner's "secret:<code>" is
        self._local = threading.local()
        self._tokens: dict[Staff, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def token(self, staff: Staff) -> str:
        """A token for this staff member, minted again when half its life has passed."""
        with self._lock:
            token, minted = self._tokens.get(staff, ("", 0.0))
            if time.time() - minted > TOKEN_TTL_SECONDS / 2:
                token = mint_staff_token(
                    self.jwt_secret,
                    sub=staff.sub or f"replay-{staff.role}",
                    role=staff.role,
                    org=staff.org,
                    ttl_seconds=TOKEN_TTL_SECONDS,
                )
                self._tokens[staff] = (token, time.time())
            return token

    def headers(self, actor: Actor, data: bytes | None, message_id: str) -> dict[str, str]:
        if isinstance(actor, Staff):
            return {"Authorization": f"Bearer {self.token(actor)}"}
        secret = self.secrets.get(f"secret:{actor.code}")
        if secret is None:
            raise ReplayError(
                f"no secret saved for partner {actor.code}: the partners scenario registers "
                "it on the year's first day (is it in SCENARIOS?)"
            )
        timestamp = int(time.time())
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_webhook(secret, message_id, timestamp, data or b""),
            PARTNER_HEADER: actor.code,
        }

    def send(
        self, actor: Actor, method: str, path: str, body: Any = None, message_id: str = ""
    ) -> requests.Response:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = self.headers(actor, data, message_id or f"msg_{uuid.uuid4().hex}")
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self.session.request(
            method, self.base_url + path, data=data, headers=headers, timeout=HTTP_TIMEOUT_SECONDS
        )

    # model.Api

    def request(self, actor: Actor, method: str, path: str, body: Any = None) -> Any:
        return self.send(actor, method, path, body)

    def get(self, path: str, actor: Actor = CITY_ADMIN) -> Any:
        response = self.send(actor, "GET", path)
        if response.status_code != 200:
            raise ReplayError(f"GET {path} answered {response.status_code}: {response.text[:500]}")
        return response.json()


# ---- sending steps ------------------------------------------------------------------------------


def _answer(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _retry_after(response: requests.Response | None, delay: float) -> float:
    if response is not None and response.status_code == 429:
        try:
            return max(delay, float(response.headers.get("Retry-After", delay)))
        except ValueError:
            return delay
    return delay


def send_step(edge: Edge, step: Step, saved: dict[str, Any]) -> dict[str, Any]:
    """Send one step (placeholders filled), retrying what it lists as "not yet" (and a 429,
    and a dropped connection or a 503 for a request that is safe to repeat) with backoff up to its
    ``retry_seconds``; the values it saves. Raises ReplayError on any other answer."""
    path = fill(step.path, saved, step.key)
    body = fill(step.body, saved, step.key)
    repeatable = step.method == "GET" or isinstance(step.actor, Partner)
    deadline = time.monotonic() + step.retry_seconds
    delay = 0.1
    while True:
        response = None
        try:
            response = edge.send(step.actor, step.method, path, body, webhook_id(step.key))
            status = response.status_code
        except requests.RequestException as exc:  # no answer: refused, dropped, timed out
            if not repeatable or time.monotonic() > deadline:
                raise ReplayError(f"step {step.key}: {step.method} {path} failed: {exc}") from exc
            status = None
        if status in step.expect:
            return _saved_values(step, status, _answer(response))
        # 503: a service behind the gateway did not answer. A signed step or a GET is safe to
        # send again; a staff step is not (its effect may have happened), so it stops the replay.
        again = (
            status is None
            or status in step.retry
            or status == 429
            or (status == 503 and repeatable)
        )
        if not again or time.monotonic() > deadline:
            raise ReplayError(_unexpected(step, path, response))
        time.sleep(_retry_after(response, delay))
        delay = min(delay * 2, 5.0)


def _saved_values(step: Step, status: int, answer: Any) -> dict[str, Any]:
    values = {}
    for name, dotted in step.save.items():
        try:
            values[name] = pick(answer, dotted)
        except KeyError:
            raise ReplayError(
                f"step {step.key} answered {status} without {dotted!r} to save as {name!r}: "
                f"{json.dumps(answer, ensure_ascii=False)[:500]}"
            ) from None
    return values


def _unexpected(step: Step, path: str, response: requests.Response) -> str:
    text = (
        f"step {step.key} ({step.on}): {step.method} {path} answered {response.status_code}, "
        f"expected {' or '.join(map(str, step.expect))}: {response.text[:800]}"
    )
    if response.status_code == 409 and step.save:
        text += (
            "\nThe platform already holds what this step creates, but this replay's state has "
            "no record of it (nor of what it saved): replay against a fresh platform (without "
            "GATEWAY_URL the replay starts its own, and --fresh wipes it)."
        )
    return text


# ---- the run --------------------------------------------------------------------------------


@dataclass
class Outcome:
    sent: int  # steps sent by this run
    skipped: int  # steps an earlier run had sent
    seconds: float
    interrupted: bool = False


class Progress:
    """One line on stderr: the date reached, steps sent per scenario, rate and ETA (from the
    share of the year done, as a full count would cost a second pass over every scenario)."""

    def __init__(self, year: int = YEAR, stream=sys.stderr, every: float | None = None):
        self.year_start = date(year, 1, 1).toordinal()
        self.days = date(year + 1, 1, 1).toordinal() - self.year_start
        self.stream = stream
        self.tty = stream.isatty()
        # Unless told: twice a second on a terminal, every 10 s into a log.
        self.every = every if every is not None else (0.5 if self.tty else 10.0)
        self.started = time.monotonic()
        self.last = 0.0
        self.counts: Counter[str] = Counter()
        self.sent = 0
        self.first_fraction: float | None = None

    def update(self, on: date, names: Iterable[str], sent: int, force: bool = False) -> None:
        self.counts.update(names)
        self.sent += sent
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        fraction = min(1.0, max(0.0, (on.toordinal() - self.year_start + 1) / self.days))
        if self.first_fraction is None:
            self.first_fraction = fraction  # a resumed run starts part way through the year
        elapsed = now - self.started
        rate = self.sent / elapsed if elapsed > 0 else 0.0
        done = fraction - self.first_fraction
        eta = elapsed * (1 - fraction) / done if done > 0 else None
        bar = "#" * int(fraction * 20)
        parts = " ".join(f"{name} {count:,}" for name, count in self.counts.items())
        line = (
            f"{on} [{bar:<20}] {fraction:4.0%} | {parts} | {rate:,.1f} steps/s | "
            f"ETA {_duration(eta) if eta is not None else '?'}"
        )
        end = "\r" if self.tty and not force else "\n"
        print(line.ljust(100), end=end, file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


def replay(
    scenarios: list[Any],
    edge: Edge,
    journal: Journal,
    *,
    scale: float,
    city: City | None = None,
    workers: int = WORKERS,
    progress: Progress | None = None,
) -> Outcome:
    """Send every step not yet recorded in ``journal``, group by group. On Ctrl-C the steps in
    flight are answered and recorded before it stops (a kill -9 may lose their lines)."""
    city = city or City()
    progress = progress or Progress()
    started, before = time.monotonic(), len(journal.sent)
    seen: set[str] = set()
    on = date(YEAR, 1, 1)

    def outcome(interrupted: bool = False) -> Outcome:
        sent = len(journal.sent) - before
        return Outcome(sent, len(seen) - sent, time.monotonic() - started, interrupted)

    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replay") as pool:
        try:
            for group in groups(merged(scenarios, city, scale)):
                on = group[0][1].on
                _check_unique(group, seen)
                todo = [(name, step) for name, step in group if step.key not in journal.sent]

                def answered(name: str, on: date = on) -> None:
                    # Each answer moves the line: a fair day's group is thousands of steps.
                    with lock:
                        progress.update(on, (name,), 1)

                _send_group(pool, edge, journal, todo, answered)
                journal.end_group()
        except KeyboardInterrupt:
            progress.update(on, (), 0, force=True)
            return outcome(interrupted=True)
    progress.update(on, (), 0, force=True)
    return outcome()


def _check_unique(group: list[tuple[str, Step]], seen: set[str]) -> None:
    """A key is a step's identity (its webhook id, its line in the state): a second step with
    the same key would be taken for the first and silently have no effect."""
    for name, step in group:
        if step.key in seen:
            raise ReplayError(f"scenario {name} yielded a second step with the key {step.key}")
        seen.add(step.key)


def _send_group(
    pool: ThreadPoolExecutor,
    edge: Edge,
    journal: Journal,
    steps: list[tuple[str, Step]],
    answered: Callable[[str], None] = lambda name: None,
) -> None:
    """Send a group's steps concurrently; record each as its answer comes. The first failure
    stops the group (steps already running finish) and is raised. Ctrl-C stops it between
    steps: those not yet started are cancelled, the few in flight are answered and recorded."""

    def one(name: str, step: Step) -> None:
        journal.record(step.key, send_step(edge, step, journal.saved))
        answered(name)

    futures = [pool.submit(one, name, step) for name, step in steps]
    try:
        # Waited for in short slices: a SIGINT the kernel hands to a worker thread is acted on
        # only when the main thread runs again, and a wait without a timeout would not return
        # before the whole group was answered (minutes on a fair day).
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=WAIT_SLICE_SECONDS, return_when=FIRST_EXCEPTION)
            if any(not f.cancelled() and f.exception() is not None for f in done):
                break
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        wait(futures)
        raise
    for future in futures:
        if future.done() and future.exception() is not None:
            for other in futures:
                other.cancel()
            wait(futures)
            raise future.exception()
