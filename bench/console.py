"""The staff console's page render time (issue 13: ≤ 300 ms p95 with 20,000 dossiers loaded).

Every page is rendered on the server from the gateway's answers, so a page costs the API calls
it makes plus its template. The baseline, measured in the same run, is the API call the
dossier list page itself makes (`GET /api/v1/dossiers` straight to the gateway with the same
token): the ratio shows what the console adds. Requests are sequential from one signed-in
browser-like client (a person clicking), each page several times.

The 20,000 dossiers are seeded straight into the dossiers database (as bench/dossiers.py does,
for the same reason); they carry every field a dossier view reads."""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
import uuid

from pymongo import MongoClient

from bench.harness import Context, HarnessError, HttpClient, Result, at_most, percentile, progress
from scripts.devstack import free_port, port_open
from shared.auth import mint_staff_token

DOSSIERS = 20_000
SEED_CHUNK = 1000
ROUNDS = 40  # each page, sequentially
GOAL_P95_MS = 300.0
TIERS = ("national", "local", "grassroots")
COUNTIES = ("LY-XL", "LY-YD", "LY-CT", "LY-SH", "LY-WP", "LY-LC", "LY-ZP")


def _seed(ctx: Context) -> str:
    client = MongoClient(ctx.env.mongo_uri, serverSelectionTimeoutMS=5000)
    dossiers = client[ctx.env.database_name("dossiers")]["dossiers"]
    run = uuid.uuid4().hex[:8]
    try:
        for start in range(0, DOSSIERS, SEED_CHUNK):
            docs = []
            for n in range(start, min(DOSSIERS, start + SEED_CHUNK)):
                county = COUNTIES[n % len(COUNTIES)]
                docs.append(
                    {
                        "_id": f"console-{run}-{n:06d}",
                        "status": "open",
                        "tier": TIERS[n % 3],
                        "proposed_tier": TIERS[n % 3],
                        "county": county,
                        "org": f"{county}-{n % 50:04d}",
                        "category": "低保边缘户",
                        "head_id_hash": f"console-hash-{run}-{n}",
                        "head_id_enc": "not-decrypted-unless-revealed",
                        "head_id_masked": "350802********0000",
                        "employment_status": "unemployed",
                        "employer": None,
                        "members": [
                            {
                                "id_enc": "not-decrypted-unless-revealed",
                                "id_masked": "350802********0000",
                                "name": "陈大明",
                                "relation": "self",
                                "monthly_income_fen": 50000,
                            }
                        ],
                        "monthly_rigid_expenditure_fen": 30000,
                        "months_below_line": 6,
                        "causes": ["illness"],
                        "assets": {
                            "homes": 1,
                            "owns_business": False,
                            "private_school_or_abroad": False,
                            "non_work_vehicle": False,
                        },
                        "address": "新罗区东城街道1号",
                        "intake_date": "2018-03-02",
                        "opened_on": "2018-03-05",
                        "trace": ["seeded for the console benchmark"],
                        "policy_version": "bench",
                        "revision": 2,
                        "ledger": {},
                        "assistance_total_fen": 0,
                        "verification_overdue": False,
                    }
                )
            dossiers.insert_many(docs, ordered=False)
    finally:
        client.close()
    return f"console-{run}-000000"


class Browser:
    """A signed-in console session over one keep-alive connection (its cookie kept by hand)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""

    def send(self, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.getheader("Set-Cookie"):
            self.cookie = _cookie(response.getheader("Set-Cookie"))
        return response.status, data

    def get(self, path: str) -> tuple[int, bytes]:
        return self.send("GET", path)

    def sign_in(self, name: str, role: str, org: str) -> None:
        _, page = self.get("/signin")  # sets the session cookie its form's CSRF token belongs to
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.decode()).group(1)
        status, _ = self.send(
            "POST", "/signin", {"csrf_token": csrf, "name": name, "role": role, "org": org}
        )
        if status != 302:
            raise HarnessError(f"console sign-in answered {status}")

    def close(self) -> None:
        self.conn.close()


def _cookie(header: str | None) -> str:
    if not header:
        raise HarnessError("the console set no session cookie")
    return header.split(";", 1)[0]


def _timed(what: str, call, rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        status, body = call()
        seconds.append(time.perf_counter() - started)
        if status != 200:
            text = body.decode(errors="replace")
            raise HarnessError(
                f"{what} answered {status} after {seconds[-1]:.2f} s: "
                + " ".join(re.findall(r'data-testid="error">([^<]*)', text) or [text[:300]])
            )
    return seconds


def console_pages(ctx: Context) -> Result:
    stack = ctx.env.stack
    port = free_port()
    stack.env["CONSOLE_PORT"] = str(port)
    stack.env["CONSOLE_GATEWAY_URL"] = f"http://127.0.0.1:{ctx.env.gateway_port}"
    started = time.perf_counter()
    first = _seed(ctx)
    progress(f"console_pages: seeded {DOSSIERS} dossiers in {time.perf_counter() - started:.1f} s")
    stack.start_console()
    if not port_open("127.0.0.1", port):
        raise HarnessError("the console did not start")

    secret = ctx.env.settings.staff_jwt_secret
    token = mint_staff_token(secret, sub="陈丽", role="county_staff", org="LY")
    api = HttpClient(ctx.env.gateway_port)
    auth = {"Authorization": f"Bearer {token}"}
    baseline = _timed(
        "GET /api/v1/dossiers",
        lambda: api.request("GET", "/api/v1/dossiers", headers=auth),
        ROUNDS,
    )
    api.close()

    pages = {
        "dashboard /": ("city_admin", "LY", "/?year=2018"),
        "dashboard households panel (after first paint)": (
            "city_admin",
            "LY",
            "/dashboard/households",
        ),
        "dossier list /dossiers": ("county_staff", "LY", "/dossiers"),
        "filtered list": ("county_staff", "LY", "/dossiers?county=LY-XL&status=open&tier=local"),
        "a county clerk's open dossiers": ("county_staff", "LY-XL", "/dossiers?status=open"),
        "a county clerk's households panel (after first paint)": (
            "county_staff",
            "LY-XL",
            "/dashboard/households",
        ),
        "dossier /dossiers/{id}": ("county_staff", "LY", f"/dossiers/{first}"),
        "review queue /review": ("reviewer", "LY", "/review"),
        "audit log /audit": ("auditor", "LY", "/audit"),
    }
    timings: dict[str, list[float]] = {}
    for label, (role, org, path) in pages.items():
        browser = Browser(port)
        try:
            browser.sign_in("陈丽", role, org)
            browser.get(path)  # warm: templates compiled once per process
            timings[label] = _timed(label, lambda path=path, b=browser: b.get(path), ROUNDS)
        finally:
            browser.close()
        progress(
            f"console_pages: {label}: p50 {percentile(timings[label], 50) * 1000:.1f} ms,"
            f" p95 {percentile(timings[label], 95) * 1000:.1f} ms"
        )
    stack.stop_service("console")

    # First paint: every full page; the households panel arrives after it (htmx) and is shown
    # on its own row.
    every = [s for label, values in timings.items() if "panel" not in label for s in values]
    baseline_p95 = percentile(baseline, 95) * 1000
    result = Result("console_pages")
    result.rows = [
        at_most(
            f"page p95 (first paint), {DOSSIERS // 1000}k dossiers",
            round(percentile(every, 95) * 1000, 1),
            "ms",
            GOAL_P95_MS,
        ),
        *(
            at_most(f"  {label} p95", round(percentile(v, 95) * 1000, 1), "ms", GOAL_P95_MS)
            for label, v in timings.items()
        ),
    ]
    result.rows[0].baseline = round(baseline_p95, 1)
    result.rows[0].baseline_label = "GET /api/v1/dossiers p95 (ms)"
    result.details = {
        "dossiers_seeded": DOSSIERS,
        "rounds_per_page": ROUNDS,
        "baseline_api_list_p50_ms": round(percentile(baseline, 50) * 1000, 1),
        "baseline_api_list_p95_ms": round(baseline_p95, 1),
        "pages": {
            label: {
                "p50_ms": round(percentile(v, 50) * 1000, 1),
                "p95_ms": round(percentile(v, 95) * 1000, 1),
            }
            for label, v in timings.items()
        },
    }
    result.metrics = {"p95_ms": percentile(every, 95) * 1000}
    return result
