"""mutual_aid's store on nx-27017: the same bill is one claim, the cap is never overdrawn."""

from __future__ import annotations

import uuid
from datetime import date

import eventlet
import pytest
from pymongo import MongoClient

from services.mutual_aid.application.claims import decide_submitted_bill
from services.mutual_aid.application.policies import PolicyBook
from services.mutual_aid.store import DOSSIERS, DOSSIERS_SYNCED, MutualAidStore, NewMember
from shared.consumer import record_dossier_head
from shared.contracts.mutual_aid import DischargeBillSchema, sealed_bill
from shared.events import Event, make_event
from tests.support.client import new_id_number
from tests.support.commands import Commands

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


# ---- the dossiers a member heads, kept on the member's documents ------------------------------


DOSSIER_PAYLOADS = {
    "dossier_established": {"tier": "local", "org": "LY-XL", "established_on": "2018-01-05"},
    "dossier_tier_changed": {"tier_from": "local", "tier": "national", "changed_on": "2018-02-01"},
    "dossier_exited": {"reason": "income_above_line", "exited_on": "2018-06-01"},
    "dossier_transferred": {"county_from": "LY-XL", "org": "LY-SH", "transferred_on": "2018-03-01"},
}


def dossier_event(event_type: str, dossier_id: str, head_hash: str, revision: int) -> Event:
    return make_event(
        event_type,
        {
            "dossier_id": dossier_id,
            "head_id_hash": head_hash,
            "county": "LY-XL",
            "revision": revision,
            **DOSSIER_PAYLOADS[event_type],
        },
        producer="dossiers",
        correlation_id="it-dossiers",
    )


def apply_dossier_event(store, event: Event) -> bool:
    if event.event_type == "dossier_exited":
        return store.close_dossier_head(event)
    return store.open_dossier_head(event, tier=event.payload.get("tier"))


def enrol_id(store, id_number: str) -> str:
    store.enroll(
        period=11,
        plan="A",
        employer_org="LY-XL-0042",
        enrolled_on=date(2017, 11, 20),
        members=[NewMember(id_number, "张三", date(2018, 1, 1), renewal=False)],
    )
    return store.vault.lookup_hash(id_number)


def hardship_as_adjudication_reads_it(store, id_hash: str) -> bool:
    member = store.membership(11, id_hash)
    assert member.get(DOSSIERS_SYNCED)  # answered from the document alone (nx keeps 1)
    return store.heads_open_dossier(id_hash, member)


def test_a_dossier_established_before_enrolment_is_on_the_new_member_document(store):
    id_number = new_id_number()
    head = store.vault.lookup_hash(id_number)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    assert apply_dossier_event(store, dossier_event("dossier_established", dossier_id, head, 1))
    enrol_id(store, id_number)
    assert store.membership(11, head)[DOSSIERS] == {dossier_id: {"status": "open", "revision": 1}}
    assert hardship_as_adjudication_reads_it(store, head) is True
    # Its exit, later, reaches the document; the late establishment changes nothing.
    assert apply_dossier_event(store, dossier_event("dossier_exited", dossier_id, head, 3))
    assert not apply_dossier_event(
        store, dossier_event("dossier_tier_changed", dossier_id, head, 2)
    )
    assert store.membership(11, head)[DOSSIERS][dossier_id] == {"status": "exited", "revision": 3}
    assert hardship_as_adjudication_reads_it(store, head) is False


def test_a_dossier_established_after_enrolment_reaches_the_member_document_once(store):
    id_number = new_id_number()
    head = enrol_id(store, id_number)
    assert hardship_as_adjudication_reads_it(store, head) is False
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    established = dossier_event("dossier_established", dossier_id, head, 1)
    assert apply_dossier_event(store, established)
    assert not apply_dossier_event(store, established)  # a redelivery
    assert hardship_as_adjudication_reads_it(store, head) is True
    # An exit arriving before a transfer of an earlier revision: the exit stands.
    assert apply_dossier_event(store, dossier_event("dossier_exited", dossier_id, head, 3))
    assert not apply_dossier_event(store, dossier_event("dossier_transferred", dossier_id, head, 2))
    assert store.membership(11, head)[DOSSIERS][dossier_id] == {"status": "exited", "revision": 3}
    assert hardship_as_adjudication_reads_it(store, head) is False


def test_a_dossier_event_between_the_enrolment_insert_and_its_copy_is_kept(store, monkeypatch):
    id_number = new_id_number()
    head = store.vault.lookup_hash(id_number)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    copy = store.copy_dossier_heads

    def event_first(id_hashes, period):
        apply_dossier_event(store, dossier_event("dossier_established", dossier_id, head, 1))
        copy(id_hashes, period)

    monkeypatch.setattr(store, "copy_dossier_heads", event_first)
    enrol_id(store, id_number)
    assert hardship_as_adjudication_reads_it(store, head) is True


def test_a_crash_after_the_read_model_row_is_mended_by_the_redelivery(store):
    id_number = new_id_number()
    head = enrol_id(store, id_number)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    established = dossier_event("dossier_established", dossier_id, head, 1)
    # The row was written, then the process died before the member documents were.
    assert record_dossier_head(store.dossier_heads, established, "open", "local")
    assert hardship_as_adjudication_reads_it(store, head) is False
    assert not apply_dossier_event(store, established)  # the redelivery: the row has it
    assert hardship_as_adjudication_reads_it(store, head) is True


def test_dossier_revisions_racing_leave_the_newest_on_the_member_document(store):
    id_number = new_id_number()
    head = enrol_id(store, id_number)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    # Each writer copies the row as it read it, all at once, in no order.
    pool = eventlet.GreenPool(6)
    rows = [
        {
            "_id": dossier_id,
            "head_id_hash": head,
            "status": "exited" if r == 6 else "open",
            "revision": r,
        }
        for r in (3, 1, 6, 2, 5, 4)
    ]
    list(pool.imap(store._copy_head_row, rows))
    assert store.membership(11, head)[DOSSIERS][dossier_id] == {"status": "exited", "revision": 6}


def test_a_member_document_from_before_the_copy_is_answered_from_the_read_model(store):
    id_number = new_id_number()
    head = store.vault.lookup_hash(id_number)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    apply_dossier_event(store, dossier_event("dossier_established", dossier_id, head, 1))
    enrol_id(store, id_number)
    # As enrolled before members carried the dossiers: no map, no mark.
    store.members.update_one({"_id": f"11:{head}"}, {"$unset": {DOSSIERS: "", DOSSIERS_SYNCED: ""}})
    assert store.heads_open_dossier(head, store.membership(11, head)) is True
    # Enrolled again (already enrolled), the document gets the map and the mark.
    enrol_id(store, id_number)
    assert hardship_as_adjudication_reads_it(store, head) is True


def test_a_queued_bill_of_a_dossier_head_is_decided_in_four_commands(store, db, settings):
    """Overlapping stays, the member (membership, cap and the dossiers headed), the cap
    reservation, the decided claim: the hardship ratio costs no read of its own."""
    id_number = new_id_number()
    head = store.vault.lookup_hash(id_number)
    apply_dossier_event(
        store, dossier_event("dossier_established", f"D-{uuid.uuid4().hex[:8]}", head, 1)
    )
    enrol_id(store, id_number)
    data = DischargeBillSchema().load(
        {
            "bill_no": f"ZY-{uuid.uuid4().hex[:12]}",
            "patient_id_number": id_number,
            "patient_name": "张三明",
            "hospital_level": 3,
            "admission_date": "2018-05-02",
            "discharge_date": "2018-05-09",
            "diagnoses": ["K80.1"],
            "total_cost": "90000.00",
            "fund_paid": "8000.00",
            "self_pay_in_catalogue": "3000.00",
            "self_pay_out_of_catalogue": "1000.00",
            "submitted_on": "2018-05-10",
        }
    )
    hospital = {"code": "H0001", "kind": "hospital", "level": 3}
    payload = sealed_bill(store.vault, hospital, "msg_c4", data, date(2018, 5, 10))
    commands = Commands()
    client = MongoClient(settings.mongo_uri, tz_aware=True, event_listeners=[commands])
    try:
        counted = MutualAidStore(client[db.name], settings)
        policies = PolicyBook(counted, "config/policy")
        policies.in_force_on(date(2018, 5, 9))  # the policy index is cached per process
        commands.seen.clear()
        decision, inserted = decide_submitted_bill(counted, policies, payload, "it")
        seen = list(commands.seen)
    finally:
        client.close()
    assert inserted and decision.status == "approved"
    # (3000 − 800) × 40 % plan A hardship ratio
    assert decision.amount == 88_000
    assert seen == [
        ("find", "claims"),
        ("find", "members"),
        ("update", "members"),
        ("insert", "claims"),
    ]
