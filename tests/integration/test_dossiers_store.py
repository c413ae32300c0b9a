"""dossiers' store on nx-27017: one live dossier per member under concurrent intake, funds never
overdrawn under concurrent grants, condolence batches refused whole and paying each household
once per festival, whatever the fund and whoever runs them."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, timedelta
from pathlib import Path

import eventlet
import pytest

from services.dossiers.application.condolence import (
    Scope,
    batch_progress,
    ledger_key_of,
    run_condolence_batch,
)
from services.dossiers.application.views import open_household_figures
from services.dossiers.domain.policy import DossierPolicy
from services.dossiers.store import (
    ORPHAN_CLAIM_SECONDS,
    DossierStore,
    MemberAlreadyInDossier,
    iso_seconds_ago,
    now_iso,
)
from shared import orgs
from shared.auth import StaffPrincipal
from shared.contracts.dossiers import TIERS
from shared.domain_errors import DomainError
from shared.errors import ApiError, answer
from shared.identity import make_id_number
from shared.policy import PolicyStore

pytestmark = pytest.mark.integration


def new_id_number() -> str:
    """Birth date and sequence drawn independently: the shared helper's ids repeat every 21,000,
    and here any repeat of a member across tests is a 409."""
    birth = date(1950, 1, 1) + timedelta(days=secrets.randbelow(50 * 365))
    return make_id_number("350802", birth, secrets.randbelow(1000))


ROOT = Path(__file__).resolve().parents[2]
ACTOR = {"sub": "it-finance", "role": "finance", "org": "LY"}


@pytest.fixture
def store(db, settings):
    store = DossierStore(db, settings)
    store.ensure_indexes()
    return store


@pytest.fixture(scope="module")
def policy():
    store = PolicyStore.for_service(ROOT / "config" / "policy", "dossiers")
    return DossierPolicy.from_document(store.by_version("dossiers/2018-v1"))


def dossier_doc(store, head_hash, *, tier="local", county="LY-XL", status="proposed", members=()):
    return {
        "_id": uuid.uuid4().hex,
        "status": status,
        "tier": tier,
        "county": county,
        "org": f"{county}-0042",
        "head_id_hash": head_hash,
        "members": [{"id_hash": h} for h in (head_hash, *members)],
        "revision": 1,
        "ledger": {},
        "assistance_total_fen": 0,
    }


def seed_open(store, tiers_by_county):
    """Open dossiers inserted directly (intake is tested elsewhere); returns their ids."""
    docs = [
        dossier_doc(store, uuid.uuid4().hex, tier=tier, county=county, status="open")
        for county, tiers in tiers_by_county.items()
        for tier in tiers
    ]
    store.dossiers.insert_many(docs)
    return [d["_id"] for d in docs]


def test_two_intakes_sharing_a_member_at_the_same_moment_make_one_dossier(store):
    shared_member = store.vault.lookup_hash(new_id_number())
    heads = [store.vault.lookup_hash(new_id_number()) for _ in range(8)]

    def submit(head):
        doc = dossier_doc(store, head, members=[shared_member])
        try:
            store.create_dossier(doc, [head, shared_member])
        except MemberAlreadyInDossier as exc:
            return ("conflict", exc.id_hash, doc["_id"])
        return ("created", None, doc["_id"])

    results = list(eventlet.GreenPool(8).imap(submit, heads))
    created = [r for r in results if r[0] == "created"]
    assert len(created) == 1
    assert {r[1] for r in results if r[0] == "conflict"} == {shared_member}
    # Nothing half-written: the losers left neither a dossier nor a claim behind.
    assert store.dossiers.count_documents({}) == 1
    assert {c["dossier_id"] for c in store.member_claims.find()} == {created[0][2]}
    assert store.member_claims.count_documents({}) == 2


def test_a_claim_left_by_an_intake_that_died_is_taken_over(store):
    member = store.vault.lookup_hash(new_id_number())
    store.member_claims.insert_one(
        {"_id": member, "dossier_id": "in-flight", "claimed_at": now_iso()}
    )
    with pytest.raises(MemberAlreadyInDossier):  # its intake may still write the dossier
        store.create_dossier(dossier_doc(store, member), [member])
    store.member_claims.update_one(
        {"_id": member}, {"$set": {"claimed_at": iso_seconds_ago(ORPHAN_CLAIM_SECONDS + 1)}}
    )
    doc = dossier_doc(store, member)
    store.create_dossier(doc, [member])
    assert store.member_claims.find_one({"_id": member})["dossier_id"] == doc["_id"]


def test_a_claim_of_a_member_its_live_dossier_does_not_list_is_taken_over_after_the_grace(
    store,
):
    """A visit that died between claiming an added member and writing its dossier (or after
    removing a member and before releasing it) leaves a claim its open dossier does not list."""
    member = store.vault.lookup_hash(new_id_number())
    holder = dossier_doc(store, store.vault.lookup_hash(new_id_number()), status="open")
    store.create_dossier(holder, [holder["head_id_hash"]])
    store.member_claims.insert_one(
        {"_id": member, "dossier_id": holder["_id"], "claimed_at": now_iso()}
    )
    with pytest.raises(MemberAlreadyInDossier):  # its visit may still write the dossier
        store.create_dossier(dossier_doc(store, member), [member])
    store.member_claims.update_one(
        {"_id": member}, {"$set": {"claimed_at": iso_seconds_ago(ORPHAN_CLAIM_SECONDS + 1)}}
    )
    doc = dossier_doc(store, member)
    store.create_dossier(doc, [member])
    assert store.member_claims.find_one({"_id": member})["dossier_id"] == doc["_id"]
    assert (
        store.member_claims.find_one({"_id": holder["head_id_hash"]})["dossier_id"]
        == (holder["_id"])
    )


def test_released_members_can_be_filed_again(store):
    member = store.vault.lookup_hash(new_id_number())
    first = dossier_doc(store, member)
    store.create_dossier(first, [member])
    with pytest.raises(MemberAlreadyInDossier):
        store.create_dossier(dossier_doc(store, member), [member])
    store.release_members(first["_id"])
    store.create_dossier(dossier_doc(store, member), [member])


def test_concurrent_grants_never_overdraw_the_fund(store):
    store.set_fund("F-relief", 2019, 100_000)
    pool = eventlet.GreenPool(12)
    results = list(
        pool.imap(lambda i: store.reserve("F-relief", 2019, 30_000, f"grant-{i}"), range(12))
    )
    assert results.count(True) == 3
    assert store.fund("F-relief", 2019)["spent_fen"] == 90_000


def test_a_reservation_is_taken_once_per_id_and_released_once(store):
    store.set_fund("F-once", 2019, 100_000)
    assert store.reserve("F-once", 2019, 40_000, "g-1")
    assert store.reserve("F-once", 2019, 40_000, "g-1")  # a retry of the same grant
    assert store.fund("F-once", 2019)["spent_fen"] == 40_000
    store.release("F-once", 2019, 40_000, "g-1")
    store.release("F-once", 2019, 40_000, "g-1")
    assert store.fund("F-once", 2019)["spent_fen"] == 0


def test_a_budget_cannot_drop_below_what_is_spent(store):
    store.set_fund("F-cut", 2019, 100_000)
    store.reserve("F-cut", 2019, 60_000, "g")
    with pytest.raises(ValueError):
        store.set_fund("F-cut", 2019, 50_000)


def run_batch(store, policy, fund, scope="LY", festival="2019-spring"):
    return run_condolence_batch(
        store,
        policy,
        festival=festival,
        fund=fund,
        scope=Scope(scope),
        actor=ACTOR,
        paid_on=date(2019, 1, 20),
        correlation_id="it",
    )


def test_condolence_batch_pays_each_tier_its_amount_once_even_when_run_twice(store, policy):
    ids = seed_open(store, {"LY-XL": ["national", "local"], "LY-YD": ["grassroots"]})
    store.set_fund("F-cond", 2019, 1_000_000)
    first = run_batch(store, policy, "F-cond")
    second = run_batch(store, policy, "F-cond")
    assert first == second
    assert (first["status"], first["households"], first["paid_households"]) == ("paid", 3, 3)
    assert first["total"] == first["paid_total"] == 600_000  # 3000 + 2000 + 1000 yuan
    assert store.fund("F-cond", 2019)["spent_fen"] == 600_000
    key = ledger_key_of("2019-spring")
    amounts = {d["_id"]: d["assistance_total_fen"] for d in store.dossiers.find()}
    assert sorted(amounts[i] for i in ids) == [100_000, 200_000, 300_000]
    assert all(len(d["ledger"]) == 1 and key in d["ledger"] for d in store.dossiers.find())
    assert all(len(d["outbox"]) == 1 for d in store.dossiers.find())  # one event each


def test_a_paying_condolence_batch_tells_how_many_households_it_has_gone_through(store, policy):
    """What a progress poll reads while the batch pays: ``done`` of ``households`` after each
    chunk written, then every household once paid; nothing before the batch starts."""
    seed_open(store, {"LY-XL": ["grassroots"] * 2100})
    store.set_fund("F-progress", 2019, 2100 * 100_000)
    scope = Scope("LY")
    with pytest.raises(ApiError) as before:
        batch_progress(store, "2019-spring", scope)
    assert before.value.status == 404
    seen = []

    def polled(_done: int, _households: int) -> None:
        now = batch_progress(store, "2019-spring", scope)
        seen.append((now["status"], now["done"], now["households"]))

    run_condolence_batch(
        store, policy, festival="2019-spring", fund="F-progress", scope=scope, actor=ACTOR,
        paid_on=date(2019, 1, 20), correlation_id="it", progress=polled,
    )  # fmt: skip
    assert seen == [("paying", 1000, 2100), ("paying", 2000, 2100), ("paying", 2100, 2100)]
    after = batch_progress(store, "2019-spring", scope)
    assert (after["status"], after["done"], after["paid_households"]) == ("paid", 2100, 2100)
    with pytest.raises(ApiError):  # another scope's batch of the festival is not this one
        batch_progress(store, "2019-spring", Scope("LY-XL"))


def test_two_runs_of_one_batch_at_the_same_moment_pay_once(store, policy):
    seed_open(store, {"LY-XL": ["local"] * 30})
    store.set_fund("F-race", 2019, 10_000_000)
    results = list(
        eventlet.GreenPool(2).imap(lambda _: run_batch(store, policy, "F-race"), range(2))
    )
    assert [r["paid_households"] for r in results] == [30, 30]
    assert store.fund("F-race", 2019)["spent_fen"] == 30 * 200_000
    assert sum(d["assistance_total_fen"] for d in store.dossiers.find()) == 30 * 200_000


def test_condolence_batch_is_refused_whole_when_the_fund_cannot_cover_it(store, policy):
    seed_open(store, {"LY-XL": ["national", "national"]})
    store.set_fund("F-small", 2019, 599_999)
    with pytest.raises(DomainError) as refused:
        run_batch(store, policy, "F-small")
    answered = answer(refused.value)  # as the door answers it
    assert (answered.status, answered.code) == (422, "fund_insufficient")
    assert store.fund("F-small", 2019)["spent_fen"] == 0
    assert all(d["ledger"] == {} for d in store.dossiers.find())
    # With the budget raised, the same batch runs (the refused one paid nobody).
    store.set_fund("F-small", 2019, 600_000)
    assert run_batch(store, policy, "F-small")["paid_households"] == 2


def test_condolence_batch_covers_only_the_scope_and_refunds_households_gone_meanwhile(
    store, policy
):
    xl = seed_open(store, {"LY-XL": ["local", "local"]})
    seed_open(store, {"LY-YD": ["local"]})
    store.set_fund("F-scope", 2019, 1_000_000)
    result = run_batch(store, policy, "F-scope", scope="LY-XL")
    assert (result["households"], result["paid_households"]) == (2, 2)
    assert {d["_id"] for d in store.dossiers.find({"assistance_total_fen": 200_000})} == set(xl)
    # A run cut short after listing (status reserving) resumes after one household closed.
    store.dossiers.update_one({"_id": xl[0]}, {"$set": {"status": "closed"}})
    store.set_fund("F-late", 2019, 1_000_000)
    store.batches.insert_one(
        {
            "_id": "2019-new_year:LY-XL",
            "festival": "2019-new_year",
            "fund": "F-late",
            "year": 2019,
            "scope": "LY-XL",
            "status": "reserving",
            "entries": [[i, "local", "LY-XL", "h", 200_000] for i in xl],
            "households": 2,
            "total_fen": 400_000,
        }
    )
    late = run_batch(store, policy, "F-late", scope="LY-XL", festival="2019-new_year")
    assert (late["paid_households"], late["paid_total"]) == (1, 200_000)
    assert store.fund("F-late", 2019)["spent_fen"] == 200_000
    with pytest.raises(DomainError) as other_fund:  # one batch per festival and scope
        run_batch(store, policy, "F-scope", scope="LY-XL", festival="2019-new_year")
    answered = answer(other_fund.value)
    assert (answered.status, list(answered.fields)) == (409, ["fund"])


def condolences(store, festival="2019-spring") -> dict[str, int]:
    """Each household's condolence of the festival in fen, whatever batch paid it."""
    key = ledger_key_of(festival)
    return {
        d["_id"]: d["ledger"][key]["amount_fen"]
        for d in store.dossiers.find({f"ledger.{key}": {"$exists": True}})
    }


def test_condolence_unit_run_does_not_block_the_city_run(store, policy):
    unit = seed_open(store, {"LY-XL": ["local", "local"]})
    rest = seed_open(store, {"LY-YD": ["national"], "LY-SH": ["grassroots"]})
    store.set_fund("F-one", 2019, 1_000_000)
    assert run_batch(store, policy, "F-one", scope="LY-XL-0042")["paid_households"] == 2
    city = run_batch(store, policy, "F-one", scope="LY")
    assert (city["households"], city["paid_households"], city["paid_total"]) == (2, 2, 400_000)
    assert condolences(store) == {
        unit[0]: 200_000,
        unit[1]: 200_000,
        rest[0]: 300_000,
        rest[1]: 100_000,
    }
    assert store.fund("F-one", 2019)["spent_fen"] == 800_000


def test_condolence_household_paid_twice_for_one_festival_from_another_fund_refused(store, policy):
    county = seed_open(store, {"LY-XL": ["local"]})
    other = seed_open(store, {"LY-YD": ["local"]})
    store.set_fund("F-county", 2019, 1_000_000)
    store.set_fund("F-city", 2019, 1_000_000)
    run_batch(store, policy, "F-county", scope="LY-XL")
    city = run_batch(store, policy, "F-city", scope="LY")
    assert (city["households"], city["paid_total"]) == (1, 200_000)
    assert condolences(store) == {county[0]: 200_000, other[0]: 200_000}
    assert all(d["assistance_total_fen"] == 200_000 for d in store.dossiers.find())
    assert store.fund("F-city", 2019)["spent_fen"] == 200_000
    # Another festival is another condolence.
    assert run_batch(store, policy, "F-city", festival="2019-new_year")["paid_households"] == 2


def test_condolence_unit_and_city_runs_at_once_pay_each_household_once(store, policy):
    seed_open(store, {"LY-XL": ["local"] * 20, "LY-YD": ["local"] * 5})
    store.set_fund("F-unit", 2019, 10_000_000)
    store.set_fund("F-all", 2019, 10_000_000)
    runs = [("F-unit", "LY-XL-0042"), ("F-all", "LY")]
    results = list(eventlet.GreenPool(2).imap(lambda run: run_batch(store, policy, *run), runs))
    assert sum(r["paid_households"] for r in results) == 25
    assert sum(r["paid_total"] for r in results) == 25 * 200_000
    assert len(condolences(store)) == 25
    spent = store.fund("F-unit", 2019)["spent_fen"] + store.fund("F-all", 2019)["spent_fen"]
    assert spent == 25 * 200_000  # what a run listed but another paid went back to its fund


def test_a_filtered_dossier_list_is_served_by_the_status_county_tier_index(store):
    """The console's filtered list (county, status and tier) must not walk every open dossier:
    the database's own plan names the compound index (MongoDB and nx-27017 alike)."""
    seed_open(store, {"LY-XL": ["local", "national"], "LY-SH": ["local"]})
    filters = {"county": "LY-XL", "status": "open", "tier": "local"}
    plan = store.dossiers.find(DossierStore._scoped("LY", filters)).sort("_id", 1).explain()
    assert "status_county_tier" in str(plan["queryPlanner"]["winningPlan"]), plan
    listed = store.list_dossiers("LY", filters, 26)
    assert [(d["county"], d["tier"]) for d in listed] == [("LY-XL", "local")]
    # A county's clerk, filtering by status only, is served by the same index.
    mine = DossierStore._dossiers_scoped("LY-XL", {"status": "open"})
    plan = store.dossiers.find(mine).sort("_id", 1).explain()
    assert "status_county_tier" in str(plan["queryPlanner"]["winningPlan"]), plan
    assert {d["county"] for d in store.list_dossiers("LY-XL", {"status": "open"}, 26)} == {"LY-XL"}
    assert {d["county"] for d in store.list_dossiers("LY-SH-0042", {}, 26)} == {"LY-SH"}


def test_open_household_figures_count_every_open_dossier_of_the_scope_by_county_and_tier(store):
    seed_open(store, {"LY-XL": ["national", "local", "local"], "LY-SH": ["grassroots"] * 600})
    store.dossiers.insert_many(
        [dossier_doc(store, uuid.uuid4().hex, county="LY-XL", status=s) for s in ("proposed", "closed")]
    )  # fmt: skip

    def figures(org: str) -> dict:
        return open_household_figures(store, StaffPrincipal(sub="it", role="city_admin", org=org))

    city = figures("LY")
    assert (city["open"], city["by_tier"]) == (603, {"national": 1, "local": 2, "grassroots": 600})
    assert city["by_county"] == {
        "LY-SH": {"national": 0, "local": 0, "grassroots": 600},
        "LY-XL": {"national": 1, "local": 2, "grassroots": 0},
    }
    county = figures("LY-XL")
    assert (county["open"], list(county["by_county"])) == (3, ["LY-XL"])
    assert figures("LY-XL-0042")["open"] == 3 and figures("LY-XL-0007")["open"] == 0
    assert figures("LY-YD") == {"open": 0, "by_tier": dict.fromkeys(TIERS, 0), "by_county": {}}
    assert figures("LY-NOWHERE")["open"] == 0


def test_audit_log_is_append_only_entries(store):
    store.audit(actor=ACTOR, action="export", target="dossiers", org="LY-XL", detail={"rows": 3})
    entry = store.audit_entries("export", None, 10)[0]
    assert (entry["actor"], entry["org"], entry["detail"]) == ("it-finance", "LY-XL", {"rows": 3})


def test_audit_log_narrows_by_actor_days_and_scope(store):
    """Days are Asia/Shanghai business days, both ends kept; the scope is part of the query, so
    the limit counts only entries the caller may see."""

    def written(at: str, actor: str, org: str | None) -> None:
        store.audit_log.insert_one(
            {"_id": uuid.uuid4().hex, "at": at, "actor": actor, "role": "county_staff",
             "actor_org": "LY-XL", "action": "view_full_id", "target": "d1", "org": org,
             "detail": {}}
        )  # fmt: skip

    written("2018-05-31T00:00:00.000+08:00", "chenli", "LY-XL-0042")
    written("2018-05-31T23:59:59.999+08:00", "chenli", "LY-XL")
    written("2018-06-01T00:00:00.000+08:00", "chenli", "LY-XL")
    written("2018-05-31T12:00:00.000+08:00", "lintao", "LY-SH")
    written("2018-05-30T23:59:59.999+08:00", "chenli", None)

    def ats(**filters) -> list[str]:
        return [e["at"][:19] for e in store.audit_entries(None, None, 10, **filters)]

    may_31 = {"date_from": date(2018, 5, 31), "date_to": date(2018, 5, 31)}
    assert ats(actor="chenli", **may_31) == ["2018-05-31T23:59:59", "2018-05-31T00:00:00"]
    assert ats(actor="lintao") == ["2018-05-31T12:00:00"]
    assert ats(actor="chen") == []  # the staff id exactly, never a part of it
    assert ats(date_from=date(2018, 6, 1)) == ["2018-06-01T00:00:00"]
    assert ats(date_to=date(2018, 5, 30)) == ["2018-05-30T23:59:59"]
    assert len(ats(scope="LY")) == 5
    assert ats(scope="LY-SH") == ["2018-05-31T12:00:00"]
    assert ats(scope="LY-XL-0042") == ["2018-05-31T00:00:00"]
    # Four entries of LY-XL's subtree hold the one of LY-SH: a limit of one still finds it.
    assert [e["org"] for e in store.audit_entries(None, None, 1, scope="LY-SH")] == ["LY-SH"]


def test_scope_filter_selects_the_org_subtree_and_nothing_for_an_unknown_org(db):
    """The store filter of shared.orgs, run by the database itself: segments, not prefixes."""
    units = db["scope_probe"]
    codes = ["LY", "LY-XL", "LY-XL-0042", "LY-XL-00421", "LY-XLX", "LY-YD-0042", "LY-ZZ"]
    units.insert_many([{"_id": code, "org": code} for code in codes])

    def selected(ancestor: str) -> set[str]:
        return {doc["_id"] for doc in units.find(orgs.scope_filter(ancestor))}

    assert selected("LY") == set(codes)
    assert selected("LY-XL") == {"LY-XL", "LY-XL-0042"}
    assert selected("LY-XL-0042") == {"LY-XL-0042"}
    assert selected("LY-ZZ") == set()
    assert selected("XX") == set()
