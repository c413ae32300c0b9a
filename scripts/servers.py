"""Servers of one's own for a stack that must not share the machine's: an nx-27017 on its own
port and data directory, and a RabbitMQ virtual host. The end-to-end tier and the year replay
(``scripts.replay``) both start their stacks on these."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from scripts.devstack import free_port, start_nx


class NxServer:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.process = None
        self.port: int | None = None
        self.starts = 0

    def start(self) -> str:
        """Start on a free port the first time, on the same port (and data) after a stop."""
        self.port = self.port or free_port()
        self.starts += 1
        log_dir = self.data_dir / f"log-{self.starts}"  # a fresh pid file each start
        self.process = start_nx(self.data_dir / "data", self.port, log_dir)
        return f"mongodb://127.0.0.1:{self.port}"

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)


def rabbitmqctl(*args: str, node: str | None = None) -> str:
    """rabbitmqctl against the machine's broker, or against ``node`` (a PrivateBroker's)."""
    target = ["-n", node] if node else []
    done = subprocess.run(
        ["rabbitmqctl", "-q", *target, *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


class RabbitVhost:
    """A virtual host of the machine's broker; a fresh random name unless ``name`` is given
    (the replay keeps one per year, so a resumed run finds the messages it left)."""

    def __init__(self, name: str | None = None):
        self.name = name or f"unionhub-test-{uuid.uuid4().hex[:8]}"

    def create(self) -> str:
        """Create it (nothing happens if it exists) and return its AMQP URI."""
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return f"pyamqp://guest:guest@127.0.0.1:5672/{self.name}"

    def delete(self) -> None:
        rabbitmqctl("delete_vhost", self.name)
