"""``python -m services.console``: serve the console (werkzeug's threaded server)."""

from __future__ import annotations

import sys

from werkzeug.serving import run_simple

from services.console.app import make_app
from services.console.config import load_console_settings
from shared.config import ConfigError


def main() -> int:
    try:
        settings = load_console_settings()
    except ConfigError as exc:
        print(f"console: {exc}", file=sys.stderr)
        return 2
    app = make_app(settings)
    host = "0.0.0.0" if not settings.is_development else "127.0.0.1"  # noqa: S104 - in a container
    print(f"console on http://{host}:{settings.port} (gateway {settings.gateway_url})", flush=True)
    run_simple(host, settings.port, app, threaded=True, use_reloader=False, use_debugger=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
