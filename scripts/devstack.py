"""Run the whole platform on one machine (`make run`) and stop it (`make stop`).

Starts nx-27017 when MONGO_URI is unset, uses RabbitMQ at AMQP_URI (starting a locally
installed rabbitmq-server if none answers), starts every service and the gateway, waits
for /health, and on Ctrl-C stops what it started and nothing else. Tests reuse ``Stack``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("dossiers", "mutual_aid", "student_aid", "jobs", "notifications", "gateway")
PYTHON = ROOT / ".venv" / "bin" / "python"
NX = ROOT / "var" / "nx-venv" / "bin" / "nx-27017"


class StackError(RuntimeError):
    pass


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise StackError(f"timed out after {timeout:g} s waiting for {what}")


def start_nx(data_dir: Path, port: int, log_dir: Path) -> subprocess.Popen:
    """Start nx-27017 (the MongoDB stand-in, see MONGO.md) with its own pid and log files."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    pid_file = (
        data_dir / f"nx-{port}-{os.getpid()}.pid"
    )  # fresh: a crash's pid file blocks restarts
    process = subprocess.Popen(
        [
            str(NX),
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "-p",
            str(port),
            "--pid-file",
            str(pid_file),
            "--log-file",
            str(log_dir / "nx-27017.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_until(lambda: port_open("127.0.0.1", port) or process.poll() is not None, 30, "nx-27017")
    if process.poll() is not None:
        raise StackError(f"nx-27017 exited at start; see {log_dir / 'nx-27017.log'}")
    return process


class Stack:
    """The platform's processes: what `make run` starts, reusable by the end-to-end tests."""

    def __init__(self, var_dir: Path, env: dict[str, str], replicas: int = 1):
        if replicas < 1:
            raise StackError(f"REPLICAS must be at least 1, got {replicas}")
        self.replicas = replicas
        self.var_dir = var_dir
        self.log_dir = var_dir / "log"
        self.env = env
        # Each stack's own heartbeat files: two stacks on one machine never share /tmp's.
        self.env.setdefault("HEARTBEAT_DIR", str(var_dir / "heartbeat"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.started_rabbit = False

    @property
    def gateway_url(self) -> str:
        return self.gateway_urls[0]

    @property
    def gateway_urls(self) -> list[str]:
        """One per gateway replica, on consecutive ports from GATEWAY_PORT (a load balancer
        in front of them is production's business)."""
        port = int(self.env.get("GATEWAY_PORT", "8000"))
        return [f"http://127.0.0.1:{port + i}" for i in range(self.replicas)]

    @staticmethod
    def instance_name(service: str, replica: int) -> str:
        """``dossiers`` for the first replica, ``dossiers-2`` for the second, ..."""
        return service if replica == 0 else f"{service}-{replica + 1}"

    def replica_env(self, service: str, replica: int) -> dict[str, str]:
        """What a replica beyond the first runs with: its own heartbeat file (each process
        proves it is alive, as each pod does) and, for the gateway, the next port."""
        if replica == 0:
            return {}
        env = {"HEARTBEAT_DIR": str(Path(self.env["HEARTBEAT_DIR"]) / f"replica-{replica + 1}")}
        if service == "gateway":
            env["GATEWAY_PORT"] = str(int(self.env.get("GATEWAY_PORT", "8000")) + replica)
        return env

    def ensure_mongo(self) -> None:
        if self.env.get("MONGO_URI"):
            return
        if port_open("127.0.0.1", 27017):
            raise StackError(
                "Port 27017 is taken by a server this command did not start; "
                "set MONGO_URI to use it or stop it."
            )
        self.processes["nx-27017"] = start_nx(self.var_dir / "nx-data", 27017, self.log_dir)
        self.env["MONGO_URI"] = "mongodb://127.0.0.1:27017"

    def ensure_rabbit(self) -> None:
        uri = urlparse(self.env.setdefault("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//"))
        host, port = uri.hostname or "127.0.0.1", uri.port or 5672
        if port_open(host, port):
            return
        if host in ("127.0.0.1", "localhost") and shutil.which("rabbitmq-server"):
            subprocess.run(["rabbitmq-server", "-detached"], check=True)
            self.started_rabbit = True
            wait_until(lambda: port_open(host, port), 60, "rabbitmq-server")
            return
        raise StackError(
            f"No RabbitMQ answers at {host}:{port}: install one (apt-get install rabbitmq-server) "
            "or set AMQP_URI to a running broker."
        )

    def start_service(
        self, name: str, extra_env: dict[str, str] | None = None, *, instance: str | None = None
    ) -> subprocess.Popen:
        """Start ``name``; ``instance`` names a second process of the same service (its log
        file and its key for ``stop_service``)."""
        instance = instance or name
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{instance}.log", "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            [str(PYTHON), "-m", "shared.runner", name],
            cwd=ROOT,
            env={**os.environ, **self.env, **(extra_env or {}), "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[instance] = process
        return process

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.env.get('CONSOLE_PORT', '8080')}"

    def start_console(self, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        """The staff console (services/console), one more client of the gateway's API."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / "console.log", "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            [str(PYTHON), "-m", "services.console"],
            cwd=ROOT,
            env={**os.environ, **self.env, **(extra_env or {}), "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes["console"] = process
        port = int(self.console_url.rsplit(":", 1)[1])

        def up() -> bool:
            if process.poll() is not None:
                raise StackError(f"console exited; see {self.log_dir / 'console.log'}")
            return port_open("127.0.0.1", port)

        wait_until(up, 30, self.console_url)
        return process

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def health(self, url: str | None = None) -> dict | None:
        try:
            with urllib.request.urlopen(f"{url or self.gateway_url}/health", timeout=3) as response:  # noqa: S310
                return json.load(response)
        except (OSError, ValueError):
            return None

    def wait_healthy(self, timeout: float = 90) -> None:
        def healthy():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise StackError(f"{name} exited; see {self.log_dir / (name + '.log')}")
            return all((self.health(url) or {}).get("status") == "ok" for url in self.gateway_urls)

        wait_until(healthy, timeout, f"{self.gateway_url}/health")

    def start(self) -> None:
        self.ensure_rabbit()
        self.ensure_mongo()
        for name in SERVICES:
            for replica in range(self.replicas):
                self.start_service(
                    name,
                    self.replica_env(name, replica),
                    instance=self.instance_name(name, replica),
                )
        self.wait_healthy()

    def stop(self) -> None:
        instances = [
            self.instance_name(name, replica)
            for name in SERVICES
            for replica in range(self.replicas)
        ]
        for name in [*instances, *[n for n in self.processes if n not in instances]]:
            self.stop_service(name)
        if self.started_rabbit:
            subprocess.run(["rabbitmqctl", "stop"], check=False, capture_output=True)
            self.started_rabbit = False


def run() -> int:
    var_dir = ROOT / "var"
    pid_file = var_dir / "run.pid"
    var_dir.mkdir(exist_ok=True)
    env = {
        k: os.environ[k]
        for k in (
            "GATEWAY_PORT",
            "STAFF_JWT_SECRET",
            "AMQP_URI",
            "MONGO_URI",
            "APP_ENV",
            "PII_ENCRYPTION_KEYS",
            "PII_HASH_KEY",
            "LOG_LEVEL",
            "CONSOLE_PORT",
            "CONSOLE_SESSION_SECRET",
        )
        if os.environ.get(k)
    }
    try:
        replicas = int(os.environ.get("REPLICAS") or "1")
    except ValueError:
        print(f"make run: REPLICAS must be a whole number, got {os.environ['REPLICAS']!r}")
        return 1
    stack = Stack(var_dir, env, replicas)
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    pid_file.write_text(str(os.getpid()))
    try:
        print("Starting unionhub: RabbitMQ check, MongoDB (nx-27017 unless MONGO_URI), services...")
        stack.start()
        stack.start_console()
        print(
            f"""
unionhub is running.
  Gateway:   {", ".join(stack.gateway_urls)}   (health: {stack.gateway_url}/health, API: {stack.gateway_url}/openapi.json)
  Replicas:  {stack.replicas} of each service
  Console:   {stack.console_url}   (staff console; sign in with a development role and org)
  Logs:      {stack.log_dir}/
  Token:     .venv/bin/python -m shared.auth mint --role city_admin --org LY
             (signed with STAFF_JWT_SECRET; the development default when unset)
  Stop:      Ctrl-C here, or `make stop` from another terminal.
""",
            flush=True,
        )
        while True:
            for name, process in list(stack.processes.items()):
                if process.poll() is not None:
                    raise StackError(
                        f"{name} exited unexpectedly; see {stack.log_dir / (name + '.log')}"
                    )
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping unionhub...")
        return 0
    except StackError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
        pid_file.unlink(missing_ok=True)
        print("Stopped everything this command started.")


def stop() -> int:
    pid_file = ROOT / "var" / "run.pid"
    if not pid_file.exists():
        print("unionhub is not running (no var/run.pid).")
        return 0
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        print("unionhub was not running; removed a stale var/run.pid.")
        return 0
    wait_until(lambda: not pid_file.exists(), 60, "unionhub to stop")
    print("unionhub stopped.")
    return 0


if __name__ == "__main__":
    commands = {"run": run, "stop": stop}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print("usage: devstack.py {run|stop}", file=sys.stderr)
        sys.exit(2)
    sys.exit(commands[sys.argv[1]]())
