"""The console's pages over a recording stand-in for the gateway: what each page asks the API,
errors beside the field they name, CSRF, sign-in and out, and no asset from elsewhere."""

from __future__ import annotations

import re

import pytest
from werkzeug.test import Client

from services.console.api import Answer
from services.console.app import Console, audit_match, intake_body, mask_name
from services.console.config import load_console_settings


class RecordingGateway:
    """Answers each (method, path) with a canned Answer and records every call it got."""

    def __init__(self, answers: dict | None = None):
        self.answers = answers or {}
        self.calls: list[tuple[str, str, str | None, dict]] = []

    def call(self, method, path, token, **kwargs):
        self.calls.append((method, path, token, kwargs))
        return self.answers.get((method, path), Answer(404, {"error": {"message": "nope"}}))


@pytest.fixture
def gateway():
    return RecordingGateway()


@pytest.fixture
def client(gateway):
    console = Console(load_console_settings({"APP_ENV": "test"}), gateway=gateway)
    return Client(console)


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)


def sign_in(client, role="reviewer", org="LY-XL", name="王芳"):
    token = csrf_of(client.get("/signin"))
    response = client.post(
        "/signin", data={"csrf_token": token, "name": name, "role": role, "org": org}
    )
    assert response.status_code == 302, response.text
    # A new session at sign-in, with a CSRF token of its own (no session fixation).
    fresh = csrf_of(client.get("/signin"))
    assert fresh != token
    return fresh


def test_pages_need_a_session(client):
    response = client.get("/dossiers?county=LY-XL")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=%2Fdossiers%3Fcounty%3DLY-XL")


def test_a_post_without_the_session_csrf_token_is_refused(client, gateway):
    sign_in(client)
    response = client.post("/claims/c1/review", data={"decision": "approve", "csrf_token": "x"})
    assert response.status_code == 400
    assert not [c for c in gateway.calls if c[0] == "POST"]


def test_every_call_carries_the_signed_in_token_and_only_api_paths(client, gateway):
    sign_in(client)
    client.get("/review")
    client.get("/dossiers?status=open")
    assert gateway.calls
    for _method, path, token, _ in gateway.calls:
        assert path.startswith("/api/v1/") and token


def test_an_api_field_error_appears_beside_its_field(client, gateway):
    gateway.answers[("POST", "/api/v1/mutual-aid/payout-batches")] = Answer(
        400,
        {"error": {"code": "validation_error", "message": "bad", "fields": {"month": ["must look like 2018-06"]}}},
    )  # fmt: skip
    token = sign_in(client, role="finance", org="LY")
    response = client.post("/finance", data={"csrf_token": token, "month": "2018-13"})
    assert response.status_code == 400
    field = response.text.index('id="month"')
    error = response.text.index('id="err-month"')
    assert 0 < error - field < 300 and "must look like 2018-06" in response.text
    assert 'aria-describedby="err-month"' in response.text


def test_nested_field_errors_reach_the_member_row(client, gateway):
    gateway.answers[("POST", "/api/v1/dossiers")] = Answer(
        400,
        {"error": {"message": "bad", "fields": {"members": {"1": {"id_number": ["not a valid ID number"]}}}}},
    )  # fmt: skip
    token = sign_in(client, role="county_staff")
    response = client.post(
        "/dossiers/new",
        data={"csrf_token": token, "members.1.name": "陈小红", "members.1.id_number": "123"},
    )
    assert 'id="err-members-1-id_number"' in response.text


def test_signing_out_forgets_the_session(client):
    token = sign_in(client)
    assert client.get("/review").status_code != 302
    client.post("/signout", data={"csrf_token": token})
    assert client.get("/review").headers["Location"].startswith("/signin")


def test_no_asset_comes_from_elsewhere(client, gateway):
    gateway.answers[("GET", "/api/v1/dossiers")] = Answer(200, {"dossiers": []})
    sign_in(client, role="city_admin", org="LY")
    page = client.get("/")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s[:1] in "/#" and not s.startswith("//") for s in sources)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_sign_in_never_redirects_off_site(client):
    token = csrf_of(client.get("/signin"))
    response = client.post(
        "/signin",
        data={"csrf_token": token, "name": "王芳", "role": "reviewer", "org": "LY", "next": "//evil.example"},
    )  # fmt: skip
    assert response.headers["Location"] == "/"


def test_maker_checker_names_are_masked():
    assert mask_name("王芳") == "王*"
    assert mask_name(None) == "—"


def test_the_intake_form_becomes_the_api_body():
    from werkzeug.datastructures import MultiDict

    form = MultiDict(
        [
            ("county", "LY-XL"), ("org", "LY-XL-0042"), ("category", "低保边缘户"),
            ("employment_status", "unemployed"), ("members.0.name", "陈大明"),
            ("members.0.id_number", "350802198001010011"), ("members.0.relation", "self"),
            ("members.0.monthly_income", "500.00"), ("monthly_rigid_expenditure", "300.00"),
            ("months_below_line", "6"), ("causes", "illness"), ("causes", "disability"),
            ("homes", "1"), ("address", "新罗区东城街道1号"),
        ]
    )  # fmt: skip
    body = intake_body(form)
    assert body["head_id_number"] == "350802198001010011"
    assert body["months_below_line"] == 6 and body["causes"] == ["illness", "disability"]
    assert body["assets"] == {
        "homes": 1, "owns_business": False, "private_school_or_abroad": False,
        "non_work_vehicle": False,
    }  # fmt: skip
    assert len(body["members"]) == 1 and "intake_date" not in body


def test_a_student_aid_application_refused_by_the_api_shows_beside_its_fields(client, gateway):
    gateway.answers[("POST", "/api/v1/student-aid/applications")] = Answer(
        422,
        {"error": {"code": "outside_window", "message": "outside the window", "fields": {"applied_on": ["after 2018-08-31"]}}},
    )  # fmt: skip
    token = sign_in(client, role="county_staff")
    assert client.get("/student-aid/applications/new").status_code == 200
    response = client.post(
        "/student-aid/applications/new",
        data={"csrf_token": token, "campaign": "2018", "student_name": "陈小红", "applied_on": "2018-09-03"},
    )  # fmt: skip
    assert response.status_code == 422
    assert 'id="err-applied_on"' in response.text and "after 2018-08-31" in response.text
    sent = [c for c in gateway.calls if c[0] == "POST"][-1][3]["json"]
    assert sent["campaign"] == 2018 and sent["aided_elsewhere"] is False
    assert sent["migrant_hardship_certified_by"] is None


def test_the_audit_page_asks_the_api_for_its_filters_and_shows_a_refused_one_beside_it(
    client, gateway
):
    sign_in(client, role="auditor", org="LY", name="孙审")
    gateway.answers[("GET", "/api/v1/audit-log")] = Answer(
        400, {"error": {"message": "bad", "fields": {"to": ["must not be before from"]}}}
    )
    response = client.get("/audit?actor=陈丽&action=view_full_id&from=2018-06-02&to=2018-06-01")
    [(_, _, _, asked)] = [c for c in gateway.calls if c[1] == "/api/v1/audit-log"]
    assert asked["params"] == {
        "actor": "陈丽", "action": "view_full_id", "target": "", "from": "2018-06-02",
        "to": "2018-06-01", "limit": 1000,
    }  # fmt: skip
    assert 'id="err-to"' in response.text and "must not be before from" in response.text
    assert 'aria-describedby="err-to"' in response.text
    assert 'value="2018-06-01"' in response.text  # the filters stay in the form (and the URL)


def test_a_condolence_batch_runs_with_its_progress_polled_until_it_is_paid(client, gateway):
    sign_in(client, role="finance", org="LY", name="赵敏")
    progress = "/api/v1/condolence-batches/2019-spring"
    batch = {"batch_id": "2019-spring:LY", "festival": "2019-spring", "fund": "F1",
             "households": 2100, "total": "2100000.00", "paid_households": 0, "paid_total": "0.00"}  # fmt: skip
    gateway.answers[("GET", progress)] = Answer(200, {**batch, "status": "paying", "done": 1000})
    polled = client.get("/condolence/progress?festival=2019-spring", headers={"HX-Request": "true"})
    assert "已处理 1000 / 2100 户" in polled.text and 'value="1000"' in polled.text
    assert 'hx-trigger="every 1s"' in polled.text  # still paying: it asks again
    paid = {**batch, "status": "paid", "done": 2100, "paid_households": 2100}
    gateway.answers[("GET", progress)] = Answer(200, paid)
    polled = client.get("/condolence/progress?festival=2019-spring", headers={"HX-Request": "true"})
    assert "已处理 2100 / 2100 户" in polled.text and "every 1s" not in polled.text
    # Before the run has listed its households the API answers 404: wait and ask again.
    gateway.answers[("GET", progress)] = Answer(404, {"error": {"message": "not yet"}})
    polled = client.get("/condolence/progress?festival=2019-spring", headers={"HX-Request": "true"})
    assert 'data-status="waiting"' in polled.text and "every 1s" in polled.text
    # The run itself: its long call, and a refusal beside the field it names.
    gateway.answers[("POST", "/api/v1/condolence-batches")] = Answer(
        422, {"error": {"message": "基金余额不足", "fields": {"fund": ["余额不足"]}}}
    )
    token = csrf_of(client.get("/condolence"))
    refused = client.post(
        "/condolence",
        data={"csrf_token": token, "festival": "2019-spring", "fund": "F1"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 200  # htmx swaps in only a 2xx answer
    assert 'id="err-fund"' in refused.text and "基金余额不足" in refused.text
    [(_, _, _, asked)] = [c for c in gateway.calls if c[0] == "POST"]
    assert asked["json"] == {"festival": "2019-spring", "fund": "F1"}
    assert asked["timeout"] > 120  # longer than the gateway waits for the batch


def chart_of(html: str, label: str) -> dict:
    """The ECharts option rendered beside the chart whose aria-label is ``label``."""
    import html as html_lib
    import json

    found = re.search(rf'aria-label="{label}" data-chart="([^"]*)"', html)
    assert found, f"no chart {label}"
    return json.loads(html_lib.unescape(found.group(1)))


def test_the_dashboard_draws_the_api_figures_by_month_county_tier_and_level_with_tables(
    client, gateway
):
    sign_in(client, role="city_admin", org="LY", name="周管")
    figures = {"person_times": 3, "approved_total": "900.00", "paid_total": "400.00"}
    gateway.answers[("GET", "/api/v1/mutual-aid/periods/11/stats")] = Answer(200, {
        **figures, "by_plan": {"A": figures}, "by_county": {"LY-XL": figures},
        "by_month": {
            "2018-05": {"person_times": 2, "approved_total": "500.00", "paid_total": "400.00",
                        "by_county": {"LY-XL": {"person_times": 2, "approved_total": "500.00",
                                                "paid_total": "400.00"}}},
            "2018-06": {"person_times": 1, "approved_total": "400.00", "paid_total": "0.00",
                        "by_county": {"LY-SH": {"person_times": 1, "approved_total": "400.00",
                                                "paid_total": "0.00"}}},
        },
    })  # fmt: skip
    level = {"applications": 2, "eligible": 2, "approved": 2, "approved_total": "10000.00",
             "waitlisted": 1, "paid": {"count": 0, "total": "0.00"}}  # fmt: skip
    gateway.answers[("GET", "/api/v1/student-aid/campaigns/2018/stats")] = Answer(
        200, {**level, "by_county": {}, "by_level": {"undergraduate": level}, "by_path": {}}
    )
    gateway.answers[("GET", "/api/v1/student-aid/campaigns/2018")] = Answer(
        200, {"campaign": 2018, "budget": "2600000.00"}
    )
    page = client.get("/?year=2018").text
    months = chart_of(page, "每月互助人次（按县堆叠）与核准金额")
    assert months["xAxis"]["data"] == ["2018-05", "2018-06"]
    assert {s["name"]: s["data"] for s in months["series"]} == {
        "新罗区": [2, 0], "上杭县": [0, 1], "核准金额（元）": [500.0, 400.0],
    }  # fmt: skip
    assert re.search(r"<th scope=\"row\">2018-06</th><td>1</td><td>400.00</td>", page)
    awards = chart_of(page, "各学段核准资助金额与预算")
    assert {s["name"]: s["data"] for s in awards["series"]} == {
        "本科": [10000.0, None], "预算": [None, 2600000.0],
    }  # fmt: skip
    assert "10000.00" in page and 'data-testid="student-aid-budget">2600000.00' in page

    gateway.answers[("GET", "/api/v1/dossiers/stats")] = Answer(200, {
        "open": 4, "by_tier": {"national": 1, "local": 2, "grassroots": 1},
        "by_county": {"LY-XL": {"national": 1, "local": 2, "grassroots": 1}},
    })  # fmt: skip
    households = client.get("/dashboard/households", headers={"HX-Request": "true"}).text
    tiers = chart_of(households, "各县在档户数按档级")
    assert [s["data"] for s in tiers["series"]] == [[1], [2], [1]]
    assert "在档 4 户" in households

    gateway.answers[("GET", "/api/v1/jobs/stats")] = Answer(200, {
        "fairs": {"monthly": 2, "campus_enterprise": 1}, "intents": 5, "hires": 3,
    })  # fmt: skip
    jobs = client.get("/dashboard/jobs-months?year=2018", headers={"HX-Request": "true"}).text
    asked = [c[3]["params"] for c in gateway.calls if c[1] == "/api/v1/jobs/stats"]
    assert asked[-12:][1] == {"from": "2018-02-01", "to": "2018-02-28"}
    assert len(asked[-12:]) == 12 and asked[-1]["to"] == "2018-12-31"
    by_month = chart_of(jobs, "每月招聘会场次、就业意向和录用人数")
    assert {s["name"]: s["data"] for s in by_month["series"]} == {
        "就业意向": [5] * 12, "录用": [3] * 12, "招聘会（场）": [3] * 12,
    }  # fmt: skip


def test_a_claims_review_log_is_narrowed_as_the_api_narrows_the_audit_log():
    """A claim's or a campaign's log comes whole; the console narrows it by the same rules as
    GET /api/v1/audit-log: the staff id exactly, days from and to both kept."""
    entry = {"by": "王芳", "at": "2018-05-31T23:59:59.999+08:00"}
    assert audit_match(entry, {"actor": "王芳", "from": "2018-05-31", "to": "2018-05-31"})
    assert not audit_match(entry, {"actor": "王"})
    assert not audit_match(entry, {"from": "2018-06-01"})
    assert not audit_match(entry, {"to": "2018-05-30"})
