"""Where a replay stands: the keys it has sent and the answers it saved, in an append-only log.

One JSON line per step sent (``{"k": key, "s": {name: value}}``), after a first line naming
the replay (year and scale). A line is written with one ``write`` once its step's answer is
in, so a process killed with ``kill -9`` leaves every finished line in the file and at most a
torn last one, which reading drops (that step is sent again, which its key makes harmless for
a signed webhook and which a staff step's ``expect`` must allow). The log is synced to disk at
the end of each group of steps, so a machine that loses power loses at most the last group.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any


class StateError(RuntimeError):
    """The state file belongs to another replay (another year or scale), or is unreadable."""


class Journal:
    def __init__(self, path: Path, header: dict[str, Any], *, fresh: bool = False):
        """Open (or start) the log at ``path`` for the replay ``header`` describes; ``fresh``
        throws away what an earlier run recorded."""
        self.path = path
        self.header = header
        self.sent: set[str] = set()
        self.saved: dict[str, Any] = {}
        self._pending: dict[str, Any] = {}  # saved by the group under way
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            path.unlink(missing_ok=True)
        if path.exists() and path.stat().st_size:
            self._load()
        else:
            # Owner only: the log holds the partners' webhook secrets.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(json.dumps(header, ensure_ascii=False) + "\n")
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def _load(self) -> None:
        with open(self.path, "rb") as file:
            lines = file.read().split(b"\n")
        # The last element is b"" after a whole last line, or a line torn by a kill.
        *whole, torn = lines
        try:
            found = json.loads(whole[0]) if whole else None
        except ValueError:
            found = None
        if found != self.header:
            raise StateError(
                f"{self.path} was written by the replay {found}, not {self.header}: run with the "
                "same year and scale to go on, or with --fresh to start over"
            )
        for number, line in enumerate(whole[1:], start=2):
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise StateError(f"{self.path} line {number} is not JSON: {exc}") from exc
            self.sent.add(entry["k"])
            self.saved.update(entry.get("s") or {})
        if torn:
            # Drop the torn line so the next one starts on a line of its own.
            with open(self.path, "rb+") as file:
                file.truncate(sum(len(line) + 1 for line in whole))

    def record(self, key: str, saved: dict[str, Any]) -> None:
        """A step was answered as expected: remember its key and the values it saved. The
        values join ``saved`` when its group ends (``end_group``): a step may only use what an
        earlier group saved, and never by the luck of which request of its own group came back
        first."""
        line = json.dumps({"k": key, "s": saved} if saved else {"k": key}, ensure_ascii=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            self.sent.add(key)
            self._pending.update(saved)

    def end_group(self) -> None:
        """The group's saved values become visible; the log is synced to disk."""
        with self._lock:
            self.saved.update(self._pending)
            self._pending.clear()
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            self.saved.update(self._pending)
            self._pending.clear()
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
