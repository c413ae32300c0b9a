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


def vhost_of(amqp_uri: str) -> str:
    return amqp_uri.rsplit("/", 1)[1] or "/"


def queue_messages(amqp_uri: str, queue: str) -> dict[str, int | bool]:
    """What the broker holds in ``queue``: ``{"durable", "messages", "persistent"}``."""
    out = rabbitmqctl(
        "list_queues",
        "-p",
        vhost_of(amqp_uri),
        "name",
        "durable",
        "messages",
        "messages_persistent",
        "--no-table-headers",
    )
    for line in out.splitlines():
        name, durable, messages, persistent = line.split("\t")
        if name == queue:
            return {
                "durable": durable == "true",
                "messages": int(messages),
                "persistent": int(persistent),
            }
    raise LookupError(f"no queue {queue} in {vhost_of(amqp_uri)}")


def crash_queue(amqp_uri: str, queue: str) -> None:
    """Kill the broker's process of one queue, as a broker crash does to it: RabbitMQ starts it
    again from its message store, so only what was written to disk (persistent messages of a
    durable queue) is still there. Only this vhost's queue restarts; other suites sharing the
    broker are not disturbed, as a whole-broker restart would disturb them."""
    name = f'rabbit_misc:r(<<"{vhost_of(amqp_uri)}">>, queue, <<"{queue}">>)'
    rabbitmqctl(
        "eval",
        f"{{ok, Q}} = rabbit_amqqueue:lookup({name}), exit(amqqueue:get_pid(Q), kill), ok.",
    )
