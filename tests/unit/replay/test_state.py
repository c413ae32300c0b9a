"""The replay's state: an append-only log that survives a kill -9 and refuses another replay's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from scripts.replay.state import Journal, StateError

HEADER = {"year": 2018, "scale": 0.05, "platform": "p1"}


def test_what_was_recorded_is_there_when_opened_again(tmp_path):
    path = tmp_path / "state.jsonl"
    journal = Journal(path, HEADER)
    journal.record("partners:H0001", {"secret:H0001": "whsec_a"})
    journal.record("bill:1", {})
    journal.close()
    again = Journal(path, HEADER)
    assert again.sent == {"partners:H0001", "bill:1"}
    assert again.saved == {"secret:H0001": "whsec_a"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again.close()


def test_a_line_torn_by_a_kill_is_dropped_and_the_log_goes_on_cleanly(tmp_path):
    path = tmp_path / "state.jsonl"
    journal = Journal(path, HEADER)
    journal.record("a", {"x": 1})
    journal.close()
    with open(path, "a") as file:
        file.write('{"k": "b", "s": {"y"')  # the write a kill -9 cut short
    journal = Journal(path, HEADER)
    assert journal.sent == {"a"}
    journal.record("c", {})
    journal.close()
    assert Journal(path, HEADER).sent == {"a", "c"}


def test_a_process_killed_while_recording_leaves_a_readable_log(tmp_path):
    """A real kill -9 in the middle of a stream of records."""
    path = tmp_path / "state.jsonl"
    code = (
        "import sys, time\n"
        "from scripts.replay.state import Journal\n"
        f"j = Journal(__import__('pathlib').Path({str(path)!r}), {HEADER!r})\n"
        "print('ready', flush=True)\n"
        "n = 0\n"
        "while True:\n"
        "    j.record(f'k{n}', {f'v{n}': 'x' * 500})\n"
        "    n += 1\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=os.getcwd(), text=True
    )
    assert child.stdout.readline().strip() == "ready"
    while path.stat().st_size < 200_000:
        pass
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    journal = Journal(path, HEADER)
    n = len(journal.sent)
    assert n > 100
    assert journal.sent == {f"k{i}" for i in range(n)}  # a prefix, nothing lost in between
    journal.close()


def test_another_replays_state_is_refused(tmp_path):
    path = tmp_path / "state.jsonl"
    Journal(path, HEADER).close()
    with pytest.raises(StateError, match="--fresh"):
        Journal(path, {**HEADER, "scale": 1})
    with pytest.raises(StateError, match="--fresh"):
        Journal(path, {**HEADER, "platform": "another"})


def test_fresh_starts_over(tmp_path):
    path = tmp_path / "state.jsonl"
    journal = Journal(path, HEADER)
    journal.record("a", {"x": 1})
    journal.close()
    journal = Journal(path, {**HEADER, "scale": 1}, fresh=True)
    assert (journal.sent, journal.saved) == (set(), {})
    journal.close()
