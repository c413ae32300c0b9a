"""The real servers the integration and end-to-end tiers talk to, started and cleaned up by the suite."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from scripts.devstack import free_port, start_nx


class NxServer:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.process = None

    def start(self) -> str:
        port = free_port()
        self.process = start_nx(self.data_dir / "data", port, self.data_dir / "log")
        return f"mongodb://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


class RabbitVhost:
    def __init__(self):
        self.name = f"unionhub-test-{uuid.uuid4().hex[:8]}"

    def create(self) -> str:
        rabbitmqctl("add_vhost", self.name)
        rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        return f"pyamqp://guest:guest@127.0.0.1:5672/{self.name}"

    def delete(self) -> None:
        rabbitmqctl("delete_vhost", self.name)
