"""The mutual_aid service on the real broker and nx-27017: the dossier read model and the
hardship ratio, the cap under concurrent bills, reviews, payout batches, figures, policies."""

from __future__ import annotations

import csv
import io
import uuid

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter

from services.mutual_aid.service import MutualAidService
from shared import orgs
from shared.crypto import PiiVault
from shared.errors import ApiError
from shared.events import make_event
from shared.runner import nameko_config
from tests.support.client import new_id_number
from tests.support.principals import hospital, staff
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

ADMIN = staff("city_admin", "LY", "admin-1")
FINANCE = staff("finance", "LY", "fin-1")
CHECKER = staff("finance", "LY", "fin-2")


def rpc_proxy(settings) -> ClusterRpcProxy:
    # The gateway always sends a correlation id; so does this stand-in for it.
    return ClusterRpcProxy(nameko_config(settings), context_data={"correlation_id": "it-rpc"})


def reviewer(sub: str, org: str = "LY") -> str:
    return staff("reviewer", org, sub)


def new_employer() -> str:
    """A random grassroots unit of a real county: figures of this test's own (scope fails
    closed, so a made-up county would see nothing)."""
    counties = sorted(orgs.tree().counties)
    n = uuid.uuid4().int
    return f"{counties[n % len(counties)]}-{n // len(counties) % 10000:04d}"


@pytest.fixture
def container(run_service):
    return run_service(MutualAidService)


@pytest.fixture
def service(container, settings):
    with rpc_proxy(settings) as cluster:
        yield cluster.mutual_aid


@pytest.fixture
def vault(settings):
    return PiiVault.from_settings(settings.pii_encryption_keys, settings.pii_hash_key)


def enrol(service, id_number, plan="A", org="LY-XL-0042", period=11, **member) -> dict:
    return service.enroll(
        ADMIN,
        {
            "period": period,
            "employer_org": org,
            "plan": plan,
            "enrolled_on": "2017-11-20" if period == 11 else "2018-11-20",
            "members": [
                {
                    "id_number": id_number,
                    "name": "张三明",
                    "coverage_start": "2018-01-01" if period == 11 else "2019-01-01",
                    **member,
                }
            ],
        },
    )


def bill(id_number, month=5, self_pay="3000.00", **overrides) -> dict:
    body = {
        "bill_no": f"ZY-{uuid.uuid4().hex[:12]}",
        "patient_id_number": id_number,
        "patient_name": "张三明",
        "hospital_level": 3,
        "admission_date": f"2018-{month:02d}-02",
        "discharge_date": f"2018-{month:02d}-09",
        "diagnoses": ["K80.1"],
        "total_cost": "90000.00",
        "fund_paid": "8000.00",
        "self_pay_in_catalogue": self_pay,
        "self_pay_out_of_catalogue": "1000.00",
        "submitted_on": f"2018-{month:02d}-10",
    }
    body.update(overrides)
    return body


def submit(service, body) -> str:
    return service.submit_bill(hospital(), f"msg_{uuid.uuid4().hex}", body)["claim_id"]


def decided(service, claim_id) -> dict:
    return wait_until(
        lambda: service.get_claim(ADMIN, claim_id),
        lambda claim: claim["status"] != "received",
        what=f"claim {claim_id} decided",
    )


def of_dossier(dossier_id: str):
    """An ``entrypoint_waiter`` callback: done once a worker has handled an event of the dossier."""
    return lambda worker_ctx, result, exc_info: (
        worker_ctx.args[0].payload["dossier_id"] == dossier_id
    )


def dossier_event(publisher, event_type, dossier_id, head_hash, revision, **extra):
    payloads = {
        "dossier_established": {"tier": "local", "org": "LY-XL", "established_on": "2018-01-05"},
        "dossier_tier_changed": {
            "tier_from": "local",
            "tier": "national",
            "changed_on": "2018-02-01",
        },
        "dossier_exited": {"reason": "income_above_line", "exited_on": "2018-06-01"},
        "dossier_transferred": {
            "county_from": "LY-XL",
            "org": "LY-SH",
            "transferred_on": "2018-03-01",
        },
    }
    event = make_event(
        event_type,
        {
            "dossier_id": dossier_id,
            "head_id_hash": head_hash,
            "county": "LY-XL",
            "revision": revision,
            **payloads[event_type],
            **extra,
        },
        producer="dossiers",
        correlation_id="it-dossiers",
    )
    publisher.publish(event)
    return event


# ---- dossier read model and the hardship ratio ------------------------------------------------


def test_hardship_ratio_while_heading_an_open_dossier_and_not_after_its_exit(
    service, container, publisher, db, vault
):
    id_number = new_id_number()
    head = vault.lookup_hash(id_number)
    enrol(service, id_number)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    established = dossier_event(publisher, "dossier_established", dossier_id, head, 1)
    publisher.publish(established)  # a duplicate delivery
    heads = db.client["unionhub_mutual_aid"]["dossier_heads"]
    wait_until(lambda: heads.find_one({"_id": dossier_id}), what=f"dossier {dossier_id} read")

    during = decided(service, submit(service, bill(id_number, month=5)))
    # (3000 − 800) × 40 % plan A hardship ratio
    assert (during["status"], during["amount"]) == ("approved", "880.00")
    assert "hardship ratio" in during["trace"][4]

    dossier_event(publisher, "dossier_exited", dossier_id, head, 3)
    wait_until(
        lambda: heads.find_one({"_id": dossier_id})["status"],
        lambda status: status == "exited",
        what=f"dossier {dossier_id} read as exited",
    )
    # A tier change of revision 2 arriving after the exit (revision 3) changes nothing.
    with entrypoint_waiter(container, "on_dossier_tier_changed", callback=of_dossier(dossier_id)):
        late = dossier_event(publisher, "dossier_tier_changed", dossier_id, head, 2)
    row = heads.find_one({"_id": dossier_id})
    assert (row["status"], row["revision"]) == ("exited", 3)
    assert late.event_id not in row.get("applied_events", {})

    after = decided(service, submit(service, bill(id_number, month=7)))
    assert (after["status"], after["amount"]) == ("approved", "660.00")


def test_hardship_ratio_for_a_dossier_established_before_the_member_was_enrolled(
    service, container, publisher, db, vault
):
    id_number = new_id_number()
    head = vault.lookup_hash(id_number)
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    with entrypoint_waiter(container, "on_dossier_established", callback=of_dossier(dossier_id)):
        dossier_event(publisher, "dossier_established", dossier_id, head, 1)
    enrol(service, id_number)
    member = db.client["unionhub_mutual_aid"]["members"].find_one({"_id": f"11:{head}"})
    assert member["dossiers"] == {dossier_id: {"status": "open", "revision": 1}}

    during = decided(service, submit(service, bill(id_number, month=5)))
    assert (during["status"], during["amount"]) == ("approved", "880.00")
    assert "hardship ratio" in during["trace"][4]


def test_exit_arriving_before_establishment_leaves_the_dossier_exited(container, publisher, db):
    dossier_id = f"D-{uuid.uuid4().hex[:8]}"
    dossier_event(publisher, "dossier_exited", dossier_id, "h-out-of-order", 2)
    heads = db.client["unionhub_mutual_aid"]["dossier_heads"]
    wait_until(lambda: heads.find_one({"_id": dossier_id}), what=f"dossier {dossier_id} read")
    with (
        entrypoint_waiter(container, "on_dossier_established", callback=of_dossier(dossier_id)),
        entrypoint_waiter(container, "on_dossier_transferred", callback=of_dossier(dossier_id)),
    ):
        dossier_event(publisher, "dossier_established", dossier_id, "h-out-of-order", 1)
        dossier_event(publisher, "dossier_transferred", dossier_id, "h-out-of-order", 2)
    row = heads.find_one({"_id": dossier_id})
    assert (row["status"], row["revision"], row["last_event"]) == ("exited", 2, "dossier_exited")


# ---- the cap ----------------------------------------------------------------------------------


def test_two_bills_of_one_member_decided_at_once_never_pass_the_cap(service, settings):
    id_number = new_id_number()
    enrol(service, id_number)
    # Each alone: (30000 − 800) × 30 % = 8760.00; together they would be 17520.00 > 10000.00.
    bodies = [
        bill(id_number, month=5, self_pay="30000.00"),
        bill(id_number, month=8, self_pay="30000.00"),
    ]
    with rpc_proxy(settings) as other:
        pool = eventlet.GreenPool(2)
        ids = list(
            pool.imap(
                lambda pair: submit(*pair), [(service, bodies[0]), (other.mutual_aid, bodies[1])]
            )
        )
    claims = [decided(service, claim_id) for claim_id in ids]
    amounts = sorted(c["amount"] for c in claims)
    assert amounts == ["1240.00", "8760.00"]
    assert all(c["status"] == "approved" for c in claims)
    third = decided(service, submit(service, bill(id_number, month=10, self_pay="30000.00")))
    assert (third["status"], third["reason_code"]) == ("rejected", "cap_exhausted")


# ---- review -----------------------------------------------------------------------------------


def big_claim(service, org="LY-XL-0042") -> tuple[str, str]:
    """A plan C claim of (30000 − 800) × 50 % = 14600.00: above the threshold, two reviewers."""
    id_number = new_id_number()
    enrol(service, id_number, plan="C", org=org)
    claim_id = submit(service, bill(id_number, self_pay="30000.00"))
    claim = decided(service, claim_id)
    assert (claim["status"], claim["amount"]) == ("needs_review", "14600.00")
    return claim_id, id_number


def test_claim_above_threshold_needs_two_different_reviewers(service, db, vault):
    claim_id, id_number = big_claim(service)
    queue = service.review_queue(reviewer("r1"))["claims"]
    assert claim_id in [c["claim_id"] for c in queue]
    assert claim_id not in [
        c["claim_id"] for c in service.review_queue(reviewer("r9", "LY-SH"))["claims"]
    ]

    first = service.review(reviewer("r1"), claim_id, {"decision": "approve", "amount": "12000.00"})
    assert (first["status"], first["amount"]) == ("needs_review", "12000.00")
    with pytest.raises(ApiError) as again:
        service.review(reviewer("r1"), claim_id, {"decision": "approve"})
    assert int(again.value.status) == 409
    second = service.review(reviewer("r2"), claim_id, {"decision": "approve"})
    assert (second["status"], second["amount"]) == ("approved", "12000.00")
    assert second["trace"][-1].endswith("approved")

    member = db.client["unionhub_mutual_aid"]["members"].find_one(
        {"_id": f"11:{vault.lookup_hash(id_number)}"}
    )
    assert member["cap_used"] == 1_200_000  # the lowering gave 2600.00 back to the cap
    audit = service.audit_log(ADMIN, claim_id)["entries"]
    assert [(e["by"], e["outcome"]) for e in audit] == [
        ("r1", "awaiting_second_review"),
        ("r2", "approved"),
    ]
    with pytest.raises(ApiError) as late:
        service.review(reviewer("r3"), claim_id, {"decision": "reject", "note": "too late"})
    assert int(late.value.status) == 409


def test_rejection_releases_the_reserved_cap_and_raising_needs_a_reason(service, db, vault):
    claim_id, id_number = big_claim(service)
    with pytest.raises(ApiError) as raised:
        service.review(reviewer("r1"), claim_id, {"decision": "approve", "amount": "15000.00"})
    assert int(raised.value.status) == 422
    # A staff id with "." and "$" is a value in the review, never a field name.
    rejected = service.review(
        reviewer("wang.wu$1"), claim_id, {"decision": "reject", "note": "forged"}
    )
    assert (rejected["status"], rejected["amount"]) == ("rejected", "0.00")
    member = db.client["unionhub_mutual_aid"]["members"].find_one(
        {"_id": f"11:{vault.lookup_hash(id_number)}"}
    )
    assert member["cap_used"] == 0 and member["cap_claims"] == {}


def overlapping_stay_claim(service) -> tuple[dict, str]:
    """A plan C member's second bill over the same stay: (20300 − 800) × 50 % = 9750.00, below
    the threshold, so one review (duplicate_stay) would settle it at that amount."""
    id_number = new_id_number()
    enrol(service, id_number, plan="C")
    decided(service, submit(service, bill(id_number, self_pay="20300.00")))
    overlapping = bill(
        id_number,
        self_pay="20300.00",
        admission_date="2018-05-08",
        discharge_date="2018-05-12",
        submitted_on="2018-05-13",
    )
    claim = decided(service, submit(service, overlapping))
    assert (claim["status"], claim["reason_code"], claim["amount"]) == (
        "needs_review",
        "duplicate_stay",
        "9750.00",
    )
    return claim, id_number


def test_raising_a_one_review_claim_needs_a_second_reviewer_of_that_amount(service):
    claim, _ = overlapping_stay_claim(service)
    claim_id = claim["claim_id"]
    raised = service.review(
        reviewer("r1"),
        claim_id,
        {"decision": "approve", "amount": "15000.00", "note": "a second ward bill"},
    )
    assert (raised["status"], raised["amount"]) == ("needs_review", "15000.00")
    [queued] = [
        c for c in service.review_queue(reviewer("r9"))["claims"] if c["claim_id"] == claim_id
    ]
    assert (queued["amount"], queued["approvals_needed"], queued["approved_by"]) == (
        "15000.00",
        2,
        ["r1"],
    )
    # The checker changes the amount: the maker's approval of 15000.00 no longer counts.
    changed = service.review(
        reviewer("r2"), claim_id, {"decision": "approve", "amount": "12000.00", "note": "one line"}
    )
    assert (changed["status"], changed["amount"]) == ("needs_review", "12000.00")
    with pytest.raises(ApiError) as twice:
        service.review(reviewer("r2"), claim_id, {"decision": "approve"})
    assert int(twice.value.status) == 409
    final = service.review(reviewer("r1"), claim_id, {"decision": "approve"})
    assert (final["status"], final["amount"]) == ("approved", "12000.00")
    audit = service.audit_log(ADMIN, claim_id)["entries"]
    assert [(e["by"], e["amount_fen"], e["outcome"]) for e in audit] == [
        ("r1", 1_500_000, "awaiting_second_review"),
        ("r2", 1_200_000, "awaiting_second_review"),
        ("r1", 1_200_000, "approved"),
    ]
    assert len({e["id"] for e in audit}) == 3


@pytest.mark.parametrize(
    ("amount", "limit"),
    [("20300.01", "self-pay in catalogue"), ("20260.00", "cap")],
    ids=["self_pay_in_catalogue", "remaining_cap"],
)
def test_review_above_self_pay_or_remaining_cap_refused(service, amount, limit):
    """Two bills use 19500.00 of the 30000.00 cap: this claim may reach 20250.00 at most."""
    claim, _ = overlapping_stay_claim(service)
    with pytest.raises(ApiError) as refused:
        service.review(
            reviewer("r1"),
            claim["claim_id"],
            {"decision": "approve", "amount": amount, "note": "x"},
        )
    assert (int(refused.value.status), list(refused.value.fields)) == (422, ["amount"])
    assert limit in refused.value.message
    assert service.get_claim(ADMIN, claim["claim_id"])["amount"] == "9750.00"


def test_concurrent_second_approvals_apply_once(service, settings):
    claim_id, _ = big_claim(service)
    service.review(reviewer("r1"), claim_id, {"decision": "approve"})

    def approve(sub):
        with rpc_proxy(settings) as cluster:
            try:
                return cluster.mutual_aid.review(reviewer(sub), claim_id, {"decision": "approve"})[
                    "status"
                ]
            except ApiError as exc:
                return int(exc.status)

    outcomes = sorted(map(str, eventlet.GreenPool(3).imap(approve, ["r2", "r3", "r4"])))
    assert outcomes.count("approved") == 1 and outcomes.count("409") == 2
    assert service.get_claim(ADMIN, claim_id)["trace"][-1].endswith("approved")


# ---- payout and figures ------------------------------------------------------------------------


def approved_claims(service, org, count, month=5) -> list[str]:
    ids = []
    for _ in range(count):
        id_number = new_id_number()
        enrol(service, id_number, org=org, bank_account="6222020200112233445")
        ids.append(submit(service, bill(id_number, month=month)))
    for claim_id in ids:
        assert decided(service, claim_id)["status"] == "approved"
    return ids


def unique_month() -> str:
    return f"{2100 + uuid.uuid4().int % 7000}-{1 + uuid.uuid4().int % 12:02d}"


def test_payout_batch_once_per_month_file_confirm_and_figures(service):
    employer = new_employer()
    county = employer[:5]
    ids = approved_claims(service, employer, 3)
    month = unique_month()

    batch = service.create_payout_batch(FINANCE, {"month": month})
    assert batch["created"] is True and batch["batch_id"] == f"payout-{month}"
    assert batch["claims"] >= 3
    again = service.create_payout_batch(FINANCE, {"month": month})
    assert again["created"] is False and again["claims"] == batch["claims"]

    lines = list(csv.DictReader(io.StringIO(service.payout_file(FINANCE, batch["batch_id"]))))
    mine = [line for line in lines if set(line["claim_ids"].split()) & set(ids)]
    assert len(mine) == 3
    for line in mine:
        assert line["account_masked"] == "6222***********3445"
        assert line["amount_yuan"] == "660.00" and line["member"] == "张*明"
        assert "********" in line["member_id_masked"]

    stats = service.period_stats(staff("county_staff", employer, "c"), 11)
    assert stats == {
        "person_times": 3,
        "approved_total": "1980.00",
        "paid_total": "0.00",
        "by_plan": {"A": {"person_times": 3, "approved_total": "1980.00", "paid_total": "0.00"}},
        "by_county": {
            county: {"person_times": 3, "approved_total": "1980.00", "paid_total": "0.00"}
        },
        "by_month": {  # submitted on 2018-05-10
            "2018-05": {
                "person_times": 3, "approved_total": "1980.00", "paid_total": "0.00",
                "by_county": {county: {"person_times": 3, "approved_total": "1980.00",
                                       "paid_total": "0.00"}},
            }
        },
    }  # fmt: skip

    confirmed = service.confirm_payout_batch(CHECKER, batch["batch_id"])
    assert confirmed["status"] == "paid"
    assert {service.get_claim(ADMIN, i)["status"] for i in ids} == {"paid"}
    assert service.confirm_payout_batch(CHECKER, batch["batch_id"])["claims"] == batch["claims"]
    stats = service.period_stats(staff("county_staff", employer, "c"), 11)
    assert (stats["person_times"], stats["paid_total"]) == (3, "1980.00")


def test_two_months_batched_at_once_never_share_a_claim(service, settings):
    approved_claims(service, new_employer(), 4)
    months = [unique_month(), unique_month()]

    def create(month):
        with rpc_proxy(settings) as cluster:
            batch = cluster.mutual_aid.create_payout_batch(FINANCE, {"month": month})
            text = cluster.mutual_aid.payout_file(FINANCE, batch["batch_id"])
        return {i for line in csv.DictReader(io.StringIO(text)) for i in line["claim_ids"].split()}

    first, second = eventlet.GreenPool(2).imap(create, months)
    assert not first & second
    assert len(first | second) >= 4


def test_payout_confirmed_by_its_creator_refused(service):
    approved_claims(service, new_employer(), 1)
    batch = service.create_payout_batch(FINANCE, {"month": unique_month()})
    with pytest.raises(ApiError) as refused:
        service.confirm_payout_batch(FINANCE, batch["batch_id"])
    assert int(refused.value.status) == 409
    assert service.confirm_payout_batch(CHECKER, batch["batch_id"])["status"] == "paid"
    entries = service.payout_audit(ADMIN, batch["batch_id"])["entries"]
    assert [(e["action"], e["by"]) for e in entries] == [
        ("payout_created", "fin-1"),
        ("payout_confirmed", "fin-2"),
    ]


def test_payout_file_download_is_audited(service):
    approved_claims(service, new_employer(), 1)
    batch = service.create_payout_batch(FINANCE, {"month": unique_month()})
    service.payout_file(FINANCE, batch["batch_id"])
    service.payout_file(staff("auditor", "LY", "aud-1"), batch["batch_id"])
    entries = service.payout_audit(staff("auditor"), batch["batch_id"])["entries"][1:]
    assert [(e["action"], e["by"], e["batch_id"]) for e in entries] == [
        ("payout_file_downloaded", "fin-1", batch["batch_id"]),
        ("payout_file_downloaded", "aud-1", batch["batch_id"]),
    ]
    assert all(e["at"] for e in entries)


@pytest.mark.parametrize("org", ["LY-XL", "LY-XL-0042"])
def test_payouts_by_finance_below_the_city_org_refused(service, org):
    county_finance = staff("finance", org, "fin-county")
    with pytest.raises(ApiError) as created:
        service.create_payout_batch(county_finance, {"month": unique_month()})
    approved_claims(service, new_employer(), 1)
    batch = service.create_payout_batch(FINANCE, {"month": unique_month()})
    with pytest.raises(ApiError) as confirmed:
        service.confirm_payout_batch(county_finance, batch["batch_id"])
    with pytest.raises(ApiError) as downloaded:
        service.payout_file(county_finance, batch["batch_id"])
    assert [int(e.value.status) for e in (created, confirmed, downloaded)] == [403, 403, 403]
    entries = service.payout_audit(ADMIN, batch["batch_id"])["entries"]
    assert [e["action"] for e in entries] == ["payout_created"]


def test_only_finance_runs_payouts(service):
    with pytest.raises(ApiError) as refused:
        service.create_payout_batch(ADMIN, {"month": "2018-06"})
    assert int(refused.value.status) == 403
    with pytest.raises(ApiError) as invalid:
        service.create_payout_batch(FINANCE, {"month": "2018-13"})
    assert int(invalid.value.status) == 400


# ---- policy versions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("ratio = 0.30\n", "ratio = 0.30\nratoi = 0.3\n", "plans.A.ratoi: is not a known key here"),
        ("ratio = 0.30", 'ratio = "0.30"', "plans.A.ratio: must be a number, got '0.30'"),
    ],
    ids=["unknown-key", "wrong-type"],
)
def test_policy_upload_unknown_key_or_wrong_type_refused_naming_the_path(
    service, old, new, problem
):
    base = open("config/policy/mutual_aid/2018-v1.toml", encoding="utf-8").read()
    text = base.replace('"mutual_aid/2018-v1"', f'"mutual_aid/it-{uuid.uuid4().hex[:8]}"')
    with pytest.raises(ApiError) as refused:
        service.load_policy(ADMIN, {"document": text.replace(old, new, 1)})
    assert int(refused.value.status) == 400
    assert refused.value.fields == {"document": [problem]}


def test_staff_load_a_new_policy_version_once_and_never_back_in_time(service):
    base = open("config/policy/mutual_aid/2018-v1.toml", encoding="utf-8").read()
    year = 2200 + uuid.uuid4().int % 5000
    version = f"mutual_aid/it-{uuid.uuid4().hex[:8]}"
    text = base.replace('"mutual_aid/2018-v1"', f'"{version}"').replace(
        "effective_from = 2017-11-01", f"effective_from = {year}-01-01"
    )
    loaded = service.load_policy(ADMIN, {"document": text})
    assert (loaded["version"], loaded["created"]) == (version, True)
    assert loaded["digest"].startswith("sha256:")
    assert service.load_policy(ADMIN, {"document": text})["created"] is False
    with pytest.raises(ApiError) as changed:
        service.load_policy(ADMIN, {"document": text.replace("ratio = 0.30", "ratio = 0.35")})
    assert int(changed.value.status) == 409
    earlier = text.replace(f'"{version}"', '"mutual_aid/it-earlier"').replace(
        f"{year}-01-01", "2018-06-01"
    )
    with pytest.raises(ApiError) as back:
        service.load_policy(ADMIN, {"document": earlier})
    assert int(back.value.status) == 409
    with pytest.raises(ApiError) as invalid:
        service.load_policy(ADMIN, {"document": text.replace("ratio = 0.30", "ratio = 3")})
    assert int(invalid.value.status) == 400 and "ratio" in str(invalid.value.fields)
    with pytest.raises(ApiError) as forbidden:
        service.load_policy(FINANCE, {"document": text})
    assert int(forbidden.value.status) == 403
    versions = [v["version"] for v in service.list_policies(ADMIN)["versions"]]
    assert versions[0] == "mutual_aid/2018-v1" and version in versions


def test_decision_records_version_and_digest(service, db):
    id_number = new_id_number()
    enrol(service, id_number)
    claim_id = submit(service, bill(id_number))
    assert decided(service, claim_id)["policy_version"] == "mutual_aid/2018-v1"
    stored = db.client["unionhub_mutual_aid"]["claims"].find_one({"_id": claim_id})
    policy = db.client["unionhub_mutual_aid"]["policies"].find_one({"_id": "mutual_aid/2018-v1"})
    assert stored["policy_digest"] == policy["digest"]


def test_contributions_are_summed_per_employer(service):
    first, second = sorted([new_employer(), new_employer()])
    for plan in ("A", "A", "C"):
        enrol(service, new_id_number(), plan=plan, org=first)
    enrol(service, new_id_number(), plan="B", org=second)
    figures = service.contributions(ADMIN, 11)
    mine = [e for e in figures["employers"] if e["employer_org"] in (first, second)]
    assert mine == [
        {"employer_org": first, "members": 3, "contributions": "172.00"},
        {"employer_org": second, "members": 1, "contributions": "60.00"},
    ]
    one = service.contributions(staff("grassroots_staff", second, "c"), 11)
    assert one == {"period": 11, "employers": mine[1:], "total": "60.00"}


def test_overlapping_stays_of_one_member_send_the_later_bill_to_review(service):
    id_number = new_id_number()
    enrol(service, id_number)
    first = decided(service, submit(service, bill(id_number, month=5)))
    overlapping = bill(
        id_number,
        admission_date="2018-05-08",
        discharge_date="2018-05-12",
        submitted_on="2018-05-13",
    )
    second = decided(service, submit(service, overlapping))
    assert (first["status"], first["amount"]) == ("approved", "660.00")
    assert (second["status"], second["reason_code"], second["amount"]) == (
        "needs_review",
        "duplicate_stay",
        "660.00",
    )
    assert first["bill_no"] in second["trace"][0]
    # One review settles an overlap below the threshold.
    reviewed = service.review(
        reviewer("r1"), second["claim_id"], {"decision": "reject", "note": "same stay"}
    )
    assert reviewed["status"] == "rejected"


# ---- diagnoses are for reviewers ---------------------------------------------------------------


def test_diagnoses_and_patient_name_are_never_stored_in_clear_and_shown_to_reviewers_only(
    service, db
):
    id_number = new_id_number()
    enrol(service, id_number)
    excluded = decided(service, submit(service, bill(id_number, diagnoses=["X70.1"])))
    covered = decided(service, submit(service, bill(id_number, month=7, diagnoses=["K80.1"])))
    assert (excluded["status"], excluded["reason_code"]) == ("rejected", "excluded_self_harm")
    assert covered["status"] == "approved"

    claims = db.client["unionhub_mutual_aid"]["claims"]
    for claim_id in (excluded["claim_id"], covered["claim_id"]):
        raw = str(claims.find_one({"_id": claim_id}))
        for clear in ("张三明", "X70.1", "K80.1", "X60–X84"):
            assert clear not in raw, clear

    assert "diagnosis X70.1 in X60–X84" in excluded["trace"][-1]
    assert "K80.1" in covered["trace"][2]
    county = staff("county_staff", "LY-XL")
    masked = service.get_claim(county, excluded["claim_id"])
    assert masked["reason_code"] == "excluded_diagnosis"
    assert masked["trace"][-1].startswith("3 exclusions: [diagnosis hidden] → rejected")
    assert "K80.1" not in str(service.get_claim(county, covered["claim_id"]))
    for role in ("reviewer", "auditor"):
        assert "X70.1" in service.get_claim(staff(role), excluded["claim_id"])["trace"][-1]
