"""Settings and the PII vault are the process's own, injected by their providers."""

import dataclasses

from nameko.containers import ServiceContainer
from nameko.testing.utils import get_extension

from shared.config import load_settings
from shared.crypto import generate_key_b64, vault_of
from shared.providers import SETTINGS_KEY, SettingsProvider, VaultProvider


class Sealer:
    name = "sealer"
    settings = SettingsProvider()
    vault = VaultProvider()


def test_vault_built_once_per_process_and_injected():
    settings = load_settings({"APP_ENV": "test"})
    container = ServiceContainer(Sealer, config={SETTINGS_KEY: settings})
    provider = get_extension(container, VaultProvider)
    provider.setup()

    injected = provider.get_dependency(worker_ctx=None)
    assert injected is vault_of(settings)  # what the stores of this process seal with
    assert injected.decrypt(injected.encrypt("350802199001011234")) == "350802199001011234"


def test_other_keys_get_another_vault():
    settings = load_settings({"APP_ENV": "test"})
    rotated = dataclasses.replace(settings, pii_hash_key=generate_key_b64())
    assert vault_of(rotated) is not vault_of(settings)
    assert vault_of(rotated).lookup_hash("x") != vault_of(settings).lookup_hash("x")


def test_settings_injected_are_the_process_settings():
    settings = load_settings({"APP_ENV": "test"})
    container = ServiceContainer(Sealer, config={SETTINGS_KEY: settings})
    assert get_extension(container, SettingsProvider).get_dependency(worker_ctx=None) is settings
