"""Exit 0 when ``<service>`` answers an RPC ping, 1 otherwise (the k8s exec probe)."""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402

import sys  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

from shared.config import load_settings  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m shared.healthcheck <service>", file=sys.stderr)
        return 2
    settings = load_settings()
    try:
        with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=3) as cluster:
            getattr(cluster, argv[0]).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means not healthy
        print(f"{argv[0]}: unhealthy: {exc!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
