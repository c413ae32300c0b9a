"""mutual_aid's store on nx-27017: the same bill is one claim, the cap is never overdrawn."""

from __future__ import annotations

from datetime import date

import eventlet
import pytest

from services.mutual_aid.store import MutualAidStore, NewMember
from shared.events import make_event
from tests.support.client import new_id_number

pytestmark = pytest.mark.integration


@pytest.fixture
def store(db, settings):
    store = MutualAidStore(db, settings)
    store.ensure_indexes()
    return store


def received(claim_id):
    return make_event(
        "claim_received",
        {"claim_id": claim_id, "hospital_code": "H1", "bill_no": "b"},
        producer="mutual_aid",
        correlation_id="c",
    )


def bill(bill_no, id_number):
    return {
        "bill_no": bill_no,
        "patient_id_number": id_number,
        "patient_name": "张三明",
        "admission_date": "2018-05-02",
        "discharge_date": "2018-05-09",
        "diagnoses": ["X70.1", "K35.8"],
        "single_disease_code": "K35",
    }


def test_same_bill_submitted_concurrently_is_one_claim(store):
    id_number = new_id_number()
    pool = eventlet.GreenPool(6)
    results = list(
        pool.imap(
            lambda i: store.accept_bill("H1", f"msg_{i}", bill("B-1", id_number), received),
            range(6),
        )
    )
    assert len({claim_id for claim_id, _, _ in results}) == 1
    assert [created for _, _, created in results].count(True) == 1
    assert store.claims.count_documents({"bill_no": "B-1"}) == 1


def test_id_number_is_stored_encrypted_hashed_and_masked(store):
    id_number = new_id_number()
    claim_id, _, _ = store.accept_bill("H1", "msg_b2", bill("B-2", id_number), received)
    raw = store.claims.find_one({"_id": claim_id})
    assert id_number not in str(raw)
    assert store.vault.decrypt(raw["member_id_enc"]) == id_number
    assert raw["member_id_hash"] == store.vault.lookup_hash(id_number)
    assert raw["member_id_masked"] == id_number[:6] + "********" + id_number[-4:]


def test_diagnoses_and_patient_name_are_stored_encrypted(store):
    id_number = new_id_number()
    claim_id, _, _ = store.accept_bill("H1", "msg_b4", bill("B-4", id_number), received)
    raw = store.claims.find_one({"_id": claim_id})
    # Quoted or dotted, a code cannot be a piece of a base64 token.
    for clear in ("张三明", "三明", "X70.1", "K35.8", "'K35'"):
        assert clear not in str(raw), clear
    assert raw["patient_name_masked"] == "张*明"
    assert store.medical_facts(raw) == (("X70.1", "K35.8"), "K35")


def enrolled_member(store) -> str:
    """Enrol a new member in period 11, plan A; returns their ID-number hash."""
    id_number = new_id_number()
    store.enroll(
        period=11,
        plan="A",
        employer_org="LY-XL-0042",
        enrolled_on=date(2017, 11, 20),
        members=[NewMember(id_number, "张三", date(2018, 1, 1), renewal=False)],
    )
    return store.vault.lookup_hash(id_number)


def test_two_claims_decided_at_once_never_pass_the_cap_together(store):
    id_hash = enrolled_member(store)
    cap = 1_000_000  # fen
    pool = eventlet.GreenPool(10)
    reserved = list(
        pool.imap(lambda i: store.reserve_cap(11, id_hash, f"claim-{i}", 300_000, cap), range(10))
    )
    assert reserved.count(True) == 3
    assert store.membership(11, id_hash)["cap_used"] == 900_000


def test_a_claim_reserves_its_cap_once(store):
    id_hash = enrolled_member(store)
    assert store.reserve_cap(11, id_hash, "claim-1", 100, 1000) is True
    assert store.reserve_cap(11, id_hash, "claim-1", 100, 1000) is False
    assert store.membership(11, id_hash)["cap_used"] == 100


def test_enrolling_the_same_member_twice_reports_already_enrolled(store):
    member = NewMember(new_id_number(), "李四", date(2018, 1, 1), renewal=False)
    args = {
        "period": 11,
        "plan": "A",
        "employer_org": "LY-XL-0042",
        "enrolled_on": date(2017, 11, 20),
    }
    assert store.enroll(**args, members=[member]) == (1, 0)
    assert store.enroll(
        **args, members=[member, NewMember(new_id_number(), "王五", date(2018, 1, 1), False)]
    ) == (1, 1)


def test_replayed_webhook_id_gets_the_first_answer(store):
    id_number = new_id_number()
    first = store.accept_bill("H1", "msg_r", bill("B-3", id_number), received)
    store.claims.update_one({"_id": first[0]}, {"$set": {"status": "approved"}})
    assert store.accept_bill("H1", "msg_r", bill("B-3", id_number), received) == first
    assert store.accept_bill("H1", "msg_other", bill("B-3", id_number), received) == (
        first[0],
        "approved",
        False,
    )
    assert store.claims.count_documents({"bill_no": "B-3"}) == 1
