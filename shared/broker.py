"""Each service's own RabbitMQ user and what it may touch, as a definitions file the broker loads
at start: ``python -m shared.broker definitions --output FILE`` (docker/, k8s/).

A service may write (publish, and bind its own queues) only to its own exchanges
(``<service>.events`` for its events, ``<service>.retry`` for its retries and replays) and to
``nameko-rpc``, which every RPC request and reply crosses (callers prove who they are inside the
message, see shared.auth). It reads only its own queues and the events of the services it
handles. What a service needs is read from its nameko class, so a new handler or RPC method
needs no change here."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nameko.events import EventHandler
from nameko.rpc import Rpc

from shared.providers import EventPublisher, OutboxRelayRunner

RPC_EXCHANGE = "nameko-rpc"
# nameko's standalone proxy (shared.healthcheck, CLIs) names its reply queues after itself.
STANDALONE_PROXY = "standalone_rpc_proxy"
ADMIN_USER = "unionhub-admin"


def broker_user(service: str) -> str:
    return f"unionhub-{service}"


def password_variable(service: str) -> str:
    return f"RABBITMQ_PASSWORD_{service.upper()}"


@dataclass(frozen=True)
class Needs:
    """What a service does on the broker, read from its class."""

    service: str
    serves_rpc: bool
    publishes_events: bool
    handles: tuple[str, ...]  # the services whose events it handles


def needs_of(service_cls: type) -> Needs:
    entrypoints = [
        entrypoint
        for name in dir(service_cls)
        for entrypoint in getattr(getattr(service_cls, name), "nameko_entrypoints", ())
    ]
    dependencies = [getattr(service_cls, name) for name in dir(service_cls)]
    return Needs(
        service=service_cls.name,
        serves_rpc=any(isinstance(e, Rpc) for e in entrypoints),
        publishes_events=any(
            isinstance(d, OutboxRelayRunner | EventPublisher) for d in dependencies
        ),
        handles=tuple(
            sorted({e.source_service for e in entrypoints if isinstance(e, EventHandler)})
        ),
    )


def _any_of(names: Sequence[str]) -> str:
    return "^(" + "|".join(names) + ")$"


def permissions(needs: Needs) -> dict[str, str]:
    """The configure, write and read regexes of the service's user (RabbitMQ matches them
    against exchange and queue names; binding a queue needs write on the queue and read on the
    exchange, declaring either needs configure)."""
    name = re.escape(needs.service)
    # Every service calls over RPC at least through its health check (a standalone proxy).
    queues = [rf"rpc\.reply-({name}|{STANDALONE_PROXY})-[0-9a-f-]+"]
    if needs.serves_rpc:
        queues.append(f"rpc-{name}")
    exchanges = [re.escape(RPC_EXCHANGE)]
    if needs.publishes_events:
        exchanges.append(rf"{name}\.events")
    if needs.handles:
        queues.append(rf"evt-[a-z_]+-[a-z_]+--{name}\.[a-z_]+(\.backoff[0-9]+)?")
        exchanges.append(rf"{name}\.retry")
    # Handlers declare (configure) and bind to (read) the exchanges of what they handle, but
    # never write there: only that service publishes its events.
    handled = [rf"{re.escape(s)}\.events" for s in needs.handles if s != needs.service]
    return {
        "configure": _any_of(queues + exchanges + handled),
        "write": _any_of(queues + exchanges),
        "read": _any_of(queues + exchanges + handled),
    }


def password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(
    services: Sequence[type], passwords: Mapping[str, str], admin_password: str, vhost: str = "/"
) -> dict:
    """The definitions document: an administrator for operators (management UI) and one user
    per service with only what that service needs."""
    users = [
        {
            "name": ADMIN_USER,
            "password_hash": password_hash(admin_password),
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": ["administrator"],
        }
    ]
    grants = [{"user": ADMIN_USER, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"}]
    for service_cls in services:
        user = broker_user(service_cls.name)
        users.append(
            {
                "name": user,
                "password_hash": password_hash(passwords[service_cls.name]),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            }
        )
        grants.append({"user": user, "vhost": vhost, **permissions(needs_of(service_cls))})
    return {"users": users, "vhosts": [{"name": vhost}], "permissions": grants}


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    from shared.runner import SERVICES, service_class

    parser = argparse.ArgumentParser(prog="python -m shared.broker", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser(
        "definitions",
        help="write the definitions file from RABBITMQ_ADMIN_PASSWORD and "
        "RABBITMQ_PASSWORD_<SERVICE> of every service",
    )
    render.add_argument("--output", required=True, help="where to write the JSON file")
    arguments = parser.parse_args(argv)

    variables = ["RABBITMQ_ADMIN_PASSWORD", *(password_variable(s) for s in SERVICES)]
    missing = [name for name in variables if not environ.get(name)]
    if missing:
        print(f"cannot render broker definitions: {', '.join(missing)} not set", file=sys.stderr)
        return 2
    document = definitions(
        [service_class(s) for s in SERVICES],
        {s: environ[password_variable(s)] for s in SERVICES},
        environ["RABBITMQ_ADMIN_PASSWORD"],
    )
    with open(arguments.output, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
