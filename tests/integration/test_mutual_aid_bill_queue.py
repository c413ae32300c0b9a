"""mutual_aid deciding the bills the gateway queued (``bill_submitted``), on the real broker and
nx-27017: each bill stored once under the claim id the hospital was answered, whatever the
redeliveries; the member's cap reserved once."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from nameko.testing.services import entrypoint_waiter

from services.mutual_aid.service import MutualAidService
from shared.contracts.mutual_aid import DischargeBillSchema, claim_id_for, sealed_bill
from shared.crypto import PiiVault
from shared.events import make_event
from shared.mongo import get_database
from shared.publisher import ConfirmedPublisher
from tests.integration.test_mutual_aid_service import bill, enrol, rpc_proxy
from tests.support.client import new_id_number

pytestmark = pytest.mark.integration

HOSPITAL = {"code": "H0001", "kind": "hospital", "level": 3}


@pytest.fixture
def container(run_service):
    return run_service(MutualAidService)


@pytest.fixture
def service(container, settings):
    with rpc_proxy(settings) as cluster:
        yield cluster.mutual_aid


@pytest.fixture
def db(settings):
    return get_database(settings.mongo_uri, settings.database_name("mutual_aid"))


@pytest.fixture
def queue_bill(container, settings):
    """Publish a bill as the gateway does and wait until mutual_aid has handled it."""
    vault = PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)
    publisher = ConfirmedPublisher(settings.amqp_uri)

    def send(body: dict, webhook_id: str | None = None) -> dict:
        data = DischargeBillSchema().load(body)
        payload = sealed_bill(
            vault, HOSPITAL, webhook_id or f"msg_{uuid.uuid4().hex}", data, date(2018, 5, 10)
        )
        event = make_event("bill_submitted", payload, producer="gateway", correlation_id="it")
        with entrypoint_waiter(container, "decide_bill"):
            publisher.publish(event)
        return payload

    yield send
    publisher.close()


def member_doc(db, settings, id_number):
    vault = PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)
    return db["members"].find_one({"_id": f"11:{vault.lookup_hash(id_number)}"})


def test_a_queued_bill_is_decided_and_stored_under_the_answered_claim_id(
    service, queue_bill, db, settings
):
    id_number = new_id_number()
    enrol(service, id_number)
    body = bill(id_number)
    payload = queue_bill(body)
    assert payload["claim_id"] == claim_id_for("H0001", body["bill_no"])
    claim = db["claims"].find_one({"_id": payload["claim_id"]})
    assert (
        claim["status"] == "approved" and claim["member_id_masked"] == payload["member_id_masked"]
    )
    assert id_number not in str(claim)  # sealed, as the gateway sent it
    assert claim["outbox_pending"] or claim["outbox"] == {}  # its claim_decided for the relay


def test_the_same_bill_delivered_twice_is_one_claim_and_one_cap_reservation(
    service, queue_bill, db, settings
):
    id_number = new_id_number()
    enrol(service, id_number)
    body = bill(id_number)
    first = queue_bill(body)
    queue_bill(body)  # the hospital sent it again (another webhook id)
    queue_bill(body, webhook_id=first["webhook_id"])  # a redelivery of the first message
    assert db["claims"].count_documents({"hospital_code": "H0001", "bill_no": body["bill_no"]}) == 1
    member = member_doc(db, settings, id_number)
    claim = db["claims"].find_one({"_id": first["claim_id"]})
    assert member["cap_claims"] == {first["claim_id"]: claim["amount_fen"]}
    assert member["cap_used"] == claim["amount_fen"] > 0


def test_a_webhook_id_reused_for_another_bill_stores_nothing_and_gives_the_cap_back(
    service, queue_bill, db, settings
):
    id_number = new_id_number()
    enrol(service, id_number)
    first = queue_bill(bill(id_number))
    other = queue_bill(bill(id_number, month=7), webhook_id=first["webhook_id"])
    assert db["claims"].find_one({"_id": other["claim_id"]}) is None
    member = member_doc(db, settings, id_number)
    assert list(member["cap_claims"]) == [first["claim_id"]]
    assert member["cap_used"] == db["claims"].find_one({"_id": first["claim_id"]})["amount_fen"]
