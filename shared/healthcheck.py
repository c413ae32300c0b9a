"""The services' exec probes: ``alive <service>`` (liveness: this process's heartbeat is fresh)
and ``ready <service>`` (readiness: the service answers an RPC ping through the broker)."""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402

import sys  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from shared.config import load_settings  # noqa: E402
from shared.heartbeat import heartbeat_path, heartbeat_problem  # noqa: E402

USAGE = "usage: python -m shared.healthcheck {alive|ready} <service>"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("alive", "ready"):
        print(USAGE, file=sys.stderr)
        return 2
    check, service = argv
    settings = load_settings()
    if check == "alive":
        # Any replica could answer an RPC; only this container's own file speaks for it.
        problem = heartbeat_problem(
            heartbeat_path(settings, service), settings.heartbeat_max_age_seconds
        )
        if problem:
            print(f"{service}: not alive: {problem}", file=sys.stderr)
            return 1
        return 0
    try:
        with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=3) as cluster:
            getattr(cluster, service).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        print(f"{service}: not ready: {exc!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
