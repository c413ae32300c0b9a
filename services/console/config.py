"""The console's settings, read once at start; a missing or weak one stops it with a sentence."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import (
    DEFAULT_JWT_AUDIENCE,
    DEFAULT_JWT_ISSUER,
    DEFAULT_JWT_MAX_LIFETIME_SECONDS,
    DEVELOPMENT_SECRETS,
    ENVIRONMENTS,
    ConfigError,
    refuse_weak_secret,
)

DEVELOPMENT_SESSION_SECRET = "dev-only-console-session-secret-change-me"  # noqa: S105


@dataclass(frozen=True)
class ConsoleSettings:
    app_env: str
    gateway_url: str
    port: int
    session_secret: str
    session_seconds: int
    # Staff tokens the console mints for a signed-in person (dev sign-in, or after an OIDC
    # sign-in): the same secret, issuer and audience every service verifies.
    staff_jwt_secret: str
    jwt_issuer: str = DEFAULT_JWT_ISSUER
    jwt_audience: str = DEFAULT_JWT_AUDIENCE
    jwt_max_lifetime_seconds: int = DEFAULT_JWT_MAX_LIFETIME_SECONDS
    # OpenID Connect (production sign-in); unset: the OIDC button is not offered.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_redirect_uri: str | None = None
    oidc_role_claim: str = "unionhub_role"
    oidc_org_claim: str = "unionhub_org"
    api_timeout_seconds: float = 30.0

    @property
    def is_development(self) -> bool:
        return self.app_env in ("development", "test")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_redirect_uri)


def load_console_settings(environ: Mapping[str, str] | None = None) -> ConsoleSettings:
    env = os.environ if environ is None else environ
    app_env = env.get("APP_ENV", "development")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")
    development = app_env in ("development", "test")

    def secret(name: str, default: str) -> str:
        value = env.get(name)
        if not value:
            if development:
                return default
            raise ConfigError(f"{name} is required when APP_ENV={app_env}")
        if not development:
            if value == default:
                raise ConfigError(f"{name} is the development placeholder; set a real secret")
            refuse_weak_secret(name, value.encode())
        return value

    def number(name: str, default: int) -> int:
        text = env.get(name) or str(default)
        if not text.isdigit() or int(text) <= 0:
            raise ConfigError(f"{name} must be a positive whole number, got {text!r}")
        return int(text)

    gateway_port = env.get("GATEWAY_PORT") or "8000"
    settings = ConsoleSettings(
        app_env=app_env,
        gateway_url=(env.get("CONSOLE_GATEWAY_URL") or f"http://127.0.0.1:{gateway_port}").rstrip(
            "/"
        ),
        port=number("CONSOLE_PORT", 8080),
        session_secret=secret("CONSOLE_SESSION_SECRET", DEVELOPMENT_SESSION_SECRET),
        session_seconds=number("CONSOLE_SESSION_SECONDS", 8 * 3600),
        staff_jwt_secret=secret("STAFF_JWT_SECRET", DEVELOPMENT_SECRETS["STAFF_JWT_SECRET"]),
        jwt_issuer=env.get("JWT_ISSUER") or DEFAULT_JWT_ISSUER,
        jwt_audience=env.get("JWT_AUDIENCE") or DEFAULT_JWT_AUDIENCE,
        jwt_max_lifetime_seconds=number(
            "JWT_MAX_LIFETIME_SECONDS", DEFAULT_JWT_MAX_LIFETIME_SECONDS
        ),
        oidc_issuer=env.get("OIDC_ISSUER") or None,
        oidc_client_id=env.get("OIDC_CLIENT_ID") or None,
        oidc_client_secret=env.get("OIDC_CLIENT_SECRET") or None,
        oidc_redirect_uri=env.get("OIDC_REDIRECT_URI") or None,
        oidc_role_claim=env.get("OIDC_ROLE_CLAIM") or "unionhub_role",
        oidc_org_claim=env.get("OIDC_ORG_CLAIM") or "unionhub_org",
    )
    if not development and not settings.oidc_enabled:
        raise ConfigError(
            "OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_REDIRECT_URI are required when"
            f" APP_ENV={app_env}: production staff sign in through the federation's IdP"
        )
    if settings.session_seconds > settings.jwt_max_lifetime_seconds:
        raise ConfigError(
            "CONSOLE_SESSION_SECONDS must not exceed JWT_MAX_LIFETIME_SECONDS: the session's"
            " token would be refused by the services"
        )
    return settings
