"""Start one service: ``python -m shared.runner <service>`` (what `make run`, Docker and k8s call)."""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402 - must precede every other import that touches sockets

import importlib  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from shared.config import ConfigError, Settings, process_settings  # noqa: E402
from shared.logs import configure_logging  # noqa: E402
from shared.mongo import count_commands, flush_command_counts  # noqa: E402
from shared.providers import SETTINGS_KEY  # noqa: E402

SERVICES = ("gateway", "dossiers", "mutual_aid", "student_aid", "jobs", "notifications")

log = logging.getLogger("shared.runner")


def service_class(name: str) -> type:
    module = importlib.import_module(f"services.{name}.service")
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == module.__name__ and getattr(cls, "name", None) == name:
            return cls
    raise LookupError(f"services.{name}.service defines no class with name = {name!r}")


def nameko_config(settings: Settings) -> dict:
    return {
        "AMQP_URI": settings.amqp_uri,
        "WEB_SERVER_ADDRESS": f"0.0.0.0:{settings.gateway_port}",
        "serializer": "json",
        "max_workers": 20,
        "PARENT_CALLS_TRACKED": 5,
        SETTINGS_KEY: settings,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: python -m shared.runner {{{'|'.join(SERVICES)}}}", file=sys.stderr)
        return 2
    name = argv[0]
    try:
        settings = process_settings()
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(name, settings.log_level)
    if settings.mongo_command_counts_dir:
        count_commands(settings.mongo_command_counts_dir, name)
    runner = ServiceRunner(nameko_config(settings))
    runner.add_service(service_class(name))

    def shutdown(signum, frame):
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("service started", extra={"service_name": name})
    runner.wait()
    flush_command_counts()
    log.info("service stopped", extra={"service_name": name})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
