"""Typed settings read once from the environment; fail fast, never run on development secrets in production."""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import unquote, urlsplit

from limits import parse as parse_rate_limit

ENVIRONMENTS = ("development", "test", "production")

# Well-known values that let a newcomer run the stack locally. They are refused outside
# development and test, so a forgotten variable can never ship a guessable secret.
DEVELOPMENT_SECRETS = {
    "STAFF_JWT_SECRET": "dev-only-staff-jwt-secret-change-me",
    "PII_ENCRYPTION_KEYS": "dev1:ZGV2LW9ubHktcGlpLWtleS0zMi1ieXRlcy1sb25nISE=",
    "PII_HASH_KEY": "ZGV2LW9ubHktcGlpLWhhc2gta2V5LWNoYW5nZS1tZSE=",
}

# Who issues staff tokens and for whom: a token minted for another system is refused.
DEFAULT_JWT_ISSUER = "unionhub"
DEFAULT_JWT_AUDIENCE = "unionhub-staff"
DEFAULT_JWT_MAX_LIFETIME_SECONDS = 12 * 3600


# What people type where a real secret was meant. Refused in production anywhere in a secret;
# the short words only as whole words, so that a random token which happens to spell one passes.
PLACEHOLDER_WORDS = ("change", "example", "placeholder", "secret", "password", "replace", "test")
PLACEHOLDER_SHORT_WORDS = ("dev", "xxx", "todo")
# A random key or token clears these by far (32 random bytes: about 30 distinct values and
# 4.9 bits each; even 32 hex digits: 14 distinct and 3.6 bits); "aaaa...", "abab..." and
# "12341234..." do not.
MIN_DISTINCT_SYMBOLS = 10
MIN_BITS_PER_SYMBOL = 3.0
MAX_REPEATED_RUN = 5


class ConfigError(RuntimeError):
    """The environment does not describe a runnable service; the message names the variable."""


def weak_secret_reason(material: bytes) -> str | None:
    """Why ``material`` (a secret's text, or a key's decoded bytes) does not look random, or
    None. Shannon entropy of the symbol frequencies stands in for randomness: it cannot prove
    a secret strong, only catch the placeholders and patterns people actually ship."""
    text = material.decode("latin-1").lower()
    for word in PLACEHOLDER_WORDS:
        if word in text:
            return f"it contains {word!r}"
    for word in PLACEHOLDER_SHORT_WORDS:
        if re.search(rf"(?<![a-z0-9]){word}(?![a-z0-9])", text):
            return f"it contains the word {word!r}"
    if re.search(rf"(.)\1{{{MAX_REPEATED_RUN}}}", text, re.DOTALL):
        return f"it repeats one character more than {MAX_REPEATED_RUN} times in a row"
    counts = Counter(material)
    if len(counts) < MIN_DISTINCT_SYMBOLS:
        return f"it has only {len(counts)} distinct symbols (at least {MIN_DISTINCT_SYMBOLS})"
    bits = -sum(n / len(material) * math.log2(n / len(material)) for n in counts.values())
    if bits < MIN_BITS_PER_SYMBOL:
        return f"its entropy is {bits:.1f} bits per symbol (at least {MIN_BITS_PER_SYMBOL:g})"
    return None


def refuse_weak_secret(name: str, material: bytes) -> None:
    """Production's check of one secret (or of one key's decoded bytes), naming the variable."""
    reason = weak_secret_reason(material)
    if reason is not None:
        raise ConfigError(f"{name} looks like a placeholder, not a random secret: {reason}")


def _base64_key(name: str, text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise ConfigError(f"{name} must be base64 (a random 32-byte key)") from None


def _key_material(name: str, value: str) -> list[bytes]:
    """The bytes that must look random: the decoded keys of PII_ENCRYPTION_KEYS
    (``kid:base64,...``) and PII_HASH_KEY, the text of any other secret."""
    if name == "PII_ENCRYPTION_KEYS":
        return [_base64_key(name, entry.partition(":")[2]) for entry in value.split(",")]
    if name == "PII_HASH_KEY":
        return [_base64_key(name, value)]
    return [value.encode("utf-8")]


def _retry_delays(text: str) -> tuple[int, ...]:
    try:
        delays = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(
            f"EVENT_RETRY_DELAYS_MS must be comma-separated milliseconds, got {text!r}"
        ) from exc
    if not delays or any(d <= 0 for d in delays):
        raise ConfigError("EVENT_RETRY_DELAYS_MS needs at least one positive delay")
    return delays


QUEUE_TYPES = ("classic", "quorum")


@dataclass(frozen=True)
class Settings:
    app_env: str
    amqp_uri: str
    mongo_uri: str
    staff_jwt_secret: str
    pii_encryption_keys: str
    pii_hash_key: str
    jwt_issuer: str = DEFAULT_JWT_ISSUER
    jwt_audience: str = DEFAULT_JWT_AUDIENCE
    jwt_max_lifetime_seconds: int = DEFAULT_JWT_MAX_LIFETIME_SECONDS
    gateway_port: int = 8000
    rpc_timeout_seconds: float = 5.0
    log_level: str = "INFO"
    policy_dir: str = "config/policy"
    event_retry_delays_ms: tuple[int, ...] = (1000, 5000, 30000)
    outbox_poll_seconds: float = 1.0
    # Business dates stated by callers (submitted_on, enrolled_on, ...) honoured as sent, so a
    # past year can be replayed (API.md "Conventions"); never in production.
    allow_backdated_input: bool = False
    # The gateway under abuse (README "Configuration"): rates in the `limits` notation.
    rate_limit_requests: str = "1000/second"
    rate_limit_failures: str = "20/minute"
    client_timeout_seconds: float = 10.0
    partner_cache_size: int = 1000
    # Enrolment files (CSV/XLSX) are read only up to these bounds: a hostile file cannot make
    # the import run without end.
    enrolment_import_max_rows: int = 50_000
    enrolment_import_max_columns: int = 20
    # Proxies in front of the gateway whose X-Forwarded-For entry names the client (an
    # Ingress: 1); with 0 the client is the TCP peer.
    gateway_trusted_proxies: int = 0
    # Liveness (shared/heartbeat.py): where each process touches its heartbeat file (a writable
    # tmp volume, the root file system being read-only) and how old it may grow.
    heartbeat_dir: str = field(default_factory=tempfile.gettempdir)
    heartbeat_max_age_seconds: float = 30.0
    # The type of every durable queue the services declare: "quorum" on a clustered broker
    # (docker/, k8s/), "classic" on a single development broker. A queue keeps the type it was
    # declared with: switching needs the queues deleted (README "Docker and Kubernetes").
    queue_type: str = "classic"
    # Where each process writes how many MongoDB commands it sent (shared/mongo.py); empty:
    # no listener at all. The bench sets it to count store commands per bill.
    mongo_command_counts_dir: str = ""

    @property
    def is_development(self) -> bool:
        return self.app_env in ("development", "test")

    def database_name(self, service: str) -> str:
        return f"unionhub_{service}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment, naming the first missing or invalid variable."""
    env = os.environ if environ is None else environ
    app_env = env.get("APP_ENV", "development")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")
    development = app_env in ("development", "test")

    def required(name: str, default: str | None = None) -> str:
        value = env.get(name)
        if value:
            return value
        if development and default is not None:
            return default
        raise ConfigError(f"{name} is required when APP_ENV={app_env}")

    def secret(name: str) -> str:
        value = required(name, DEVELOPMENT_SECRETS[name])
        if not development and value == DEVELOPMENT_SECRETS[name]:
            raise ConfigError(
                f"{name} is the development placeholder; set a real secret for APP_ENV={app_env}"
            )
        if not development:
            for material in _key_material(name, value):
                refuse_weak_secret(name, material)
        return value

    def uri(name: str, default: str) -> str:
        value = required(name, default)
        password = urlsplit(value).password
        if not development and password:
            refuse_weak_secret(f"{name} (its password)", unquote(password).encode("utf-8"))
        return value

    def number(name: str, default: str, kind: type):
        raw = env.get(name, default)
        try:
            value = kind(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
        if value <= 0:
            raise ConfigError(f"{name} must be positive, got {raw!r}")
        return value

    def count(name: str, default: str) -> int:
        raw = env.get(name) or default
        if not re.fullmatch(r"[0-9]{1,3}", raw):
            raise ConfigError(f"{name} must be a whole number, got {raw!r}")
        return int(raw)

    def flag(name: str, default: bool) -> bool:
        raw = env.get(name)
        if raw is None or raw == "":
            return default
        if raw not in ("true", "false"):
            raise ConfigError(f"{name} must be true or false, got {raw!r}")
        return raw == "true"

    def rate(name: str, default: str) -> str:
        raw = env.get(name) or default
        try:
            valid = parse_rate_limit(raw).amount > 0
        except ValueError:
            valid = False
        if not valid:
            raise ConfigError(
                f"{name} must be a rate such as 20/minute or 1000/second, got {raw!r}"
            )
        return raw

    queue_type = env.get("QUEUE_TYPE") or "classic"
    if queue_type not in QUEUE_TYPES:
        raise ConfigError(f"QUEUE_TYPE must be one of {', '.join(QUEUE_TYPES)}, got {queue_type!r}")

    allow_backdated_input = flag("ALLOW_BACKDATED_INPUT", development)
    if allow_backdated_input and not development:
        raise ConfigError(
            f"ALLOW_BACKDATED_INPUT=true is refused with APP_ENV={app_env}: business dates "
            "are the dates we receive requests"
        )

    return Settings(
        app_env=app_env,
        amqp_uri=uri("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672//"),
        mongo_uri=uri("MONGO_URI", "mongodb://127.0.0.1:27017"),
        staff_jwt_secret=secret("STAFF_JWT_SECRET"),
        pii_encryption_keys=secret("PII_ENCRYPTION_KEYS"),
        pii_hash_key=secret("PII_HASH_KEY"),
        jwt_issuer=env.get("JWT_ISSUER") or DEFAULT_JWT_ISSUER,
        jwt_audience=env.get("JWT_AUDIENCE") or DEFAULT_JWT_AUDIENCE,
        jwt_max_lifetime_seconds=number(
            "JWT_MAX_LIFETIME_SECONDS", str(DEFAULT_JWT_MAX_LIFETIME_SECONDS), int
        ),
        gateway_port=number("GATEWAY_PORT", "8000", int),
        rpc_timeout_seconds=number("RPC_TIMEOUT_SECONDS", "5", float),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        policy_dir=env.get("POLICY_DIR", "config/policy"),
        event_retry_delays_ms=_retry_delays(env.get("EVENT_RETRY_DELAYS_MS", "1000,5000,30000")),
        outbox_poll_seconds=number("OUTBOX_POLL_SECONDS", "1", float),
        allow_backdated_input=allow_backdated_input,
        rate_limit_requests=rate("RATE_LIMIT_REQUESTS", "1000/second"),
        rate_limit_failures=rate("RATE_LIMIT_FAILURES", "20/minute"),
        client_timeout_seconds=number("GATEWAY_CLIENT_TIMEOUT_SECONDS", "10", float),
        partner_cache_size=number("PARTNER_CACHE_SIZE", "1000", int),
        enrolment_import_max_rows=number("ENROLMENT_IMPORT_MAX_ROWS", "50000", int),
        enrolment_import_max_columns=number("ENROLMENT_IMPORT_MAX_COLUMNS", "20", int),
        gateway_trusted_proxies=count("GATEWAY_TRUSTED_PROXIES", "0"),
        heartbeat_dir=env.get("HEARTBEAT_DIR") or tempfile.gettempdir(),
        heartbeat_max_age_seconds=number("HEARTBEAT_MAX_AGE_SECONDS", "30", float),
        queue_type=queue_type,
        mongo_command_counts_dir=env.get("MONGO_COMMAND_COUNTS_DIR", ""),
    )


@cache
def process_settings() -> Settings:
    """This process's settings, read from its environment once (services verify callers with it)."""
    return load_settings()
