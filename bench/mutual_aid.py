"""Mutual-aid figures through the HTTP edge: bill_intake, bill_to_notice, memory, payout_batch."""

from __future__ import annotations

import itertools
import json
import math
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from pymongo import MongoClient

from bench.harness import (
    Context,
    CpuMeter,
    HarnessError,
    HttpClient,
    LoadRun,
    Result,
    Row,
    at_least_ratio,
    at_most,
    latency_summary,
    progress,
    run_load,
    wait_for,
)
from shared.auth import mint_staff_token
from shared.identity import make_id_number, mask_name
from shared.mongo import COUNTS_FLUSH_SECONDS, read_command_counts
from shared.webhooks import sign_webhook

HOSPITAL_CODE = "H9001"
PERIOD, PLAN, EMPLOYER_ORG = 11, "A", "LY-XL-0042"
ENROLLED_ON, COVERAGE_START = "2017-11-20", "2018-01-01"
ENROLMENT_BATCH = 500
# First-time members wait 90 days from coverage_start (2018-01-01): stays start after that,
# one member's stays are STAY_STRIDE days apart so they never overlap, and all end in 2018.
FIRST_ADMISSION = date(2018, 4, 10)
STAY_DAYS, STAY_STRIDE, STAYS_PER_MEMBER = 5, 8, 30

INTAKE_MEMBERS = 1000
INTAKE_CLIENTS = 16
INTAKE_WARMUP = 60
INTAKE_MAX_BILLS = 3000
INTAKE_MAX_SECONDS = 15.0
HALF_RATE_SECONDS = 10.0

NOTICE_BATCH = 300
NOTICE_CLIENTS = 8
NOTICE_MAX_SECONDS = 30.0
NOTICE_PACED_MAX_BILLS = 300
NOTICE_PACED_SECONDS = 15.0

DRAIN_TIMEOUT_SECONDS = 120.0
MEMORY_LIMIT_MIB = 150.0


# ---- fixtures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id_number: str
    name: str


class MutualAidFixture:
    """A staff token, a partner hospital and its secret, and a supply of enrolled members."""

    def __init__(self, ctx: Context):
        self.env = ctx.env
        self.client = HttpClient(ctx.env.gateway_port)
        self.token = mint_staff_token(
            ctx.env.settings.staff_jwt_secret, sub="bench-admin", role="city_admin", org="LY"
        )
        self.staff_headers = {"Authorization": f"Bearer {self.token}"}
        self._next_member = itertools.count()
        self._bill_numbers = itertools.count(1)
        status, answer = self.client.json(
            "POST",
            "/api/v1/partners",
            {
                "code": HOSPITAL_CODE,
                "kind": "hospital",
                "name": "龙岩市第一医院（压测）",
                "level": 3,
            },
            self.staff_headers,
        )
        if status != 201:
            raise HarnessError(f"POST /api/v1/partners answered {status}: {answer}")
        self.secret = answer["secret"]
        progress(f"registered partner hospital {HOSPITAL_CODE}")

    @classmethod
    def of(cls, ctx: Context) -> MutualAidFixture:
        if "mutual_aid" not in ctx.fixtures:
            ctx.fixtures["mutual_aid"] = cls(ctx)
        return ctx.fixtures["mutual_aid"]

    def new_members(self, count: int) -> list[Member]:
        """``count`` members never used before, enrolled in period 11 through the API."""
        members = []
        for _ in range(count):
            n = next(self._next_member)
            birth = date(1965, 1, 1) + timedelta(days=n // 1000)
            members.append(Member(make_id_number("350802", birth, n % 1000), f"压测职工{n}"))
        started = time.perf_counter()
        for i in range(0, count, ENROLMENT_BATCH):
            batch = members[i : i + ENROLMENT_BATCH]
            status, answer = self.client.json(
                "POST",
                "/api/v1/mutual-aid/enrollments",
                {
                    "period": PERIOD,
                    "employer_org": EMPLOYER_ORG,
                    "plan": PLAN,
                    "enrolled_on": ENROLLED_ON,
                    "members": [
                        {"id_number": m.id_number, "name": m.name, "coverage_start": COVERAGE_START}
                        for m in batch
                    ],
                },
                self.staff_headers,
            )
            if status != 201 or answer.get("enrolled") != len(batch):
                raise HarnessError(f"enrolment answered {status}: {str(answer)[:300]}")
        progress(f"enrolled {count} members in {time.perf_counter() - started:.1f} s")
        return members

    def signed_bill(self, member: Member, stay: int) -> tuple[str, bytes, dict[str, str]]:
        """A discharge bill of ``member``'s ``stay``-th stay, signed now: (path, body, headers)."""
        if not 0 <= stay < STAYS_PER_MEMBER:
            raise ValueError(f"stay must be in 0..{STAYS_PER_MEMBER - 1}")
        admission = FIRST_ADMISSION + timedelta(days=stay * STAY_STRIDE)
        discharge = admission + timedelta(days=STAY_DAYS)
        bill = {
            "bill_no": f"ZY2018-{next(self._bill_numbers):07d}",
            "patient_id_number": member.id_number,
            "patient_name": member.name,
            "hospital_level": 3,
            "admission_date": admission.isoformat(),
            "discharge_date": discharge.isoformat(),
            "diagnoses": ["J18.9"],
            "total_cost": "12000.00",
            "fund_paid": "8000.00",
            "self_pay_in_catalogue": "3000.00",
            "self_pay_out_of_catalogue": "1000.00",
            "single_disease_code": None,
            "submitted_on": (discharge + timedelta(days=2)).isoformat(),
            "flags": {"drunk_driving": False, "crime": False, "third_party_liable": False},
        }
        body = json.dumps(bill, ensure_ascii=False).encode()
        webhook_id = f"msg_{uuid.uuid4().hex}"
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_webhook(self.secret, webhook_id, timestamp, body),
        }
        return f"/api/v1/hospitals/{HOSPITAL_CODE}/discharge-bills", body, headers

    def inbox(self, client: HttpClient, member: Member) -> list[dict]:
        status, answer = client.json(
            "POST",
            "/api/v1/notifications/inbox/query",
            {"id_number": member.id_number},
            self.staff_headers,
        )
        if status == 404:  # no message for this member yet
            return []
        if status != 200:
            raise HarnessError(f"inbox query answered {status}: {str(answer)[:300]}")
        return answer["messages"]


def poster(bills: list[tuple[str, bytes, dict[str, str]]]):
    """The load-loop request for pre-signed bills: the k-th request posts the k-th bill."""

    def request(client: HttpClient, index: int) -> tuple[int, bytes]:
        path, body, headers = bills[index]
        return client.request("POST", path, body, headers)

    return request


def wait_until_quiet(ctx: Context, what: str, timeout: float = DRAIN_TIMEOUT_SECONDS) -> bool:
    """Wait until every claim is decided and notified, so one run's backlog never loads the next.

    Reads counts straight from the bench's own nx-27017 (a hint of when to look, never a figure):
    every claim leads to exactly one inbox message. ``estimated_document_count`` is the count
    command without a filter, well under a millisecond; ``count_documents({})`` makes nx-27017
    read every document (about 0.1 s at 1,500 claims) and would itself load the store."""
    env = ctx.env
    client = MongoClient(env.mongo_uri, serverSelectionTimeoutMS=5000)
    claims = client[env.database_name("mutual_aid")]["claims"]
    inbox = client[env.database_name("notifications")]["inbox"]
    last_report = [time.monotonic()]
    started = time.monotonic()

    def quiet() -> bool:
        total, notified = claims.estimated_document_count(), inbox.estimated_document_count()
        if time.monotonic() - last_report[0] >= 5:
            last_report[0] = time.monotonic()
            progress(f"{what}: waiting for the pipeline, {notified}/{total} claims notified")
        return notified >= total

    try:
        done = wait_for(quiet, timeout, interval=0.25)
    finally:
        client.close()
    if done:
        progress(f"{what}: pipeline quiet after {time.monotonic() - started:.1f} s")
    else:
        progress(f"{what}: pipeline still busy after {timeout:g} s; going on")
    return done


def claims_in_store(ctx: Context) -> int:
    """How many claims the store holds: the pipeline's cost per bill grows with it."""
    client = MongoClient(ctx.env.mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        return client[ctx.env.database_name("mutual_aid")]["claims"].estimated_document_count()
    finally:
        client.close()


def member_stays(
    members: list[Member], count: int, first_stay: int = 0
) -> list[tuple[Member, int]]:
    """``count`` (member, stay) pairs, round robin over ``members`` so no stay repeats."""
    pairs = []
    for i in range(count):
        stay = first_stay + i // len(members)
        if stay >= STAYS_PER_MEMBER:
            raise ValueError("not enough members for that many bills")
        pairs.append((members[i % len(members)], stay))
    return pairs


# ---- commands_per_bill --------------------------------------------------------------------------

COUNT_BILLS = 200
COUNT_CLIENTS = 4
COUNT_IDLE_SECONDS = 3.0
COMMANDS_PER_BILL_GOAL = 6


def _counts(ctx: Context) -> dict[str, dict[str, int]]:
    return read_command_counts(ctx.env.counts_dir)


def _settled_counts(ctx: Context) -> dict[str, dict[str, int]]:
    """The counts once every process has written its latest (each rewrites its file within a
    flush period of a change)."""
    time.sleep(3 * COUNTS_FLUSH_SECONDS)
    return _counts(ctx)


def _difference(after: dict, before: dict) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for service, counts in after.items():
        base = before.get(service, {})
        changed = {k: n - base.get(k, 0) for k, n in counts.items() if n != base.get(k, 0)}
        if changed:
            out[service] = changed
    return out


def commands_per_bill(ctx: Context) -> Result:
    """Store commands per bill end to end, counted exactly by pymongo's command monitoring in
    every service process (shared/mongo.py): intake, adjudication, notification, relay marks.

    The count over a window in which COUNT_BILLS bills go from the hospital to the inbox, less
    what the idle platform sends in as long (relay polls, timers), measured just before."""
    fixture = MutualAidFixture.of(ctx)
    members = fixture.new_members(COUNT_BILLS)
    bills = [fixture.signed_bill(m, 0) for m in members]
    wait_until_quiet(ctx, "commands_per_bill start")
    before_idle = _settled_counts(ctx)
    idle_started = time.monotonic()
    time.sleep(COUNT_IDLE_SECONDS)
    idle_counts = _settled_counts(ctx)
    idle_seconds = time.monotonic() - idle_started
    idle = _difference(idle_counts, before_idle)
    idle_per_s = sum(sum(c.values()) for c in idle.values()) / idle_seconds

    started = time.monotonic()
    run = run_load(
        ctx.env.gateway_port,
        poster(bills),
        total=COUNT_BILLS,
        clients=COUNT_CLIENTS,
        max_seconds=60,
    )
    accepted = len(_accepted(run))
    if accepted != COUNT_BILLS:
        raise HarnessError(f"commands_per_bill: answers {run.errors(202)} besides 202")
    if not wait_until_quiet(ctx, "commands_per_bill"):
        raise HarnessError("commands_per_bill: the pipeline did not finish the bills")
    time.sleep(1.5)  # the relay marks what it published after the notice may already be out
    after = _settled_counts(ctx)
    window = time.monotonic() - started
    used = _difference(after, idle_counts)
    total = sum(sum(c.values()) for c in used.values())
    idle_share = idle_per_s * window
    per_bill = (total - idle_share) / COUNT_BILLS
    # Each service's share, less its own idle rate over the window (relay polls, timers).
    per_service = {
        service: round(
            (sum(counts.values()) - sum(idle.get(service, {}).values()) / idle_seconds * window)
            / COUNT_BILLS,
            2,
        )
        for service, counts in used.items()
    }
    progress(
        f"commands_per_bill: {total} commands in {window:.1f} s for {COUNT_BILLS} bills, idle"
        f" {idle_per_s:.1f}/s; {per_bill:.2f} per bill ({per_service})"
    )
    result = Result("commands_per_bill")
    result.metrics = {"commands_per_bill": per_bill}
    result.rows = [
        at_most("store commands per bill", per_bill, "commands", COMMANDS_PER_BILL_GOAL),
        *(
            Row(f"  of which {service}", value, "commands")
            for service, value in sorted(per_service.items())
        ),
    ]
    result.details = {
        "method": "pymongo CommandListener in every service process (MONGO_COMMAND_COUNTS_DIR);"
        " (commands in the window - idle rate x window) / bills",
        "bills": COUNT_BILLS,
        "window_s": round(window, 2),
        "idle_commands_per_s": round(idle_per_s, 2),
        "idle_commands": idle,
        "commands": used,
        "per_bill_by_command": {
            f"{service}:{name}": round(n / COUNT_BILLS, 3)
            for service, counts in used.items()
            for name, n in sorted(counts.items())
        },
    }
    return result


# ---- bill_intake ------------------------------------------------------------------------------


def _accepted(run: LoadRun):
    return run.with_status(202)


def bill_intake(ctx: Context) -> Result:
    """Signed discharge bills accepted (202) per second, and p99 latency at half that rate."""
    store_rate = ctx.metric("raw_store", "inserts_per_s")
    fixture = MutualAidFixture.of(ctx)
    members = fixture.new_members(INTAKE_MEMBERS)
    stays = iter(member_stays(members, INTAKE_MEMBERS * STAYS_PER_MEMBER))
    port = ctx.env.gateway_port

    def sign(count: int):
        return [fixture.signed_bill(*next(stays)) for _ in range(count)]

    progress(f"bill_intake: warm-up, {INTAKE_WARMUP} bills")
    warm = run_load(
        port, poster(sign(INTAKE_WARMUP)), total=INTAKE_WARMUP, clients=4, max_seconds=30
    )
    if len(_accepted(warm)) != INTAKE_WARMUP:
        raise HarnessError(f"bill_intake warm-up: answers {warm.errors(202)} besides 202")
    wait_until_quiet(ctx, "bill_intake warm-up")

    claims_before = claims_in_store(ctx)
    progress(
        f"bill_intake: full rate, {INTAKE_CLIENTS} clients, at most {INTAKE_MAX_BILLS} bills"
        f" or {INTAKE_MAX_SECONDS:g} s"
    )
    bills = sign(INTAKE_MAX_BILLS)
    with CpuMeter(ctx.env) as full_cpu:
        full = run_load(
            port,
            poster(bills),
            total=INTAKE_MAX_BILLS,
            clients=INTAKE_CLIENTS,
            max_seconds=INTAKE_MAX_SECONDS,
        )
    accepted = _accepted(full)
    rate = len(accepted) / full.elapsed
    full_latency = latency_summary([s.latency for s in accepted])
    progress(
        f"bill_intake: {len(accepted)} accepted in {full.elapsed:.1f} s = {rate:,.0f}/s,"
        f" p50 {full_latency['p50_ms']} ms, p99 {full_latency['p99_ms']} ms,"
        f" other answers {full.errors(202) or 'none'}"
    )
    progress(f"bill_intake: CPU during the full-rate run: {full_cpu.line()}")
    with CpuMeter(ctx.env) as drain_cpu:
        wait_until_quiet(ctx, "bill_intake full rate")
    progress(f"bill_intake: CPU while the pipeline caught up: {drain_cpu.line()}")

    half_rate = rate / 2
    half_total = max(1, min(INTAKE_MAX_BILLS, int(half_rate * HALF_RATE_SECONDS)))
    progress(f"bill_intake: paced at {half_rate:,.1f}/s (half), {half_total} bills")
    bills = sign(half_total)
    with CpuMeter(ctx.env) as half_cpu:
        half = run_load(
            port,
            poster(bills),
            total=half_total,
            clients=INTAKE_CLIENTS,
            max_seconds=HALF_RATE_SECONDS + 5,
            rate=half_rate,
        )
    half_accepted = _accepted(half)
    half_latency = latency_summary([s.corrected_latency for s in half_accepted])
    half_service = latency_summary([s.latency for s in half_accepted])
    progress(
        f"bill_intake: half rate p50 {half_latency['p50_ms']} ms, p99 {half_latency['p99_ms']} ms,"
        f" other answers {half.errors(202) or 'none'}"
    )
    wait_until_quiet(ctx, "bill_intake half rate")

    result = Result("bill_intake")
    result.metrics = {"accepted_per_s": rate, "half_rate_p99_ms": half_latency["p99_ms"]}
    result.rows = [
        at_least_ratio("accepted/s", rate, "/s", store_rate, "raw_store inserts/s", 0.5),
        Row("p50 at full rate", full_latency["p50_ms"], "ms"),
        Row("p99 at full rate", full_latency["p99_ms"], "ms"),
        Row("p50 at half rate", half_latency["p50_ms"], "ms"),
        at_most("p99 at half rate", half_latency["p99_ms"], "ms", 50),
    ]
    result.details = {
        "raw_store_inserts_per_s": store_rate,
        "claims_in_store_before": claims_before,
        "full_rate": {
            "clients": INTAKE_CLIENTS,
            "sent": len(full.samples),
            "accepted": len(accepted),
            "other_answers": full.errors(202),
            "elapsed_s": full.elapsed,
            "accepted_per_s": rate,
            "latency": full_latency,
            "cpu": full_cpu.summary(),
            "cpu_catching_up_after": drain_cpu.summary(),
        },
        "half_rate": {
            "target_per_s": half_rate,
            "achieved_per_s": len(half_accepted) / half.elapsed,
            "sent": len(half.samples),
            "accepted": len(half_accepted),
            "other_answers": half.errors(202),
            "latency_from_schedule": half_latency,
            "latency_from_send": half_service,
            "cpu": half_cpu.summary(),
        },
    }
    return result


# ---- bill_intake_down -------------------------------------------------------------------------

DOWN_BILLS = 1500
DOWN_MAX_SECONDS = 15.0


def _claims_with_ids(ctx: Context, claim_ids: list[str]) -> int:
    """How many of these claims the store holds (by ``_id``, which nx-27017 looks up by index)."""
    client = MongoClient(ctx.env.mongo_uri, serverSelectionTimeoutMS=5000)
    claims = client[ctx.env.database_name("mutual_aid")]["claims"]
    try:
        return sum(
            len(list(claims.find({"_id": {"$in": claim_ids[i : i + 500]}}, {"_id": 1})))
            for i in range(0, len(claim_ids), 500)
        )
    finally:
        client.close()


def bill_intake_down(ctx: Context) -> Result:
    """Signed bills sent at full rate while mutual_aid is stopped (the broker up): how many are
    accepted per second, and every answer besides 202 (a 503 would be a bill we could have
    kept). Then mutual_aid is started again and every accepted bill must be decided once: the
    store holds exactly one claim under each claim id answered, and the claim count grew by
    exactly the number accepted."""
    store_rate = ctx.metric("raw_store", "inserts_per_s")
    fixture = MutualAidFixture.of(ctx)
    members = fixture.new_members(DOWN_BILLS)  # enrolled while mutual_aid is up
    bills = [fixture.signed_bill(member, 0) for member in members]
    wait_until_quiet(ctx, "bill_intake_down start")
    claims_before = claims_in_store(ctx)
    stack = ctx.env.stack
    progress("bill_intake_down: stopping mutual_aid")
    stack.stop_service("mutual_aid")
    try:
        run = run_load(
            ctx.env.gateway_port,
            poster(bills),
            total=DOWN_BILLS,
            clients=INTAKE_CLIENTS,
            max_seconds=DOWN_MAX_SECONDS,
        )
    finally:
        progress("bill_intake_down: starting mutual_aid again")
        restarted = time.monotonic()
        stack.start_service("mutual_aid")
        stack.wait_healthy()
    accepted = _accepted(run)
    rate = len(accepted) / run.elapsed
    latency = latency_summary([s.latency for s in accepted])
    claim_ids = sorted({json.loads(s.body)["claim_id"] for s in accepted})
    progress(
        f"bill_intake_down: {len(accepted)} accepted in {run.elapsed:.1f} s = {rate:,.0f}/s with"
        f" mutual_aid stopped, p99 {latency['p99_ms']} ms, other answers"
        f" {run.errors(202) or 'none'}"
    )
    caught_up = wait_for(
        lambda: claims_in_store(ctx) - claims_before >= len(claim_ids),
        DRAIN_TIMEOUT_SECONDS,
        interval=0.5,
    )
    catch_up_s = time.monotonic() - restarted
    held = _claims_with_ids(ctx, claim_ids)
    grown = claims_in_store(ctx) - claims_before
    lost = len(claim_ids) - held
    twice = max(0, grown - held)  # claims beyond one per answered claim id
    progress(
        f"bill_intake_down: caught up={caught_up} in {catch_up_s:.1f} s after the restart;"
        f" {held} of {len(claim_ids)} claims decided, {lost} lost, {twice} more than once"
    )
    wait_until_quiet(ctx, "bill_intake_down")

    result = Result("bill_intake_down")
    result.metrics = {"accepted_per_s": rate, "lost": lost, "twice": twice}
    result.rows = [
        Row(
            "accepted/s, mutual_aid stopped",
            rate,
            "/s",
            baseline=store_rate,
            baseline_label="raw_store inserts/s",
        ),
        Row("p99 with mutual_aid stopped", latency["p99_ms"], "ms"),
        at_most("answers besides 202", float(len(run.samples) - len(accepted)), "", 0),
        at_most("accepted bills lost or decided twice after the restart", lost + twice, "", 0),
        Row("decided after the restart in", catch_up_s, "s"),
    ]
    result.details = {
        "bills_sent": len(run.samples),
        "accepted": len(accepted),
        "distinct_claim_ids": len(claim_ids),
        "other_answers": run.errors(202),
        "elapsed_s": run.elapsed,
        "latency": latency,
        "claims_before": claims_before,
        "claims_grown": grown,
        "claims_held_of_those_answered": held,
        "caught_up": caught_up,
        "catch_up_s": catch_up_s,
    }
    return result


# ---- bill_to_notice ---------------------------------------------------------------------------


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _notified_at(
    fixture: MutualAidFixture, client: HttpClient, member: Member, claim_id: str
) -> float | None:
    for message in fixture.inbox(client, member):
        if message["ref"] == claim_id:
            return _timestamp(message["created_at"])
    return None


def _end_to_end(ctx: Context, members: list[Member], run: LoadRun):
    """Per accepted bill: (its sample, when its inbox message was created or None)."""
    fixture = MutualAidFixture.of(ctx)
    client = HttpClient(ctx.env.gateway_port)
    try:
        pairs = []
        for sample in _accepted(run):
            claim_id = json.loads(sample.body)["claim_id"]
            pairs.append((sample, _notified_at(fixture, client, members[sample.index], claim_id)))
    finally:
        client.close()
    return pairs


def bill_to_notice(ctx: Context) -> Result:
    """Bill accepted → claim decided → inbox message: bills fully notified/s and p50/p99."""
    store_rate = ctx.metric("raw_store", "inserts_per_s")
    fixture = MutualAidFixture.of(ctx)
    port = ctx.env.gateway_port
    members = fixture.new_members(NOTICE_BATCH + NOTICE_PACED_MAX_BILLS)
    batch_members = members[:NOTICE_BATCH]
    paced_members = members[NOTICE_BATCH:]
    wait_until_quiet(ctx, "bill_to_notice start")
    claims_before = claims_in_store(ctx)
    progress(f"bill_to_notice: {claims_before} claims in the store before the batch")

    progress(f"bill_to_notice: batch of {NOTICE_BATCH} bills from {NOTICE_CLIENTS} clients")
    bills = [fixture.signed_bill(m, 0) for m in batch_members]
    with CpuMeter(ctx.env) as batch_cpu:
        batch = run_load(
            port,
            poster(bills),
            total=NOTICE_BATCH,
            clients=NOTICE_CLIENTS,
            max_seconds=NOTICE_MAX_SECONDS,
        )
        wait_until_quiet(ctx, "bill_to_notice batch", timeout=60)
    progress(f"bill_to_notice: CPU for the batch until notified: {batch_cpu.line()}")
    pairs = _end_to_end(ctx, batch_members, batch)
    notified = [(s, at) for s, at in pairs if at is not None]
    first_sent = min((s.sent_at for s in batch.samples), default=math.nan)
    last_notice = max((at for _, at in notified), default=math.nan)
    span = last_notice - first_sent
    throughput = len(notified) / span if notified and span > 0 else 0.0
    batch_latency = latency_summary([at - s.sent_at for s, at in notified])
    progress(
        f"bill_to_notice: {len(notified)}/{NOTICE_BATCH} notified in {span:.2f} s ="
        f" {throughput:,.1f}/s, p50 {batch_latency['p50_ms']} ms, p99 {batch_latency['p99_ms']} ms"
    )

    half_rate = max(throughput / 2, 1.0)
    paced_total = max(1, min(NOTICE_PACED_MAX_BILLS, int(half_rate * NOTICE_PACED_SECONDS)))
    progress(f"bill_to_notice: paced at {half_rate:,.1f}/s (half), {paced_total} bills")
    bills = [fixture.signed_bill(m, 0) for m in paced_members[:paced_total]]
    with CpuMeter(ctx.env) as paced_cpu:
        paced = run_load(
            port,
            poster(bills),
            total=paced_total,
            clients=NOTICE_CLIENTS,
            max_seconds=NOTICE_PACED_SECONDS + 5,
            rate=half_rate,
        )
        wait_until_quiet(ctx, "bill_to_notice half rate", timeout=60)
    paced_pairs = _end_to_end(ctx, paced_members, paced)
    paced_notified = [(s, at) for s, at in paced_pairs if at is not None]
    # From the bill's slot, so a bill that could not leave on time counts its wait too.
    paced_latency = latency_summary([at - s.scheduled_at for s, at in paced_notified])
    progress(
        f"bill_to_notice: half rate {len(paced_notified)}/{paced_total} notified,"
        f" p50 {paced_latency['p50_ms']} ms, p99 {paced_latency['p99_ms']} ms"
    )

    result = Result("bill_to_notice")
    result.metrics = {"notified_per_s": throughput, "half_rate_p99_ms": paced_latency["p99_ms"]}
    result.rows = [
        at_least_ratio(
            "bills notified/s", throughput, "/s", store_rate, "raw_store inserts/s", 0.25
        ),
        Row("p50 in batch", batch_latency["p50_ms"], "ms"),
        Row("p99 in batch", batch_latency["p99_ms"], "ms"),
        Row("p50 at half rate", paced_latency["p50_ms"], "ms"),
        at_most("p99 at half rate", paced_latency["p99_ms"], "ms", 250),
    ]
    result.details = {
        "raw_store_inserts_per_s": store_rate,
        "method": "latency = inbox message created_at (read back through "
        "POST /api/v1/notifications/inbox/query) minus the bill's send time",
        "claims_in_store_before": claims_before,
        "batch": {
            "bills": NOTICE_BATCH,
            "clients": NOTICE_CLIENTS,
            "accepted": len(pairs),
            "notified": len(notified),
            "other_answers": batch.errors(202),
            "span_s": span,
            "notified_per_s": throughput,
            "latency": batch_latency,
            "cpu": batch_cpu.summary(),
        },
        "half_rate": {
            "target_per_s": half_rate,
            "bills": paced_total,
            "accepted": len(paced_pairs),
            "notified": len(paced_notified),
            "other_answers": paced.errors(202),
            "latency_from_schedule": paced_latency,
            "latency_from_send": latency_summary([at - s.sent_at for s, at in paced_notified]),
            "cpu": paced_cpu.summary(),
        },
    }
    return result


# ---- memory -----------------------------------------------------------------------------------


def _peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def memory(ctx: Context) -> Result:
    """Peak RSS (VmHWM) of each service process, read after bill_intake and bill_to_notice."""
    result = Result("memory")
    peaks = {}
    for name, process in sorted(ctx.env.processes.items()):
        peak = _peak_rss_mib(process.pid)
        peaks[name] = {"pid": process.pid, "peak_rss_mib": peak}
        result.rows.append(at_most(f"{name} peak RSS", peak, "MiB", MEMORY_LIMIT_MIB))
    if ctx.env.nx is not None:
        peak = _peak_rss_mib(ctx.env.nx.pid)
        peaks["nx-27017"] = {"pid": ctx.env.nx.pid, "peak_rss_mib": peak, "service": False}
        result.rows.append(Row("nx-27017 peak RSS (store, no goal)", peak, "MiB"))
    result.details = {"source": "/proc/<pid>/status VmHWM", "processes": peaks}
    result.metrics = {name: p["peak_rss_mib"] for name, p in peaks.items()}
    progress("memory: " + ", ".join(f"{n} {p['peak_rss_mib']:.0f} MiB" for n, p in peaks.items()))
    return result


# ---- payout batch -----------------------------------------------------------------------------

PAYOUT_CLAIMS = 10_000
PAYOUT_MONTH = "2018-06"
PAYOUT_SEED_CHUNK = 1000


def _seed_approved_claims(ctx: Context, count: int) -> None:
    """``count`` approved claims written straight into mutual_aid's database with pymongo.

    Producing them through bills and reviews would measure the pipeline, not the batch (and
    take minutes); the documents carry exactly the fields the batch and its file read, as
    ``record_decision`` leaves them. No outbox, so the relay and the notices stay out of it."""
    client = MongoClient(ctx.env.mongo_uri, serverSelectionTimeoutMS=5000)
    claims = client[ctx.env.database_name("mutual_aid")]["claims"]
    run = uuid.uuid4().hex[:8]
    try:
        for start in range(0, count, PAYOUT_SEED_CHUNK):
            docs = []
            for n in range(start, min(count, start + PAYOUT_SEED_CHUNK)):
                id_number = make_id_number(
                    "350802", date(1960, 1, 1) + timedelta(days=n // 1000), n % 1000
                )
                docs.append(
                    {
                        "_id": f"bench-{run}-{n:06d}",
                        "hospital_code": HOSPITAL_CODE,
                        "bill_no": f"PAY-{run}-{n:06d}",
                        "webhook_id": f"msg_pay_{run}_{n}",
                        "member_id_hash": f"bench-hash-{run}-{n}",
                        "member_id_masked": id_number[:6] + "********" + id_number[-4:],
                        "patient_name_masked": mask_name(f"压测职工{n}"),
                        "status": "approved",
                        "amount_fen": 66000 + n % 1000,
                        "period": PERIOD,
                        "plan": PLAN,
                        "member_org": EMPLOYER_ORG,
                        "policy_version": "mutual_aid/2018-v1",
                    }
                )
            claims.insert_many(docs, ordered=False)
    finally:
        client.close()


def payout_batch(ctx: Context) -> Result:
    """BENCH.md "batches": the monthly payout of 10,000 approved claims, batch and bank file,
    through the HTTP edge; goal ≤ 2 × (10,000 ÷ raw_store inserts/s)."""
    store_rate = ctx.metric("raw_store", "inserts_per_s")
    limit = 2 * PAYOUT_CLAIMS / store_rate
    started = time.perf_counter()
    _seed_approved_claims(ctx, PAYOUT_CLAIMS)
    progress(
        f"payout_batch: seeded {PAYOUT_CLAIMS} approved claims in "
        f"{time.perf_counter() - started:.1f} s"
    )
    token = mint_staff_token(
        ctx.env.settings.staff_jwt_secret, sub="bench-finance", role="finance", org="LY"
    )
    headers = {"Authorization": f"Bearer {token}"}
    client = HttpClient(ctx.env.gateway_port)
    try:
        started = time.perf_counter()
        status, batch = client.json(
            "POST", "/api/v1/mutual-aid/payout-batches", {"month": PAYOUT_MONTH}, headers
        )
        created = time.perf_counter() - started
        if status != 201:
            raise HarnessError(f"payout batch answered {status}: {str(batch)[:300]}")
        status, data = client.request(
            "GET", f"/api/v1/mutual-aid/payout-batches/{batch['batch_id']}/file", None, headers
        )
        elapsed = time.perf_counter() - started
        if status != 200:
            raise HarnessError(f"payout file answered {status}: {data[:300]!r}")
        lines = data.count(b"\n") - 1
        status, again = client.json(
            "POST", "/api/v1/mutual-aid/payout-batches", {"month": PAYOUT_MONTH}, headers
        )
    finally:
        client.close()
    if status != 200 or again.get("claims") != batch["claims"]:
        raise HarnessError(f"the same month again answered {status}: {str(again)[:300]}")
    progress(
        f"payout_batch: {batch['claims']} claims batched in {created:.2f} s, "
        f"file of {lines} lines after {elapsed:.2f} s (limit {limit:.2f} s)"
    )
    result = Result("payout_batch")
    result.rows.append(at_most("payout_batch_and_file_s", round(elapsed, 3), "s", round(limit, 2)))
    result.details = {
        "seeded_claims": PAYOUT_CLAIMS,
        "batched_claims": batch["claims"],
        "file_lines": lines,
        "batch_seconds": round(created, 3),
        "batch_and_file_seconds": round(elapsed, 3),
        "limit_seconds": round(limit, 3),
        "raw_store_inserts_per_s": round(store_rate, 1),
    }
    result.metrics = {"seconds": elapsed}
    return result
