"""Dossiers over HTTP only: intake to exit, org scope per role, grants, condolences, audit."""

from __future__ import annotations

import csv
import io
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.identity import make_id_number

pytestmark = pytest.mark.e2e


def new_id_number() -> str:
    """Birth date and sequence drawn independently: the shared helper's ids repeat every 21,000,
    and here any repeat of a member across tests is a 409."""
    birth = date(1950, 1, 1) + timedelta(days=secrets.randbelow(50 * 365))
    return make_id_number("350802", birth, secrets.randbelow(1000))


DOSSIERS = "/api/v1/dossiers"


def household(county="LY-XL", org=None, income="500.00", causes=("illness",), members=None):
    head = new_id_number()
    return {
        "county": county,
        "org": org or f"{county}-0042",
        "category": "低保边缘户",
        "head_id_number": head,
        "employment_status": "unemployed",
        "employer": "龙岩某机械厂",
        "members": [
            {"id_number": head, "name": "陈大明", "relation": "self", "monthly_income": income,
             "health": "慢性病", "school": None},
            *(members or [{"id_number": new_id_number(), "name": "陈小红", "relation": "child",
                           "monthly_income": "0", "health": None, "school": "龙岩一中"}]),
        ],
        "monthly_rigid_expenditure": "300.00",
        "months_below_line": 6,
        "causes": list(causes),
        "assets": {"homes": 1, "owns_business": False, "private_school_or_abroad": False,
                   "non_work_vehicle": False},
        "address": "新罗区东城街道1号",
        "phone": "13800000000",
        "intake_date": "2018-03-02",
    }  # fmt: skip


def submit(gateway, body, **who):
    return gateway.staff("POST", DOSSIERS, body, **who)


def open_dossier(gateway, body=None, **who) -> str:
    body = body or household()
    proposal = submit(gateway, body, **who)
    assert proposal.status_code == 201, proposal.text
    dossier_id = proposal.json()["dossier_id"]
    tier = proposal.json()["proposed_tier"]
    confirmed = gateway.staff("POST", f"{DOSSIERS}/{dossier_id}/confirm", {"tier": tier}, **who)
    assert confirmed.status_code == 200, confirmed.text
    return dossier_id


def test_intake_proposes_a_tier_with_its_trace_and_confirm_opens_it(gateway):
    body = household()
    response = submit(gateway, body)
    assert response.status_code == 201, response.text
    proposal = response.json()
    assert (proposal["status"], proposal["proposed_tier"]) == ("proposed", "national")
    assert any("650.00" in line for line in proposal["trace"])
    assert proposal["trace"][-1] == "tier: national (national_below_line_long_term)"
    dossier_id = proposal["dossier_id"]
    too_high = gateway.staff("POST", f"{DOSSIERS}/{dossier_id}/confirm", {"tier": "bogus"})
    assert too_high.status_code == 400
    confirmed = gateway.staff("POST", f"{DOSSIERS}/{dossier_id}/confirm", {"tier": "local"})
    assert confirmed.json() == {"status": "open", "tier": "local"}
    again = gateway.staff("POST", f"{DOSSIERS}/{dossier_id}/confirm", {"tier": "local"})
    assert again.status_code == 409
    dossier = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()
    assert (
        dossier["head_id_number"]
        == body["head_id_number"][:6] + "********" + body["head_id_number"][-4:]
    )
    assert body["head_id_number"] not in str(dossier)
    assert (dossier["status"], dossier["tier"], dossier["monthly_rigid_expenditure"]) == (
        "open",
        "local",
        "300.00",
    )


def test_bad_intake_is_a_400_naming_the_fields(gateway):
    body = household()
    body["members"][0]["id_number"] = "350802197001010000"
    body["causes"] = ["laziness"]
    del body["address"]
    response = submit(gateway, body)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"members", "causes", "address"} <= set(fields)


def test_two_staff_filing_the_same_member_at_once_one_gets_409_naming_the_member(gateway):
    shared = {"id_number": new_id_number(), "name": "林共同", "relation": "spouse",
              "monthly_income": "100.00", "health": None, "school": None}  # fmt: skip
    bodies = [household(members=[shared]) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda b: submit(gateway, b), bodies))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 409).json()["error"]
    assert "林共同" in refused["message"] and "members.1.id_number" in refused["fields"]
    assert shared["id_number"] not in refused["message"]


def test_exit_closes_the_dossier_read_only_and_frees_its_members(gateway):
    body = household()
    dossier_id = open_dossier(gateway, body)
    assert submit(gateway, {**household(), "members": body["members"], "head_id_number": body["head_id_number"]}).status_code == 409  # fmt: skip
    moved = gateway.staff("POST", f"{DOSSIERS}/{dossier_id}/exit", {"reason": "moved_in_city"})
    assert moved.status_code == 400  # a move inside the city is a transfer, not an exit
    exited = gateway.staff(
        "POST", f"{DOSSIERS}/{dossier_id}/exit", {"reason": "death_or_dissolved"}
    )
    assert exited.status_code == 200, exited.text
    assert exited.json()["status"] == "closed"
    visit = {"visit_date": "2019-04-10", "visitor": "李四", "findings": "已故"}
    assert gateway.staff("POST", f"{DOSSIERS}/{dossier_id}/visits", visit).status_code == 409
    assert (
        gateway.staff("POST", f"{DOSSIERS}/{dossier_id}/exit", {"reason": "fraud"}).status_code
        == 409
    )
    assert submit(gateway, {**body, "intake_date": "2019-03-02"}).status_code == 201


def test_transfer_inside_the_city_keeps_the_dossier_open_in_the_new_county(gateway):
    dossier_id = open_dossier(gateway)
    moved = gateway.staff(
        "POST", f"{DOSSIERS}/{dossier_id}/transfer", {"county": "LY-YD", "org": "LY-YD-0100"}
    )
    assert moved.status_code == 200, moved.text
    dossier = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()
    assert (dossier["status"], dossier["county"], dossier["org"]) == ("open", "LY-YD", "LY-YD-0100")
    assert (
        gateway.staff(
            "GET", f"{DOSSIERS}/{dossier_id}", role="county_staff", org="LY-XL"
        ).status_code
        == 404
    )
    assert (
        gateway.staff(
            "GET", f"{DOSSIERS}/{dossier_id}", role="county_staff", org="LY-YD"
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("role", "org", "allowed"),
    [
        ("city_admin", "LY", True),
        ("county_staff", "LY-WP", True),
        ("county_staff", "LY-SH", False),
        ("grassroots_staff", "LY-WP-0007", True),
        ("grassroots_staff", "LY-WP-0008", False),
    ],
)
def test_org_scope_for_reads_lists_writes_and_exports(gateway, role, org, allowed):
    owner = {"role": "grassroots_staff", "org": "LY-WP-0007"}
    dossier_id = open_dossier(gateway, household(county="LY-WP", org="LY-WP-0007"), **owner)
    who = {"role": role, "org": org}
    read = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}", **who)
    assert read.status_code == (200 if allowed else 404)
    listed = gateway.staff("GET", f"{DOSSIERS}?status=open", **who).json()["dossiers"]
    assert (dossier_id in {d["dossier_id"] for d in listed}) is allowed
    exported = gateway.staff("GET", f"{DOSSIERS}/export", **who)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert (dossier_id in {r["dossier_id"] for r in rows}) is allowed
    assert all("*" in r["head_id_number"] for r in rows)
    county_list = gateway.staff("GET", f"{DOSSIERS}?county=LY-WP", **who)
    if allowed or org.startswith("LY-WP"):  # own county: answered, narrowed to own scope
        in_county = {d["dossier_id"] for d in county_list.json()["dossiers"]}
        assert (dossier_id in in_county) is allowed
    else:
        assert county_list.status_code == 403
    write = gateway.staff(
        "POST",
        f"{DOSSIERS}/{dossier_id}/visits",
        {"visit_date": "2019-04-10", "visitor": "李四", "findings": "家中无变化"},
        **who,
    )
    assert write.status_code == (200 if allowed else 404), write.text
    intake = submit(gateway, household(county="LY-WP", org="LY-WP-0007"), **who)
    assert intake.status_code == (201 if allowed else 403)


def test_full_id_view_and_exports_are_in_the_audit_log_for_the_auditor_only(gateway):
    body = household()
    dossier_id = open_dossier(gateway, body)
    full = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}?reveal=ids")
    assert full.json()["head_id_number"] == body["head_id_number"]
    assert (
        gateway.staff("GET", f"{DOSSIERS}/{dossier_id}?reveal=ids", role="finance").status_code
        == 403
    )
    assert gateway.staff("GET", "/api/v1/audit-log").status_code == 403
    log = gateway.staff("GET", f"/api/v1/audit-log?target={dossier_id}", role="auditor").json()
    assert {e["action"] for e in log["entries"]} == {"confirm", "view_full_id"}
    gateway.staff("GET", f"{DOSSIERS}/export?county=LY-XL", role="county_staff", org="LY-XL")
    exports = gateway.staff("GET", "/api/v1/audit-log?action=export", role="auditor").json()
    assert any(e["actor"] == "test-county_staff" for e in exports["entries"])


def test_the_audit_log_is_narrowed_by_actor_and_days_and_refuses_a_bad_filter(gateway):
    dossier_id = open_dossier(gateway)
    first, second = (f"e2e-{uuid.uuid4().hex[:8]}" for _ in range(2))
    for sub in (first, second, first):
        revealed = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}?reveal=ids", sub=sub)
        assert revealed.status_code == 200, revealed.text
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    log = "/api/v1/audit-log?action=view_full_id&target=" + dossier_id

    def actors(query: str) -> list[str]:
        answer = gateway.staff("GET", log + query, role="auditor")
        assert answer.status_code == 200, answer.text
        return [e["actor"] for e in answer.json()["entries"]]

    assert sorted(actors("")) == sorted([first, second, first])
    assert actors(f"&actor={first}") == [first, first]
    assert actors(f"&actor={first}&from={today}&to={today}") == [first, first]
    assert actors(f"&actor={first}&from={today + timedelta(days=1)}") == []
    assert actors(f"&actor={first}&to={today - timedelta(days=1)}") == []
    for query, field in (("from=2018-13-01", "from"), ("to=yesterday", "to"),
                         ("from=2018-06-02&to=2018-06-01", "to"), ("actor=", "actor"),
                         ("who=x", "who")):  # fmt: skip
        refused = gateway.staff("GET", f"/api/v1/audit-log?{query}", role="auditor")
        assert refused.status_code == 400, (query, refused.text)
        assert list(refused.json()["error"]["fields"]) == [field], query
    published = gateway.http.get(gateway.base_url + "/openapi.json").json()
    parameters = published["paths"]["/api/v1/audit-log"]["get"]["parameters"]
    assert {"actor", "from", "to"} <= {p["name"] for p in parameters if p["in"] == "query"}


def test_grants_never_overdraw_their_fund_even_at_the_same_moment(gateway):
    fund = {"fund": "E2E-relief", "year": 2019, "budget": "5000.00"}
    assert (
        gateway.staff("POST", "/api/v1/assistance-funds", fund, role="finance").status_code == 200
    )
    dossier_id = open_dossier(gateway)
    grant = {"dossier_id": dossier_id, "type": "living", "amount": "1500.00",
             "fund": "E2E-relief", "granted_on": "2019-02-01"}  # fmt: skip
    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda _: gateway.staff("POST", "/api/v1/assistance", grant, role="finance"), range(6)))  # fmt: skip
    assert sorted(r.status_code for r in responses) == [201, 201, 201, 422, 422, 422]
    state = gateway.staff("GET", "/api/v1/assistance-funds/E2E-relief/2019").json()
    assert (state["spent"], state["remaining"]) == ("4500.00", "500.00")
    dossier = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()
    assert (len(dossier["ledger"]), dossier["assistance_total"]) == (3, "4500.00")
    assert gateway.staff("POST", "/api/v1/assistance", grant, role="reviewer").status_code == 403


def test_fund_budget_set_by_anyone_but_city_finance_refused(gateway):
    fund = {"fund": "E2E-budget", "year": 2019, "budget": "1000.00"}
    for who in ({"role": "finance", "org": "LY-XL"}, {"role": "city_admin"}):
        refused = gateway.staff("POST", "/api/v1/assistance-funds", fund, **who)
        assert refused.status_code == 403, (who, refused.text)
    assert gateway.staff("GET", "/api/v1/assistance-funds/E2E-budget/2019").status_code == 404
    city = gateway.staff("POST", "/api/v1/assistance-funds", fund, role="finance")
    assert city.status_code == 200 and city.json()["budget"] == "1000.00", city.text


def test_dossier_figures_count_the_open_households_of_the_callers_scope(gateway):
    def figures(**who) -> dict:
        answer = gateway.staff("GET", f"{DOSSIERS}/stats", **who)
        assert answer.status_code == 200, answer.text
        return answer.json()

    before = figures()
    dossier_id = open_dossier(gateway, household(county="LY-YD"))
    tier = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()["tier"]
    submit(gateway, household(county="LY-YD"))  # proposed only: not counted
    after = figures()
    assert after["open"] == before["open"] + 1
    assert after["by_tier"][tier] == before["by_tier"][tier] + 1
    was = before["by_county"].get("LY-YD", {}).get(tier, 0)
    assert after["by_county"]["LY-YD"][tier] == was + 1
    county = figures(role="county_staff", org="LY-YD")
    assert (
        list(county["by_county"]) == ["LY-YD"]
        and county["by_county"]["LY-YD"] == after["by_county"]["LY-YD"]
    )
    assert gateway.staff("GET", f"{DOSSIERS}/stats", role="reviewer").status_code == 403


def test_condolence_batch_pays_once_per_festival_and_is_refused_whole(gateway):
    finance = {"role": "finance", "org": "LY-LC"}
    ids = [open_dossier(gateway, household(county="LY-LC")) for _ in range(3)]
    fund = {"fund": "E2E-festival", "year": 2019, "budget": "8999.99"}
    gateway.staff("POST", "/api/v1/assistance-funds", fund, role="finance")
    batch = {"festival": "2019-spring", "fund": "E2E-festival"}
    progress = "/api/v1/condolence-batches/2019-spring"
    assert gateway.staff("GET", progress, **finance).status_code == 404  # not started
    refused = gateway.staff("POST", "/api/v1/condolence-batches", batch, **finance)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "fund_insufficient"
    assert gateway.staff("GET", progress, **finance).status_code == 404  # refused whole
    gateway.staff("POST", "/api/v1/assistance-funds", {**fund, "budget": "9000.00"}, role="finance")
    first = gateway.staff("POST", "/api/v1/condolence-batches", batch, **finance)
    second = gateway.staff("POST", "/api/v1/condolence-batches", batch, **finance)
    assert first.status_code == second.status_code == 200, first.text
    assert first.json() == second.json()
    assert (first.json()["paid_households"], first.json()["paid_total"]) == (3, "9000.00")
    # What a progress poll reads: the scope's batch of the festival, every household gone through.
    polled = gateway.staff("GET", progress, **finance)
    assert polled.status_code == 200 and polled.json() == first.json()
    assert (polled.json()["status"], polled.json()["done"]) == ("paid", 3)
    assert gateway.staff("GET", progress, role="finance", org="LY-SH").status_code == 404
    assert gateway.staff("GET", progress, role="reviewer").status_code == 403
    bad = gateway.staff("GET", "/api/v1/condolence-batches/2019-summer", **finance)
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["festival"]
    for dossier_id in ids:
        ledger = gateway.staff("GET", f"{DOSSIERS}/{dossier_id}").json()["ledger"]
        assert [(g["type"], g["amount"]) for g in ledger] == [("condolence", "3000.00")]


def test_campaign_endpoints_open_once_and_list_overdue(gateway):
    opened = gateway.staff("POST", "/api/v1/verification-campaigns", {"opened_on": "2018-10-01"})
    again = gateway.staff("POST", "/api/v1/verification-campaigns", {"opened_on": "2018-10-01"})
    assert (opened.status_code, again.status_code) == (201, 200), opened.text
    assert opened.json()["campaign_id"] == "2018-10"
    assert gateway.staff("POST", "/api/v1/verification-campaigns", {"opened_on": "2018-10-01"}, role="county_staff", org="LY-XL").status_code == 403  # fmt: skip
    closed = gateway.staff("POST", "/api/v1/verification-campaigns/2018-10/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    overdue = gateway.staff("GET", "/api/v1/verification-campaigns/2018-10/overdue?county=LY-XL", role="county_staff", org="LY-XL")  # fmt: skip
    assert overdue.status_code == 200
    assert set(overdue.json()["counties"]) <= {"LY-XL"}


def test_openapi_describes_the_dossier_endpoints(gateway):
    paths = gateway.http.get(gateway.base_url + "/openapi.json").json()["paths"]
    assert {"/api/v1/dossiers", "/api/v1/dossiers/{dossier_id}/confirm", "/api/v1/assistance",
            "/api/v1/condolence-batches", "/api/v1/verification-campaigns"} <= set(paths)  # fmt: skip


def test_a_not_eligible_household_can_only_be_declined_which_frees_its_members(gateway):
    body = household()
    body["assets"]["homes"] = 2
    proposal = submit(gateway, body).json()
    assert proposal["proposed_tier"] is None
    assert any("owns_multiple_homes" in line and "BLOCKS" in line for line in proposal["trace"])
    path = f"{DOSSIERS}/{proposal['dossier_id']}/confirm"
    refused = gateway.staff("POST", path, {"tier": "grassroots"})
    assert refused.status_code == 422
    declined = gateway.staff("POST", path, {"tier": None})
    assert declined.json() == {"status": "declined", "tier": None}
    assert submit(gateway, {**body, "assets": {**body["assets"], "homes": 1}}).status_code == 201
