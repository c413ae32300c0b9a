"""The real servers the integration and end-to-end tiers talk to, started and cleaned up by the suite."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from scripts.devstack import free_port

# Moved to scripts/ (the year replay starts its stack on them too); imported from here still.
from scripts.servers import NxServer, RabbitVhost, rabbitmqctl

__all__ = ["NxServer", "RabbitVhost", "rabbitmqctl"]


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


class PrivateBroker:
    """A RabbitMQ node of a test's own (its own ports, data and logs; no plugins), for tests
    that restart the broker: the machine's broker is shared by everything else running."""

    def __init__(self):
        # Not under pytest's tmp_path: as root the node runs as the rabbitmq user, who cannot
        # enter root's private pytest directory.
        self.base_dir = Path(tempfile.mkdtemp(prefix="unionhub-rabbit-"))
        self.node = f"unionhub-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.pid_file = self.base_dir / "rabbit.pid"

    @property
    def amqp_uri(self) -> str:
        return f"pyamqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self) -> str:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "plugins").write_text("[].\n")
        (self.base_dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
        )
        if os.geteuid() == 0 and shutil.which("rabbitmq-server"):
            # As root, rabbitmq-server runs the node as the rabbitmq user: let it write here.
            for path in [self.base_dir, *self.base_dir.rglob("*")]:
                shutil.chown(path, "rabbitmq", "rabbitmq")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": self._home(),
            # Not the machine's rabbitmq-env.conf: it names the machine's own node.
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",
            "RABBITMQ_CONFIG_FILE": str(self.base_dir / "rabbitmq.conf"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base_dir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base_dir / "plugins"),
            "RABBITMQ_PID_FILE": str(self.pid_file),
        }
        subprocess.run(["rabbitmq-server", "-detached"], env=env, check=True, timeout=60)
        self._wait_running()
        return self.amqp_uri

    @staticmethod
    def _home() -> str:
        """Where the node's Erlang cookie lives: the rabbitmq user's home when we are root (the
        CLI finds the same cookie there), else ours."""
        if os.geteuid() == 0:
            try:
                return pwd.getpwnam("rabbitmq").pw_dir
            except KeyError:
                pass
        return os.environ.get("HOME") or tempfile.gettempdir()

    def _wait_running(self) -> None:
        rabbitmqctl("wait", "--timeout", "90", str(self.pid_file), node=self.node)
        rabbitmqctl("await_startup", node=self.node)

    def restart(self) -> None:
        """Stop the broker application (every connection dropped, unacknowledged messages
        back in their queues) and start it again; durable queues and persistent messages stay."""
        rabbitmqctl("stop_app", node=self.node)
        rabbitmqctl("start_app", node=self.node)
        rabbitmqctl("await_startup", node=self.node)

    def stop(self) -> None:
        try:
            rabbitmqctl("stop", str(self.pid_file), node=self.node)
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.base_dir, ignore_errors=True)
