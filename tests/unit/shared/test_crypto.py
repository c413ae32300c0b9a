"""Rules of the PII vault: sealed tokens, key rotation, tamper detection, lookup hashes."""

import base64
import hashlib
import hmac
import re

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto import PiiDecryptionError, PiiVault, generate_key_b64

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(32, 64))
HASH_KEY = b"h" * 32
ID_NUMBER = "11010519491231002X"


def _vault(keys=None, active="k1", hash_key=HASH_KEY) -> PiiVault:
    return PiiVault(keys or {"k1": OLD_KEY}, active, hash_key)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_encrypted_token_decrypts_to_the_plaintext():
    vault = _vault()

    assert vault.decrypt(vault.encrypt(ID_NUMBER)) == ID_NUMBER


def test_non_ascii_plaintext_round_trips():
    vault = _vault()

    assert vault.decrypt(vault.encrypt("张三明")) == "张三明"


def test_token_is_version_key_id_and_urlsafe_nonce_plus_ciphertext():
    token = _vault().encrypt(ID_NUMBER)

    version, key_id, payload = token.split(".")
    sealed = base64.urlsafe_b64decode(payload)
    assert (version, key_id) == ("v1", "k1")
    assert re.fullmatch(r"[A-Za-z0-9_=-]+", payload)
    # 12-byte nonce, ciphertext as long as the plaintext, 16-byte GCM tag.
    assert len(sealed) == 12 + len(ID_NUMBER) + 16


def test_token_never_carries_the_plaintext():
    assert ID_NUMBER not in _vault().encrypt(ID_NUMBER)


def test_each_encryption_uses_a_fresh_nonce():
    vault = _vault()
    tokens = {vault.encrypt(ID_NUMBER) for _ in range(50)}
    nonces = {base64.urlsafe_b64decode(token.split(".")[2])[:12] for token in tokens}

    assert len(tokens) == 50
    assert len(nonces) == 50


def test_token_sealed_by_plain_aes_gcm_with_the_header_as_associated_data_decrypts():
    nonce = bytes(12)
    sealed = AESGCM(OLD_KEY).encrypt(nonce, ID_NUMBER.encode(), b"v1.k1")
    token = "v1.k1." + base64.urlsafe_b64encode(nonce + sealed).decode()

    assert _vault().decrypt(token) == ID_NUMBER


def test_rotated_vault_still_decrypts_tokens_of_the_retired_key():
    old_token = _vault().encrypt(ID_NUMBER)
    rotated = _vault({"k2": NEW_KEY, "k1": OLD_KEY}, active="k2")

    assert rotated.decrypt(old_token) == ID_NUMBER
    assert rotated.encrypt(ID_NUMBER).startswith("v1.k2.")


def test_token_of_a_key_the_vault_lacks_is_refused():
    token = _vault({"k2": NEW_KEY}, active="k2").encrypt(ID_NUMBER)

    with pytest.raises(PiiDecryptionError, match="unknown key id 'k2'"):
        _vault().decrypt(token)


def test_token_relabelled_with_another_key_id_is_refused_even_when_keys_are_equal():
    vault = _vault({"k1": OLD_KEY, "k2": OLD_KEY})
    relabelled = vault.encrypt(ID_NUMBER).replace("v1.k1.", "v1.k2.", 1)

    with pytest.raises(PiiDecryptionError, match="failed authentication"):
        vault.decrypt(relabelled)


@pytest.mark.parametrize("byte_index", [0, 11, 12, 20, -16, -1])
def test_token_with_any_flipped_byte_is_refused(byte_index):
    vault = _vault()
    header, payload = vault.encrypt(ID_NUMBER).rsplit(".", 1)
    sealed = bytearray(base64.urlsafe_b64decode(payload))
    sealed[byte_index] ^= 0x01
    tampered = f"{header}.{base64.urlsafe_b64encode(bytes(sealed)).decode()}"

    with pytest.raises(PiiDecryptionError, match="failed authentication"):
        vault.decrypt(tampered)


def test_token_under_a_different_key_with_the_same_id_is_refused():
    token = _vault({"k1": NEW_KEY}).encrypt(ID_NUMBER)

    with pytest.raises(PiiDecryptionError, match="failed authentication"):
        _vault().decrypt(token)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "form v1.<key_id>.<payload>"),
        ("v1.k1", "form v1.<key_id>.<payload>"),
        ("v1.k1.abc.def", "form v1.<key_id>.<payload>"),
        ("v2.k1." + _b64(bytes(40)), "version is not supported"),
        ("v1.k1.not base64!", "not urlsafe base64"),
        ("v1.k1." + _b64(bytes(27)), "too short"),
        (None, "must be a string"),
    ],
)
def test_malformed_token_is_refused_with_the_reason(token, reason):
    with pytest.raises(PiiDecryptionError, match=re.escape(reason)):
        _vault().decrypt(token)


def test_lookup_hash_is_hmac_sha256_hex_of_the_upper_cased_number():
    expected = hmac.new(HASH_KEY, ID_NUMBER.encode(), hashlib.sha256).hexdigest()

    assert _vault().lookup_hash(ID_NUMBER) == expected


def test_lookup_hash_is_deterministic_and_ignores_case_of_x():
    vault = _vault()

    assert vault.lookup_hash(ID_NUMBER) == vault.lookup_hash(ID_NUMBER.lower())
    assert vault.lookup_hash(ID_NUMBER) == _vault().lookup_hash(ID_NUMBER)


def test_lookup_hash_depends_on_the_hash_key_not_the_encryption_key():
    with_other_hash_key = _vault(hash_key=b"g" * 32)
    with_other_encryption_key = _vault({"k9": NEW_KEY}, active="k9")

    assert with_other_hash_key.lookup_hash(ID_NUMBER) != _vault().lookup_hash(ID_NUMBER)
    assert with_other_encryption_key.lookup_hash(ID_NUMBER) == _vault().lookup_hash(ID_NUMBER)


@pytest.mark.parametrize(
    ("keys", "active", "hash_key", "complaint"),
    [
        ({}, "k1", HASH_KEY, "at least one encryption key"),
        ({"k1": bytes(16)}, "k1", HASH_KEY, "must be 32 bytes"),
        ({"k1": bytes(33)}, "k1", HASH_KEY, "must be 32 bytes"),
        ({"k1": "x" * 32}, "k1", HASH_KEY, "must be 32 bytes"),
        ({"k.1": OLD_KEY}, "k.1", HASH_KEY, "key ids must be"),
        ({"k:1": OLD_KEY}, "k:1", HASH_KEY, "key ids must be"),
        ({"": OLD_KEY}, "", HASH_KEY, "key ids must be"),
        ({"k1": OLD_KEY}, "k2", HASH_KEY, "active key id 'k2'"),
        ({"k1": OLD_KEY}, "k1", bytes(31), "hash key must be at least 32 bytes"),
    ],
)
def test_vault_refuses_unusable_keys(keys, active, hash_key, complaint):
    with pytest.raises(ValueError, match=re.escape(complaint)):
        PiiVault(keys, active, hash_key)


def test_vault_from_settings_makes_the_first_key_active():
    spec = f"k2:{_b64(NEW_KEY)}, k1:{_b64(OLD_KEY)}"
    vault = PiiVault.from_settings(spec, _b64(HASH_KEY))
    old_token = _vault().encrypt(ID_NUMBER)

    assert vault.encrypt(ID_NUMBER).startswith("v1.k2.")
    assert vault.decrypt(old_token) == ID_NUMBER
    assert vault.lookup_hash(ID_NUMBER) == _vault().lookup_hash(ID_NUMBER)


@pytest.mark.parametrize(
    ("spec", "hash_key_b64", "complaint"),
    [
        ("", _b64(HASH_KEY), "'kid1:base64key,kid2:base64key'"),
        (_b64(OLD_KEY), _b64(HASH_KEY), "'kid1:base64key,kid2:base64key'"),
        (f"k1:{_b64(OLD_KEY)},", _b64(HASH_KEY), "'kid1:base64key,kid2:base64key'"),
        (f":{_b64(OLD_KEY)}", _b64(HASH_KEY), "'kid1:base64key,kid2:base64key'"),
        ("k1:", _b64(HASH_KEY), "'kid1:base64key,kid2:base64key'"),
        (f"k1:{_b64(OLD_KEY)},k1:{_b64(NEW_KEY)}", _b64(HASH_KEY), "'k1' appears twice"),
        ("k1:not*base64", _b64(HASH_KEY), "encryption key 'k1' is not valid base64"),
        (f"k1:{_b64(bytes(16))}", _b64(HASH_KEY), "encryption key 'k1' must be 32 bytes"),
        (f"k1:{_b64(OLD_KEY)}", "not*base64", "hash key is not valid base64"),
        (f"k1:{_b64(OLD_KEY)}", _b64(bytes(8)), "hash key must be at least 32 bytes"),
    ],
)
def test_vault_from_settings_names_what_is_malformed(spec, hash_key_b64, complaint):
    with pytest.raises(ValueError, match=re.escape(complaint)) as caught:
        PiiVault.from_settings(spec, hash_key_b64)

    assert _b64(OLD_KEY) not in str(caught.value)


def test_generated_keys_are_distinct_32_byte_base64():
    keys = {generate_key_b64() for _ in range(20)}

    assert len(keys) == 20
    assert all(len(base64.b64decode(key, validate=True)) == 32 for key in keys)


def test_generated_keys_build_a_working_vault():
    vault = PiiVault.from_settings(f"k1:{generate_key_b64()}", generate_key_b64())

    assert vault.decrypt(vault.encrypt(ID_NUMBER)) == ID_NUMBER


def test_opaque_id_is_stable_and_reveals_no_part_nor_the_lookup_hash():
    vault = _vault()
    recipient = vault.lookup_hash(ID_NUMBER)
    delivery = vault.opaque_id("delivery", "event-1", recipient, "inbox")

    assert delivery == vault.opaque_id("delivery", "event-1", recipient, "inbox")
    assert re.fullmatch(r"[0-9a-f]{32}", delivery)
    assert recipient not in delivery and recipient[:16] not in delivery
    assert "event-1" not in delivery
    assert delivery != _vault(hash_key=b"k" * 32).opaque_id(
        "delivery", "event-1", recipient, "inbox"
    )


def test_opaque_id_differs_by_every_part_and_by_purpose():
    vault = _vault()
    ids = {
        vault.opaque_id("delivery", "e1", "r1", "inbox"),
        vault.opaque_id("delivery", "e2", "r1", "inbox"),
        vault.opaque_id("delivery", "e1", "r2", "inbox"),
        vault.opaque_id("delivery", "e1", "r1", "sms"),
        vault.opaque_id("other", "e1", "r1", "inbox"),
        # The separator keeps ("e1r", "1") apart from ("e1", "r1").
        vault.opaque_id("delivery", "e1r", "1", "inbox"),
    }
    assert len(ids) == 6
