"""The one place services get a MongoDB client: one pooled client per URI per process.

With ``MONGO_COMMAND_COUNTS_DIR`` set (the bench sets it), :func:`count_commands` registers a
pymongo command listener before any client exists: every command this process sends is counted
exactly, per database, collection and command name, and the counts are written to
``<dir>/<service>-<pid>.json`` (rewritten at most every ``COUNTS_FLUSH_SECONDS`` while they
change, and once more when the process stops)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path

from pymongo import MongoClient, monitoring
from pymongo.database import Database

_clients: dict[str, MongoClient] = {}
_lock = threading.Lock()

COUNTS_FLUSH_SECONDS = 0.2


def get_client(uri: str) -> MongoClient:
    """Return the process-wide client for ``uri`` (pymongo pools connections itself)."""
    with _lock:
        client = _clients.get(uri)
        if client is None:
            client = MongoClient(
                uri,
                tz_aware=True,
                serverSelectionTimeoutMS=5000,
                # Also the monitor's wait for its heartbeat: a store busy for more than this is
                # marked unknown and every pool is cleared, cancelling the operations in flight
                # (seen at 5 s under the year replay's load on nx-27017). A stopped store still
                # refuses a connection at once, so this only spares a busy one.
                connectTimeoutMS=20000,
                socketTimeoutMS=30000,
                appname="unionhub",
            )
            _clients[uri] = client
        return client


def get_database(uri: str, name: str) -> Database:
    return get_client(uri)[name]


def close_all() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


# ---- command counting (the bench's commands_per_bill) ------------------------------------------

# Sent by the driver itself to learn the topology and keep connections alive: not the
# application's round trips, and their number depends on time, not on work.
DRIVER_COMMANDS = frozenset(
    {"hello", "ismaster", "isMaster", "ping", "saslStart", "saslContinue", "endSessions"}
)


class CommandCounter(monitoring.CommandListener):
    """Counts every command the application sends (started events), per
    ``db.collection.command`` (``db.command`` for one that names no collection)."""

    def __init__(self, path: Path, service: str):
        self.path = path
        self.service = service
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._dirty = False
        self._written_at = 0.0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in DRIVER_COMMANDS:
            return
        # Per collection where the command names one (``find``, ``insert``, ``update``, ...).
        target = event.command.get(event.command_name)
        where = (
            f"{event.database_name}.{target}" if isinstance(target, str) else event.database_name
        )
        with self._lock:
            self.counts[f"{where}.{event.command_name}"] += 1
            self._dirty = True

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def snapshot(self) -> dict:
        with self._lock:
            self._dirty = False
            counts = dict(self.counts)
        return {
            "service": self.service,
            "pid": os.getpid(),
            "total": sum(counts.values()),
            "commands": counts,
        }

    def flush(self) -> None:
        """Write the counts (atomically: a reader never sees half a file)."""
        document = self.snapshot()
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, sort_keys=True))
        tmp.replace(self.path)
        self._written_at = time.monotonic()

    def flush_loop(self) -> None:
        while True:
            time.sleep(COUNTS_FLUSH_SECONDS)
            if self._dirty:
                try:
                    self.flush()
                except OSError:
                    pass  # the bench's directory went away: nothing to report to


_counter: CommandCounter | None = None


def count_commands(directory: str, service: str) -> CommandCounter:
    """Count this process's MongoDB commands into ``directory`` (call before any client is
    made: pymongo attaches globally registered listeners to clients created afterwards)."""
    global _counter
    if _counter is None:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        _counter = CommandCounter(path / f"{service}-{os.getpid()}.json", service)
        monitoring.register(_counter)
        _counter.flush()
        threading.Thread(target=_counter.flush_loop, name="mongo-counts", daemon=True).start()
    return _counter


def flush_command_counts() -> None:
    if _counter is not None:
        _counter.flush()


def read_command_counts(directory: str | Path) -> dict[str, dict[str, int]]:
    """Every process's counts under ``directory``, summed per service: ``{service: {db.coll.cmd: n}}``."""
    totals: dict[str, Counter[str]] = {}
    for path in sorted(Path(directory).glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        totals.setdefault(document["service"], Counter()).update(document["commands"])
    return {service: dict(counts) for service, counts in totals.items()}
