"""Baselines measured in the same run: raw_store (pymongo), raw_broker (kombu), raw_http (/alive)."""

from __future__ import annotations

import random
import time

from kombu import Connection, Consumer, Exchange, Queue
from pymongo import MongoClient

from bench.harness import Environment, Result, Row, latency_summary, progress, run_load

STORE_OPS = 2000
STORE_MAX_SECONDS = 8.0
BROKER_MESSAGES = 2000
BROKER_MAX_SECONDS = 8.0
HTTP_REQUESTS = 4000
HTTP_CLIENTS = 8
HTTP_MAX_SECONDS = 8.0


def raw_store(env: Environment) -> Result:
    """Single insert_one and indexed find_one per second, one client, against our nx-27017."""
    client = MongoClient(env.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
    try:
        collection = client["bench_raw"]["docs"]
        collection.drop()
        collection.create_index([("key", 1)], name="key_idx", unique=True)
        # About the shape of a small business document (a claim without its outbox).
        template = {
            "hospital_code": "H0001",
            "status": "received",
            "admission_date": "2018-05-02",
            "discharge_date": "2018-05-09",
            "diagnoses": ["K35.8"],
            "total_cost": 1200000,
            "fund_paid": 800000,
            "flags": {"drunk_driving": False, "crime": False},
        }
        progress(f"raw_store: insert_one x {STORE_OPS} (at most {STORE_MAX_SECONDS:g} s)")
        latencies = []
        start = time.perf_counter()
        deadline = start + STORE_MAX_SECONDS
        for i in range(STORE_OPS):
            t = time.perf_counter()
            collection.insert_one({"_id": f"doc-{i}", "key": f"key-{i:07d}", **template})
            latencies.append(time.perf_counter() - t)
            if t >= deadline:
                break
        inserts = len(latencies)
        insert_rate = inserts / (time.perf_counter() - start)

        progress(f"raw_store: indexed find_one x {STORE_OPS} (at most {STORE_MAX_SECONDS:g} s)")
        rng = random.Random(11)
        find_latencies = []
        start = time.perf_counter()
        deadline = start + STORE_MAX_SECONDS
        for _ in range(STORE_OPS):
            t = time.perf_counter()
            found = collection.find_one({"key": f"key-{rng.randrange(inserts):07d}"})
            find_latencies.append(time.perf_counter() - t)
            if found is None:
                raise RuntimeError("raw_store: an inserted document was not found")
            if t >= deadline:
                break
        find_rate = len(find_latencies) / (time.perf_counter() - start)
        collection.drop()
    finally:
        client.close()

    result = Result("raw_store")
    result.metrics = {"inserts_per_s": insert_rate, "finds_per_s": find_rate}
    result.rows = [
        Row("insert_one/s", insert_rate, "/s"),
        Row("indexed find_one/s", find_rate, "/s"),
    ]
    result.details = {
        "endpoint": env.mongo_uri,
        "insert_one": {"ops": inserts, "per_s": insert_rate, **latency_summary(latencies)},
        "find_one": {
            "ops": len(find_latencies),
            "per_s": find_rate,
            **latency_summary(find_latencies),
        },
    }
    progress(f"raw_store: {insert_rate:,.0f} inserts/s, {find_rate:,.0f} finds/s")
    return result


def raw_broker(env: Environment) -> Result:
    """kombu: persistent publishes with publisher confirms to a durable queue, then manual acks."""
    exchange = Exchange("bench.raw", type="direct", durable=True)
    queue = Queue("bench.raw", exchange=exchange, routing_key="bench.raw", durable=True)
    body = {"event_id": "x" * 32, "event_type": "claim_received", "payload": {"claim_id": "y" * 32}}
    with Connection(env.amqp_uri, transport_options={"confirm_publish": True}) as connection:
        connection.ensure_connection(max_retries=3)
        channel = connection.channel()
        queue(channel).declare()
        queue(channel).purge()
        producer = connection.Producer(channel, serializer="json")
        progress(
            f"raw_broker: confirmed persistent publish x {BROKER_MESSAGES}"
            f" (at most {BROKER_MAX_SECONDS:g} s)"
        )
        start = time.perf_counter()
        deadline = start + BROKER_MAX_SECONDS
        published = 0
        for _ in range(BROKER_MESSAGES):
            producer.publish(body, exchange=exchange, routing_key="bench.raw", delivery_mode=2)
            published += 1
            if time.perf_counter() >= deadline:
                break
        publish_rate = published / (time.perf_counter() - start)

        progress(f"raw_broker: consume with manual acks x {published}")
        consumed = 0

        def on_message(_body, message):
            nonlocal consumed
            message.ack()
            consumed += 1

        start = time.perf_counter()
        deadline = start + BROKER_MAX_SECONDS
        consume_channel = connection.channel()
        with Consumer(consume_channel, queues=[queue], callbacks=[on_message], prefetch_count=200):
            while consumed < published and time.perf_counter() < deadline:
                try:
                    connection.drain_events(timeout=1)
                except TimeoutError:
                    continue
        consume_rate = consumed / (time.perf_counter() - start)
        queue(channel).delete()

    result = Result("raw_broker")
    result.metrics = {"publish_per_s": publish_rate, "consume_per_s": consume_rate}
    result.rows = [
        Row("confirmed publish/s", publish_rate, "/s"),
        Row("consume+ack/s", consume_rate, "/s"),
    ]
    result.details = {
        "published": published,
        "publish_per_s": publish_rate,
        "consumed": consumed,
        "consume_per_s": consume_rate,
    }
    progress(f"raw_broker: {publish_rate:,.0f} publishes/s, {consume_rate:,.0f} consumes/s")
    return result


def raw_http(env: Environment) -> Result:
    """GET /alive on the gateway from several keep-alive clients."""
    progress(
        f"raw_http: GET /alive x {HTTP_REQUESTS} from {HTTP_CLIENTS} clients"
        f" (at most {HTTP_MAX_SECONDS:g} s)"
    )
    run = run_load(
        env.gateway_port,
        lambda client, _: client.request("GET", "/alive"),
        total=HTTP_REQUESTS,
        clients=HTTP_CLIENTS,
        max_seconds=HTTP_MAX_SECONDS,
    )
    ok = run.with_status(200)
    rate = len(ok) / run.elapsed
    result = Result("raw_http")
    result.metrics = {"requests_per_s": rate}
    result.rows = [Row(f"GET /alive/s ({HTTP_CLIENTS} clients)", rate, "/s")]
    result.details = {
        "clients": HTTP_CLIENTS,
        "requests": len(run.samples),
        "ok": len(ok),
        "errors": run.errors(200),
        "elapsed_s": run.elapsed,
        "per_s": rate,
        **latency_summary([s.latency for s in ok]),
    }
    progress(f"raw_http: {rate:,.0f} requests/s, errors {run.errors(200) or 'none'}")
    return result
