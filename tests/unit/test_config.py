"""Typed settings: fail fast naming the variable; no development secrets outside development."""

import base64
import secrets

import pytest

from shared.config import DEVELOPMENT_SECRETS, ConfigError, load_settings
from shared.crypto import generate_key_b64

# Made the way docker/env.example says (token_urlsafe(48), generate_key_b64()).
PRODUCTION = {
    "APP_ENV": "production",
    "AMQP_URI": "pyamqp://unionhub:Vq3xN8sKd2Lw9TzR5mHa@rabbit:5672//",
    "MONGO_URI": "mongodb://mongo:27017/?replicaSet=rs0",
    "STAFF_JWT_SECRET": "aCAK5K2HsjGFCV9bwngAaxwQ31Iozi5qdWkGflfRLU8v2143Jc4ift1j9-fYcfCd",
    "PII_ENCRYPTION_KEYS": "k1:/5bVp3wpqdN/eZs/s1qtsPE5i3C6Azi3UF/Iepeuj+I=",
    "PII_HASH_KEY": "zAn00vH/CGF1mnTUNj2Ugc15IIAwQfRfsJndU203UMI=",
}


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode("ascii")


def test_development_runs_on_defaults():
    settings = load_settings({})
    assert settings.app_env == "development"
    assert settings.staff_jwt_secret == DEVELOPMENT_SECRETS["STAFF_JWT_SECRET"]
    assert settings.database_name("mutual_aid") == "unionhub_mutual_aid"


@pytest.mark.parametrize("missing", sorted(PRODUCTION.keys() - {"APP_ENV"}))
def test_production_names_the_missing_variable(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


@pytest.mark.parametrize("name", sorted(DEVELOPMENT_SECRETS))
def test_production_refuses_development_secrets(name):
    with pytest.raises(ConfigError, match=f"{name} is the development placeholder"):
        load_settings({**PRODUCTION, name: DEVELOPMENT_SECRETS[name]})


def test_production_with_everything_set_loads():
    assert load_settings(PRODUCTION).app_env == "production"


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("STAFF_JWT_SECRET", "CHANGE-ME-placeholder-not-a-secret-replace-with-token", "'change'"),
        ("STAFF_JWT_SECRET", "prod-jwt-example-9f8e7d6c5b4a39281706f5e4d3c2b1a0", "'example'"),
        ("STAFF_JWT_SECRET", "Kq8vTz3LmW0pXr5N-my-Password-hB2yFj7sDc4Gu1Ae", "'password'"),
        ("STAFF_JWT_SECRET", "dev-9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc", "word 'dev'"),
        ("STAFF_JWT_SECRET", "xxx_Kq8vTz3LmW0pXr5NhB2yFj7sDc4Gu1Ae9f8e7d6c", "word 'xxx'"),
        ("STAFF_JWT_SECRET", "TestingKq8vTz3LmW0pXr5NhB2yFj7sDc4Gu1Ae9f8e7", "'test'"),
        ("PII_ENCRYPTION_KEYS", "k1:" + b64(b"our-staging-placeholder-key-32by"), "'placeholder'"),
        ("PII_HASH_KEY", b64(b"dev hash key, 32 bytes long!!!!!"), "word 'dev'"),
    ],
)
def test_production_refuses_placeholder_looking_secrets(name, value, reason):
    with pytest.raises(ConfigError, match=f"{name} looks like a placeholder.*{reason}"):
        load_settings({**PRODUCTION, name: value})


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("STAFF_JWT_SECRET", "Kq8vTz3LmW0pXr5N" + "a" * 6 + "hB2yFj7sDc4Gu1Ae", "repeats"),
        ("STAFF_JWT_SECRET", "abcd" * 10, "distinct symbols"),
        ("STAFF_JWT_SECRET", "0123456789" * 2 + "0" * 4 + "1" * 5 + "0" * 5 + "1" * 5, "entropy"),
        ("PII_ENCRYPTION_KEYS", "k1:" + "A" * 43 + "=", "repeats"),
        ("PII_ENCRYPTION_KEYS", f"{PRODUCTION['PII_ENCRYPTION_KEYS']},k0:{b64(b'ab' * 16)}", ""),
        ("PII_HASH_KEY", b64(bytes(range(8)) * 4), "distinct symbols"),
    ],
)
def test_production_refuses_low_entropy_secrets(name, value, reason):
    with pytest.raises(ConfigError, match=f"{name} looks like a placeholder.*{reason}"):
        load_settings({**PRODUCTION, name: value})


@pytest.mark.parametrize(
    "name, value",
    [
        ("AMQP_URI", "pyamqp://unionhub:CHANGE-ME-placeholder-rabbitmq-password@rabbit:5672//"),
        ("AMQP_URI", "pyamqp://guest:guest@rabbit:5672//"),
        ("MONGO_URI", "mongodb://app:password123@m1:27017,m2:27017/?replicaSet=rs0"),
        ("MONGO_URI", "mongodb://app:%78%78%78-Vq3xN8sKd2Lw9TzR@m1:27017/"),
    ],
)
def test_production_refuses_placeholder_passwords_in_uris(name, value):
    with pytest.raises(ConfigError, match=rf"{name} \(its password\) looks like a placeholder"):
        load_settings({**PRODUCTION, name: value})


def test_production_uris_without_a_password_load():
    settings = load_settings({**PRODUCTION, "MONGO_URI": "mongodb://mongo:27017/?replicaSet=rs0"})
    assert settings.mongo_uri.endswith("rs0")


def test_production_pii_key_that_is_not_base64_is_named():
    with pytest.raises(ConfigError, match="PII_HASH_KEY must be base64"):
        load_settings({**PRODUCTION, "PII_HASH_KEY": "CHANGE_ME_BASE64_32_BYTE_KEY"})


def test_production_accepts_secrets_made_as_env_example_says():
    for _ in range(200):
        load_settings(
            {
                **PRODUCTION,
                "STAFF_JWT_SECRET": secrets.token_urlsafe(48),
                "PII_ENCRYPTION_KEYS": f"k2:{generate_key_b64()},k1:{generate_key_b64()}",
                "PII_HASH_KEY": generate_key_b64(),
            }
        )
        load_settings({**PRODUCTION, "STAFF_JWT_SECRET": secrets.token_hex(32)})


def test_development_keeps_its_placeholders():
    assert load_settings({"APP_ENV": "test"}).pii_hash_key == DEVELOPMENT_SECRETS["PII_HASH_KEY"]


@pytest.mark.parametrize(
    "env, message",
    [
        ({"APP_ENV": "staging"}, "APP_ENV must be one of"),
        ({"GATEWAY_PORT": "eighty"}, "GATEWAY_PORT must be a number"),
        ({"RPC_TIMEOUT_SECONDS": "0"}, "RPC_TIMEOUT_SECONDS must be positive"),
        ({"EVENT_RETRY_DELAYS_MS": "100,x"}, "EVENT_RETRY_DELAYS_MS"),
    ],
)
def test_invalid_values_are_named(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_settings_hold_no_test_switch():
    # The SMS sink's failure switch is the sink's own (services.notifications.channels).
    assert load_settings({"SMS_SINK_FAIL": "1"}) == load_settings({})


def test_backdated_input_is_allowed_by_default_in_development_and_test_only():
    assert load_settings({}).allow_backdated_input is True
    assert load_settings({"APP_ENV": "test"}).allow_backdated_input is True
    assert load_settings({"ALLOW_BACKDATED_INPUT": "false"}).allow_backdated_input is False
    assert load_settings(PRODUCTION).allow_backdated_input is False


def test_backdated_input_in_production_refused():
    with pytest.raises(ConfigError, match="ALLOW_BACKDATED_INPUT"):
        load_settings({**PRODUCTION, "ALLOW_BACKDATED_INPUT": "true"})


def test_backdated_input_flag_must_be_true_or_false():
    with pytest.raises(ConfigError, match="ALLOW_BACKDATED_INPUT must be true or false"):
        load_settings({"ALLOW_BACKDATED_INPUT": "yes"})


@pytest.mark.parametrize(
    "name", ["RATE_LIMIT_REQUESTS", "RATE_LIMIT_FAILURES"], ids=["requests", "failures"]
)
@pytest.mark.parametrize("value", ["lots", "0/second", "-1/minute", "5/fortnight"])
def test_rate_limits_must_be_rates(name, value):
    with pytest.raises(ConfigError, match=f"{name} must be a rate"):
        load_settings({name: value})


def test_gateway_abuse_settings_have_their_defaults():
    settings = load_settings({})
    assert (settings.rate_limit_requests, settings.rate_limit_failures) == (
        "1000/second",
        "20/minute",
    )
    assert (settings.client_timeout_seconds, settings.partner_cache_size) == (10.0, 1000)
    assert settings.gateway_trusted_proxies == 0


def test_enrolment_import_caps_are_settings_named_when_invalid():
    settings = load_settings({})
    assert (settings.enrolment_import_max_rows, settings.enrolment_import_max_columns) == (
        50_000,
        20,
    )
    with pytest.raises(ConfigError, match="ENROLMENT_IMPORT_MAX_ROWS must be positive"):
        load_settings({"ENROLMENT_IMPORT_MAX_ROWS": "0"})
    with pytest.raises(ConfigError, match="ENROLMENT_IMPORT_MAX_COLUMNS must be a number"):
        load_settings({"ENROLMENT_IMPORT_MAX_COLUMNS": "many"})


@pytest.mark.parametrize("value", ["-1", "one", "1.5", "1000"])
def test_trusted_proxies_must_be_a_whole_number(value):
    with pytest.raises(ConfigError, match="GATEWAY_TRUSTED_PROXIES must be a whole number"):
        load_settings({"GATEWAY_TRUSTED_PROXIES": value})
