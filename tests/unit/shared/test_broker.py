"""The broker definitions rendered for docker/ and k8s/: RabbitMQ's password hash, a user per
service, and the command that writes them."""

import base64
import hashlib
import json

from shared import broker
from shared.runner import SERVICES


def test_password_hash_is_rabbitmqs_salted_sha256():
    decoded = base64.b64decode(broker.password_hash("s3cret-pw"))
    salt, digest = decoded[:4], decoded[4:]

    assert digest == hashlib.sha256(salt + b"s3cret-pw").digest()
    assert broker.password_hash("s3cret-pw") != broker.password_hash("s3cret-pw")  # salted


def test_definitions_command_writes_a_user_per_service(tmp_path):
    output = tmp_path / "definitions.json"
    environ = {"RABBITMQ_ADMIN_PASSWORD": "a"} | {
        broker.password_variable(s): f"pw-{s}" for s in SERVICES
    }

    assert broker.main(["definitions", "--output", str(output)], environ) == 0

    document = json.loads(output.read_text())
    assert sorted(u["name"] for u in document["users"]) == sorted(
        [broker.ADMIN_USER, *(broker.broker_user(s) for s in SERVICES)]
    )
    assert {p["vhost"] for p in document["permissions"]} == {"/"}


def test_definitions_command_names_the_missing_passwords(tmp_path, capsys):
    output = tmp_path / "definitions.json"

    assert (
        broker.main(["definitions", "--output", str(output)], {"RABBITMQ_ADMIN_PASSWORD": "a"}) == 2
    )

    assert "RABBITMQ_PASSWORD_DOSSIERS" in capsys.readouterr().err
    assert not output.exists()
