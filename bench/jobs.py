"""Jobs figure `matching` (BENCH.md): top-20 vacancies for a seeker and top-20 seekers for a
vacancy through the HTTP edge, with 10,000 vacancies / 14,000 seekers loaded and then with
50,000 vacancies / 70,000 seekers (the city at full scale); p95 of each direction ≤ 50 ms and
p95 at 50k ÷ p95 at 10k ≤ 1.5.

The generator is seeded and deterministic: seven counties; occupations whose popularity falls
off like a city's job market does (普工 far more common than 模具设计), each with its own skills
and a few shared ones (安全生产, 办公软件); skill names written as people write them (full-width,
traditional, synonyms) some of the time; education, salary, experience, relocation, migrant
and hardship flags drawn from plausible shares; a few vacancies expired or filled. Records are
written with the service's own store (JobsStore.add_vacancies / add_seekers: sealed, hashed and
masked as registration stores them, each block taking its change numbers) rather than posted
one by one, which would measure intake and not matching; the jobs service's index picks them up
from the store's change sequence as it does any write (a sentinel pair written last tells when
it has)."""

from __future__ import annotations

import random
import time
import uuid
from datetime import date

from bench.harness import (
    Context,
    HarnessError,
    HttpClient,
    Result,
    Row,
    at_most,
    percentile,
    progress,
    wait_for,
)
from services.jobs.store import JobsStore
from shared.auth import mint_staff_token
from shared.contracts.jobs import EDUCATION
from shared.identity import make_id_number, mask_id_number, mask_name
from shared.mongo import get_database

SEED = 20181130
COUNTIES = ("LY-XL", "LY-YD", "LY-CT", "LY-SH", "LY-WP", "LY-LC", "LY-ZP")
SIZES = ((10_000, 14_000), (50_000, 70_000))  # (vacancies, seekers) loaded, cumulative
QUERIES = 300  # per direction and size
BLOCK = 2_000
P95_LIMIT_MS = 50.0
RATIO_LIMIT = 1.5

_SHARED_SKILLS = ["安全生产", "办公软件", "沟通能力", "团队协作", "吃苦耐劳"]
_TRADES = [
    ("普工", ["流水线", "包装", "质检", "设备操作", "搬运", "装配"]),
    ("电焊工", ["焊接", "气割", "识图", "氩弧焊", "二氧化碳保护焊"]),
    ("叉车司机", ["叉车驾驶", "仓储", "装卸", "特种设备证"]),
    ("电工", ["低压电工证", "电气维修", "plc", "布线", "识图"]),
    ("厨师", ["中餐", "面点", "烹饪", "食品安全"]),
    ("营业员", ["销售", "收银", "陈列", "客户服务"]),
    ("保安员", ["巡逻", "消防", "监控", "门岗"]),
    ("保育员", ["育婴", "早教", "护理", "营养配餐"]),
    ("仓管员", ["仓储", "盘点", "erp", "出入库"]),
    ("司机", ["驾驶", "货运", "车辆保养", "道路运输"]),
    ("会计", ["记账", "税务", "财务软件", "出纳"]),
    ("文员", ["打字", "档案管理", "接待", "公文写作"]),
    ("缝纫工", ["平车", "裁剪", "整烫", "打版"]),
    ("护工", ["陪护", "康复护理", "老年照护"]),
    ("快递员", ["配送", "分拣", "电动车驾驶"]),
    ("模具工", ["模具设计", "cad", "数控", "钳工"]),
    ("数控车工", ["数控", "编程", "车床", "量具"]),
    ("矿山机械操作工", ["挖掘机", "装载机", "特种设备证", "矿山安全"]),
    ("茶艺师", ["茶叶加工", "茶艺", "品鉴"]),
    ("电子商务专员", ["网店运营", "直播带货", "美工", "客户服务"]),
]
# More trades, so the vocabulary is a city's (a few hundred names), each rarer than the above.
_TRADES += [(f"技工{n:02d}", [f"技能{n:02d}{k}" for k in "甲乙丙丁戊"]) for n in range(60)]
# As people write them some of the time (the index must normalise them to meet).
_VARIANTS = {
    "焊接": "焊接技术",
    "识图": "識圖",
    "叉车驾驶": "叉车",
    "办公软件": "ＯＦＦＩＣＥ",
    "电焊工": "焊工",
}
_EDUCATION_SHARES = (12, 30, 22, 14, 12, 9, 1)  # none … postgraduate


def _occupation_weights() -> list[float]:
    # Zipf-like: the n-th trade is 1/(n+1)^0.9 as common as the first.
    return [1 / (n + 1) ** 0.9 for n in range(len(_TRADES))]


def _written(rnd: random.Random, name: str) -> str:
    return _VARIANTS[name] if name in _VARIANTS and rnd.random() < 0.3 else name


def _skills(rnd: random.Random, own: list[str], low: int, high: int) -> list[str]:
    count = min(len(own), rnd.randint(low, high))
    picked = rnd.sample(own, count)
    if rnd.random() < 0.4:
        picked.append(rnd.choice(_SHARED_SKILLS))
    return [_written(rnd, s) for s in picked]


class Generator:
    def __init__(self, seed: int = SEED):
        self.rnd = random.Random(seed)
        self.weights = _occupation_weights()
        self.run = uuid.uuid4().hex[:6]
        self.vacancies = 0
        self.seekers = 0

    def _trade(self):
        return self.rnd.choices(_TRADES, self.weights)[0]

    def vacancy(self) -> dict:
        rnd = self.rnd
        n = self.vacancies
        self.vacancies += 1
        occupation, own = self._trade()
        low = rnd.randrange(2_000, 6_000, 100) * 100
        headcount = rnd.choice((1, 1, 2, 3, 5, 10))
        status = "filled" if rnd.random() < 0.03 else "open"
        return {
            "_id": f"Vb{self.run}{n:06d}",
            "employer_id": f"Eb{self.run}{n % 2157:04d}",
            "title": occupation,
            "occupation": _written(rnd, occupation),
            "headcount": headcount,
            "open_headcount": 0 if status == "filled" else headcount,
            "status": status,
            "salary_min_fen": low,
            "salary_max_fen": low + rnd.randrange(500, 3_000, 100) * 100,
            "education": rnd.choices(EDUCATION, _EDUCATION_SHARES)[0],
            "experience_years": rnd.choice((0, 0, 1, 1, 2, 3, 5)),
            "county": rnd.choice(COUNTIES),
            "skills": _skills(rnd, own, 1, 4),
            "migrant_friendly": rnd.random() < 0.5,
            "valid_until": "2018-06-30" if rnd.random() < 0.05 else "2099-12-31",
            "fair_id": None,
            "posted_on": "2018-03-15",
            "posted_by": "bench",
        }

    def seeker(self, store: JobsStore) -> dict:
        rnd = self.rnd
        n = self.seekers
        self.seekers += 1
        occupation, own = self._trade()
        id_number = make_id_number(
            "350802", date(1960 + n % 40, 1 + n // 40 % 12, 1 + n // 480 % 28), n // 13_440 % 1000
        )
        return {
            "_id": f"Sb{self.run}{n:06d}",
            "status": "active",
            "county": rnd.choice(COUNTIES),
            "skills": _skills(rnd, own, 1, 5),
            "desired_occupation": _written(rnd, occupation),
            "willing_to_relocate": rnd.random() < 0.15,
            "min_salary_fen": rnd.randrange(1_800, 6_000, 100) * 100,
            "education": rnd.choices(EDUCATION, _EDUCATION_SHARES)[0],
            "experience_years": rnd.choice((0, 1, 2, 3, 5, 8)),
            "migrant_worker": rnd.random() < 0.3,
            "graduating_student": rnd.random() < 0.1,
            "hardship": rnd.random() < 0.01,
            "registered_on": "2018-03-15",
            "registered_by": "bench",
            "referral_id": None,
            # Sealed as the store seals a registration (the hash is by row: the ID numbers this
            # generator can build repeat past 13 million, far beyond the 70,000 loaded).
            "id_hash": f"bench-{self.run}-{n}",
            "id_enc": store.vault.encrypt(id_number),
            "id_masked": mask_id_number(id_number),
            "name_enc": store.vault.encrypt("张三明"),
            "name_masked": mask_name("张三明"),
            "phone_enc": None,
            "phone_masked": None,
        }


def _load(store: JobsStore, gen: Generator, vacancies: int, seekers: int) -> float:
    started = time.perf_counter()
    while gen.vacancies < vacancies:
        store.add_vacancies([gen.vacancy() for _ in range(min(BLOCK, vacancies - gen.vacancies))])
    while gen.seekers < seekers:
        store.add_seekers([gen.seeker(store) for _ in range(min(BLOCK, seekers - gen.seekers))])
    return time.perf_counter() - started


def _sentinel(store: JobsStore, gen: Generator) -> tuple[str, str]:
    """A vacancy and a seeker written last, sharing a skill no one else has."""
    mark = f"哨兵{uuid.uuid4().hex[:8]}"
    vacancy = {
        **gen.vacancy(),
        "skills": [mark],
        "status": "open",
        "open_headcount": 1,
        "valid_until": "2099-12-31",
    }
    seeker = {
        **gen.seeker(store),
        "skills": [mark],
        "status": "active",
        "county": vacancy["county"],
    }
    seeker["education"] = "postgraduate"
    seeker["min_salary_fen"] = 0
    store.add_vacancies([vacancy])
    store.add_seekers([seeker])
    return vacancy["_id"], seeker["_id"]


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _query_times(client: HttpClient, headers: dict, paths: list[str]) -> tuple[list[float], int]:
    seconds, found = [], 0
    for path in paths:
        started = time.perf_counter()
        status, body = client.json("GET", path, None, headers)
        seconds.append(time.perf_counter() - started)
        if status != 200:
            raise HarnessError(f"GET {path} answered {status}: {str(body)[:300]}")
        found += len(body)
    return seconds, found


def matching(ctx: Context) -> Result:
    env = ctx.env
    store = JobsStore(get_database(env.mongo_uri, env.database_name("jobs")), env.settings)
    secret = env.settings.staff_jwt_secret
    token = mint_staff_token(secret, sub="bench-jobs", role="city_admin", org="LY")
    headers = {"Authorization": "Bearer " + token}
    client = HttpClient(env.gateway_port)
    jobs_pid = env.processes["jobs"].pid
    gen = Generator()
    rnd = random.Random(SEED + 1)
    measured: dict[int, dict] = {}
    try:
        for vacancies, seekers in SIZES:
            load_seconds = _load(store, gen, vacancies, seekers)
            progress(
                f"matching: {vacancies} vacancies, {seekers} seekers stored in {load_seconds:.1f} s"
            )
            vacancy_id, seeker_id = _sentinel(store, gen)
            started = time.perf_counter()

            def indexed(vacancy_id=vacancy_id, seeker_id=seeker_id) -> bool:
                _, rows = client.json(
                    "GET", f"/api/v1/jobs/seekers/{seeker_id}/matches?limit=5", None, headers
                )
                _, back = client.json(
                    "GET", f"/api/v1/jobs/vacancies/{vacancy_id}/matches?limit=5", None, headers
                )
                return any(r["id"] == vacancy_id for r in rows) and any(
                    r["id"] == seeker_id for r in back
                )

            if not wait_for(indexed, timeout=600, interval=1.0):
                raise HarnessError("the jobs index did not pick up the loaded records in 600 s")
            caught_up = time.perf_counter() - started
            progress(f"matching: the index caught up {caught_up:.1f} s after the load")
            seeker_ids = [
                f"Sb{gen.run}{rnd.randrange(gen.seekers - 1):06d}" for _ in range(QUERIES)
            ]
            vacancy_ids = [
                f"Vb{gen.run}{rnd.randrange(gen.vacancies - 1):06d}" for _ in range(QUERIES)
            ]
            # A warm-up round (connections, caches), not measured.
            _query_times(
                client,
                headers,
                [f"/api/v1/jobs/seekers/{s}/matches?limit=20" for s in seeker_ids[:20]],
            )
            for_seeker, found_v = _query_times(
                client, headers, [f"/api/v1/jobs/seekers/{s}/matches?limit=20" for s in seeker_ids]
            )
            for_vacancy, found_s = _query_times(
                client,
                headers,
                [f"/api/v1/jobs/vacancies/{v}/matches?limit=20" for v in vacancy_ids],
            )
            # The anchor, in the same run: a plain read through the same edge, RPC and store
            # lookup (GET one vacancy), so what matching adds stands apart from the machine's
            # load.
            plain, _ = _query_times(
                client, headers, [f"/api/v1/jobs/vacancies/{v}" for v in vacancy_ids]
            )
            measured[vacancies] = {
                "vacancies": gen.vacancies,
                "seekers": gen.seekers,
                "load_seconds": round(load_seconds, 1),
                "index_caught_up_seconds": round(caught_up, 1),
                "seeker_to_vacancies_p50_ms": round(percentile(for_seeker, 50) * 1000, 2),
                "seeker_to_vacancies_p95_ms": round(percentile(for_seeker, 95) * 1000, 2),
                "vacancy_to_seekers_p50_ms": round(percentile(for_vacancy, 50) * 1000, 2),
                "vacancy_to_seekers_p95_ms": round(percentile(for_vacancy, 95) * 1000, 2),
                "plain_read_p50_ms": round(percentile(plain, 50) * 1000, 2),
                "plain_read_p95_ms": round(percentile(plain, 95) * 1000, 2),
                "mean_results_per_seeker_query": round(found_v / QUERIES, 1),
                "mean_results_per_vacancy_query": round(found_s / QUERIES, 1),
                "jobs_rss_mib": round(_rss_mib(jobs_pid), 1),
            }
            progress(f"matching at {vacancies}: {measured[vacancies]}")
    finally:
        client.close()
    small, full = measured[SIZES[0][0]], measured[SIZES[1][0]]
    result = Result("matching")
    rows = []
    for direction in ("seeker_to_vacancies", "vacancy_to_seekers"):
        key = f"{direction}_p95_ms"
        for size, figures in (("10k", small), ("50k", full)):
            row = at_most(f"{direction}_p95_{size}", figures[key], "ms", P95_LIMIT_MS)
            row.baseline = figures["plain_read_p95_ms"]
            row.baseline_label = f"plain GET p95 at {size}, ms"
            rows.append(row)
        ratio = full[key] / small[key]
        rows.append(
            Row(
                f"{direction}_p95_50k_over_10k",
                round(ratio, 3),
                "x",
                goal=f"<= {RATIO_LIMIT:g}",
                ok=ratio <= RATIO_LIMIT,
            )
        )
    rows.append(Row("jobs_rss_at_50k", full["jobs_rss_mib"], "MiB"))
    result.rows = rows
    result.details = {
        "sizes": measured,
        "queries_per_direction": QUERIES,
        "limit": 20,
        "through": "HTTP: gateway → RPC → jobs (one client, sequential)",
        "seeding": "JobsStore.add_vacancies / add_seekers, seeded generator (see docstring)",
    }
    result.metrics = {"seeker_p95_50k_ms": full["seeker_to_vacancies_p95_ms"]}
    return result
