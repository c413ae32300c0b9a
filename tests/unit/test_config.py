"""Typed settings: fail fast naming the variable; no development secrets outside development."""

import pytest

from shared.config import DEVELOPMENT_SECRETS, ConfigError, load_settings

PRODUCTION = {
    "APP_ENV": "production",
    "AMQP_URI": "pyamqp://u:p@rabbit:5672//",
    "MONGO_URI": "mongodb://mongo:27017/?replicaSet=rs0",
    "STAFF_JWT_SECRET": "a-real-secret-of-more-than-32-bytes!!",
    "PII_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
    "PII_HASH_KEY": "B" * 43 + "=",
}


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


def test_sms_failure_switch_exists_only_in_development():
    assert load_settings({"SMS_SINK_FAIL": "1"}).sms_sink_fail is True
    assert load_settings({**PRODUCTION, "SMS_SINK_FAIL": "1"}).sms_sink_fail is False


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
