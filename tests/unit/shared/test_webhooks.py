"""Rules of Standard Webhooks verification: the spec's vectors, tolerance, tampering, secrets."""

import ast
import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
import standardwebhooks

from shared.webhooks import (
    WebhookVerificationError,
    check_webhook_headers,
    generate_webhook_secret,
    sign_webhook,
    verify_webhook,
)

# Test vectors of the Standard Webhooks reference libraries, repository
# standard-webhooks/standard-webhooks: libraries/python/tests/test_webhooks.py (test_sign_function,
# test_invalid_signature_raises_error, test_multi_sig_payload_is_valid) and
# libraries/go/webhook_test.go (TestWebhookSign) publish the same values.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_PAYLOAD = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SPEC_WRONG_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="
SPEC_UNRELATED_SIGNATURE = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="

OTHER_SECRET = "whsec_" + base64.b64encode(b"another partner's secret").decode()


def _spec_headers(**overrides) -> dict[str, str]:
    headers = {
        "webhook-id": SPEC_MSG_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    headers.update(overrides)
    return {name: value for name, value in headers.items() if value is not None}


def _reason(secret, headers, body, *, now=SPEC_TIMESTAMP, **kwargs) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(secret, headers, body, now=now, **kwargs)
    return caught.value.reason


def test_sign_reproduces_the_spec_vector():
    signature = sign_webhook(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD)

    assert signature == SPEC_SIGNATURE


def test_spec_vector_verifies_and_returns_the_webhook_id():
    assert verify_webhook(SPEC_SECRET, _spec_headers(), SPEC_PAYLOAD, now=SPEC_TIMESTAMP) == (
        SPEC_MSG_ID
    )


def test_spec_wrong_signature_vector_is_refused():
    headers = _spec_headers(**{"webhook-signature": SPEC_WRONG_SIGNATURE})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "invalid_signature"


def test_spec_multi_signature_header_passes_when_one_entry_matches():
    header = " ".join(
        [
            f"v1,{SPEC_UNRELATED_SIGNATURE}",
            f"v2,{SPEC_UNRELATED_SIGNATURE}",
            SPEC_SIGNATURE,
            f"v1,{SPEC_UNRELATED_SIGNATURE}",
        ]
    )
    headers = _spec_headers(**{"webhook-signature": header})

    assert verify_webhook(SPEC_SECRET, headers, SPEC_PAYLOAD, now=SPEC_TIMESTAMP) == SPEC_MSG_ID


def test_multi_signature_header_of_only_unrelated_entries_is_refused():
    header = f"v1,{SPEC_UNRELATED_SIGNATURE} v1,{SPEC_UNRELATED_SIGNATURE}"
    headers = _spec_headers(**{"webhook-signature": header})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "invalid_signature"


def test_matching_signature_under_another_version_is_refused():
    headers = _spec_headers(**{"webhook-signature": SPEC_SIGNATURE.replace("v1,", "v2,")})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "invalid_signature"


@pytest.mark.parametrize("age_seconds", [0, 1, 299, 300])
def test_timestamp_up_to_300_seconds_old_passes(age_seconds):
    now = SPEC_TIMESTAMP + age_seconds

    assert verify_webhook(SPEC_SECRET, _spec_headers(), SPEC_PAYLOAD, now=now) == SPEC_MSG_ID


@pytest.mark.parametrize("age_seconds", [300.001, 301, 86_400])
def test_timestamp_more_than_300_seconds_old_is_refused(age_seconds):
    now = SPEC_TIMESTAMP + age_seconds

    assert _reason(SPEC_SECRET, _spec_headers(), SPEC_PAYLOAD, now=now) == "timestamp_too_old"


@pytest.mark.parametrize("lead_seconds", [1, 299, 300])
def test_timestamp_up_to_300_seconds_ahead_passes(lead_seconds):
    now = SPEC_TIMESTAMP - lead_seconds

    assert verify_webhook(SPEC_SECRET, _spec_headers(), SPEC_PAYLOAD, now=now) == SPEC_MSG_ID


@pytest.mark.parametrize("lead_seconds", [300.001, 301, 86_400])
def test_timestamp_more_than_300_seconds_ahead_is_refused(lead_seconds):
    now = SPEC_TIMESTAMP - lead_seconds

    assert _reason(SPEC_SECRET, _spec_headers(), SPEC_PAYLOAD, now=now) == "timestamp_too_new"


def test_tolerance_can_be_narrowed():
    headers = _spec_headers()

    assert verify_webhook(
        SPEC_SECRET, headers, SPEC_PAYLOAD, now=SPEC_TIMESTAMP + 60, tolerance_seconds=60
    )
    assert (
        _reason(SPEC_SECRET, headers, SPEC_PAYLOAD, now=SPEC_TIMESTAMP + 61, tolerance_seconds=60)
        == "timestamp_too_old"
    )


def test_timestamp_is_checked_against_the_clock_by_default():
    with pytest.raises(WebhookVerificationError, match="timestamp_too_old"):
        verify_webhook(SPEC_SECRET, _spec_headers(), SPEC_PAYLOAD)


@pytest.mark.parametrize(
    "body",
    [b'{"test": 2432232315}', b'{"test": 2432232314} ', b"", SPEC_PAYLOAD.upper()],
)
def test_tampered_body_is_refused(body):
    assert _reason(SPEC_SECRET, _spec_headers(), body) == "invalid_signature"


def test_signature_under_another_secret_is_refused():
    assert _reason(OTHER_SECRET, _spec_headers(), SPEC_PAYLOAD) == "invalid_signature"


def test_signature_moved_to_another_webhook_id_is_refused():
    headers = _spec_headers(**{"webhook-id": "msg_another"})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "invalid_signature"


def test_signature_replayed_with_another_timestamp_is_refused():
    headers = _spec_headers(**{"webhook-timestamp": str(SPEC_TIMESTAMP + 1)})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "invalid_signature"


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(header):
    headers = _spec_headers(**{header: None})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "missing_headers"


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_empty_header_is_refused(header):
    headers = _spec_headers(**{header: ""})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "missing_headers"


def test_header_names_are_matched_case_insensitively():
    headers = {
        "Webhook-Id": SPEC_MSG_ID,
        "WEBHOOK-TIMESTAMP": str(SPEC_TIMESTAMP),
        "Webhook-Signature": SPEC_SIGNATURE,
    }

    assert verify_webhook(SPEC_SECRET, headers, SPEC_PAYLOAD, now=SPEC_TIMESTAMP) == SPEC_MSG_ID


@pytest.mark.parametrize(
    "timestamp",
    [
        "hello",
        "1614265330.0",
        "-1614265330",
        "+1614265330",
        " 1614265330",
        "01614265330",
        "1_614_265_330",
        "１６１４２６５３３０",
        "1614265330" * 2,
    ],
)
def test_timestamp_that_is_not_plain_unix_seconds_is_refused(timestamp):
    headers = _spec_headers(**{"webhook-timestamp": timestamp})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "invalid_timestamp"


@pytest.mark.parametrize(
    "signature_header",
    ["v1", "v1,", "v1,not base64!", "garbage", ",", "v1,g0hM9SsE", "  "],
)
def test_malformed_signature_entries_are_refused_not_crashed_on(signature_header):
    headers = _spec_headers(**{"webhook-signature": signature_header})

    assert _reason(SPEC_SECRET, headers, SPEC_PAYLOAD) == "invalid_signature"


def test_body_that_is_not_utf8_is_verified_as_bytes():
    body = b"\xff\xfe\x00binary"
    secret = generate_webhook_secret()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": sign_webhook(secret, "msg_1", SPEC_TIMESTAMP, body),
    }

    assert verify_webhook(secret, headers, body, now=SPEC_TIMESTAMP) == "msg_1"


def test_verification_error_carries_the_reason_as_its_message():
    error = WebhookVerificationError("invalid_signature")

    assert (error.reason, str(error)) == ("invalid_signature", "invalid_signature")


@pytest.mark.parametrize(
    ("secret", "complaint"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with 'whsec_'"),
        ("whsec_not*base64", "not valid base64"),
        ("whsec_a", "not valid base64"),
        ("whsec_", "empty"),
    ],
)
def test_malformed_secret_is_a_configuration_error(secret, complaint):
    with pytest.raises(ValueError, match=complaint):
        verify_webhook(secret, _spec_headers(), SPEC_PAYLOAD, now=SPEC_TIMESTAMP)
    with pytest.raises(ValueError, match=complaint):
        sign_webhook(secret, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD)


def test_secret_without_base64_padding_is_accepted():
    padded = "whsec_" + base64.b64encode(b"twenty-five bytes of key!").decode()
    unpadded = padded.rstrip("=")

    assert padded != unpadded
    assert sign_webhook(unpadded, "msg_1", SPEC_TIMESTAMP, b"{}") == sign_webhook(
        padded, "msg_1", SPEC_TIMESTAMP, b"{}"
    )


def test_generated_secret_is_whsec_and_24_random_bytes():
    secrets = {generate_webhook_secret() for _ in range(20)}

    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24


def test_generated_secret_signs_what_it_verifies():
    secret = generate_webhook_secret()
    body = b'{"bill_no": "B-1", "amount": "1234.50"}'
    headers = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": sign_webhook(secret, "msg_2", SPEC_TIMESTAMP, body),
    }

    assert verify_webhook(secret, headers, body, now=SPEC_TIMESTAMP) == "msg_2"


@pytest.mark.parametrize("webhook_id", ["msg_1", "evt.with.dots", "医院-0001"])
def test_signatures_agree_with_the_reference_library(webhook_id):
    secret = generate_webhook_secret()
    body = '{"patient": "张三", "amount": "88.00"}'.encode()
    reference = standardwebhooks.Webhook(secret)

    ours = sign_webhook(secret, webhook_id, SPEC_TIMESTAMP, body)
    theirs = reference.sign(
        msg_id=webhook_id,
        timestamp=datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC),
        data=body.decode(),
    )

    assert ours == theirs


def test_reference_library_accepts_what_we_sign_now():
    secret = generate_webhook_secret()
    body = b'{"test": 1}'
    timestamp = int(datetime.now(tz=UTC).timestamp())
    headers = {
        "webhook-id": "msg_3",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_webhook(secret, "msg_3", timestamp, body),
    }

    assert standardwebhooks.Webhook(secret).verify(body, headers) == {"test": 1}


@pytest.mark.parametrize(
    "headers, reason",
    [
        (_spec_headers(**{"webhook-signature": None}), "missing_headers"),
        (_spec_headers(**{"webhook-timestamp": "01614265330"}), "invalid_timestamp"),
        (_spec_headers(**{"webhook-timestamp": str(SPEC_TIMESTAMP - 301)}), "timestamp_too_old"),
        (_spec_headers(**{"webhook-timestamp": str(SPEC_TIMESTAMP + 301)}), "timestamp_too_new"),
    ],
)
def test_headers_and_timestamp_are_checked_without_secret_or_body(headers, reason):
    with pytest.raises(WebhookVerificationError) as caught:
        check_webhook_headers(headers, now=SPEC_TIMESTAMP)
    assert caught.value.reason == reason


def test_header_check_returns_what_the_signature_needs():
    assert check_webhook_headers(_spec_headers(), now=SPEC_TIMESTAMP) == (
        SPEC_MSG_ID,
        str(SPEC_TIMESTAMP),
        SPEC_SIGNATURE,
    )


def test_reference_library_is_a_test_oracle_not_a_runtime_dependency():
    root = Path(__file__).resolve().parents[3]
    runtime_pins = (root / "requirements" / "services.txt").read_text(encoding="utf-8")
    assert "standardwebhooks" not in runtime_pins.lower()
    importers = []
    for tree in ("shared", "services", "scripts"):
        for path in (root / tree).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(name.split(".")[0] == "standardwebhooks" for name in names):
                    importers.append(str(path.relative_to(root)))
    assert importers == []
