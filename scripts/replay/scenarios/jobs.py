"""The employment supermarket's 2018 (就业超市, DOMAIN.md §4) as the city's staff sent it: fairs
announced and held, employers registered and posting vacancies at them, job seekers registered
at the fairs (a few of them first referred by the 12345 hotline through the city platform),
employment intents agreed there, hires and their 30- and 90-day follow-ups.

The source reports the market "as of 30 November": 40+ fairs, 2,157 employers, 50,700 positions,
68,000 seekers served and 18,000+ intents. The year is drawn so that the figures the jobs service
counts for 2018-01-01..2018-11-30 (``GET /api/v1/jobs/stats``) are exactly those, scaled:

- fairs: a calendar of 42 (22 monthly, 10 migrant-worker special, 10 campus–enterprise), all held
  by 30 November; at a scale, ``scaled(42, s)`` of them spread evenly over the calendar;
- employers: each registered on the day of its first fair, registered for 1–3 fairs and posting
  1–3 vacancies at each; the service counts an employer that posted or registered in the range;
- positions: the vacancies' headcounts, apportioned so they sum to exactly ``scaled(50,700, s)``;
  every vacancy is posted for its fair (the service dates a vacancy posted for a fair by the
  fair's date, so a year replayed later still counts it in 2018);
- seekers served: every seeker registered for one fair (the registration is dated by the fair;
  a seeker registered by staff today is not a 2018 seeker otherwise);
- intents: ``scaled(18,360, s)``, one per seeker, agreed at the seeker's fair for one of its
  vacancies; about 45 % end in a hire 3–30 days later while places are left, and each hire gets
  its follow-ups (days from the jobs policy) recorded when they fall due within 2018.

Steps are planned once per (seed, scale) into small tuples and turned into requests lazily, in
(on, wave) order; every identifier the platform hands back is saved under a ``jobs_*`` name.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from scripts.replay.city import CITY_PLATFORM, COUNTIES, POOLS, YEAR, City, Worker
from scripts.replay.model import Api, Chart, Figure, Partner, Staff, Step, scaled
from services.jobs.domain.policy import SERVICE, JobsPolicy
from shared.contracts.jobs import EDUCATION
from shared.identity import make_credit_code
from shared.policy import policy_in_force

ROOT = Path(__file__).resolve().parents[3]

# The source's counts (to 30 November 2018) and what the draw chooses where it says "40+".
SOURCE_FAIRS = "40+"
SOURCE_INTENTS = "18000+"
EMPLOYERS = 2_157
POSITIONS = 50_700
SEEKERS = 68_000
INTENTS = 18_360  # "1.8万余人": 18,000 and some
# 12345 cases the union's window took in 2018 ("12345平台网件10件"); the job-seeking ones among
# them reach jobs as referrals. The hardship ones are the households part's.
REFERRALS = 6

FIGURES_FROM = date(YEAR, 1, 1)
FIGURES_TO = date(YEAR, 11, 30)  # the source counts "截至11月30日"
YEAR_END = date(YEAR, 12, 31)
ANNOUNCED_DAYS_BEFORE = 14
HIRE_SHARE = 0.45  # of intents, while the vacancy has places left
HIRED_AFTER_DAYS = (3, 30)
STILL_EMPLOYED = {30: 0.92, 90: 0.88}  # at day 90: of those still employed at day 30

# The city's employment desk (职工服务中心) runs every fair and registers everyone at them.
DESK = Staff("city_admin", "LY", sub="ly-employment-desk")
READER = Staff("city_admin", "LY", sub="ly-replay-report")
PLATFORM = Partner(CITY_PLATFORM[0])  # e·龙岩, forwarding the 12345 hotline's referrals

FAIR_KIND_LABELS = {
    "monthly": "月度招聘会",
    "campus_enterprise": "校企对接会",
    "migrant_special": "农民工专场",
}


# ---- the fair calendar of 2018 (scale 1) -------------------------------------------------------


@dataclass(frozen=True)
class Fair:
    number: int  # 0..41, its place in the calendar (stable across scales: it keys the steps)
    day: date
    kind: str
    county: str
    name: str
    weight: int  # relative size: share of the employers and seekers who come


def _saturday(year: int, month: int, nth: int) -> date:
    days = [d for d in calendar.Calendar().itermonthdates(year, month) if d.month == month]
    return [d for d in days if d.weekday() == calendar.SATURDAY][nth - 1]


def _calendar() -> list[Fair]:
    rows: list[tuple[date, str, str, str, int]] = []
    others = [c for c in COUNTIES if c != "LY-XL"]
    for month in range(1, 12):
        # The service centre's own monthly fair (2nd Saturday), and one in a county (4th).
        rows.append(
            (_saturday(YEAR, month, 2), "monthly", "LY-XL", f"{month}月职工服务中心月度招聘会", 6)
        )
        county = others[(month - 1) % len(others)]
        rows.append(
            (
                _saturday(YEAR, month, 4),
                "monthly",
                county,
                f"{month}月{COUNTIES[county][0]}就业服务月度招聘会",
                3,
            )
        )
    # 春风行动: after the Spring Festival (16 February 2018) migrant workers look for work in
    # every county; two more in summer and autumn for those back from the harvest.
    spring = [date(YEAR, 2, 24), date(YEAR, 2, 26), date(YEAR, 3, 1), date(YEAR, 3, 3)]
    spring += [date(YEAR, 3, 6), date(YEAR, 3, 8), date(YEAR, 3, 10), date(YEAR, 3, 17)]
    for n, (day, county) in enumerate(zip(spring, [*COUNTIES, "LY-XL"], strict=True)):
        name = f"春风行动{COUNTIES[county][0]}农民工专场招聘会"
        rows.append((day, "migrant_special", county, name if n < 7 else name + "（二）", 8))
    rows.append((date(YEAR, 7, 21), "migrant_special", "LY-SH", "上杭县农民工夏季专场招聘会", 4))
    rows.append((date(YEAR, 10, 20), "migrant_special", "LY-CT", "长汀县农民工秋季专场招聘会", 4))
    campus = [
        (date(YEAR, 3, 24), "LY-XL", "龙岩学院春季校企对接会"),
        (date(YEAR, 4, 12), "LY-XL", "闽西职业技术学院校企对接会"),
        (date(YEAR, 4, 26), "LY-ZP", "漳平职业技术学校校企对接会"),
        (date(YEAR, 5, 10), "LY-SH", "上杭职业中专学校校企对接会"),
        (date(YEAR, 5, 17), "LY-CT", "长汀职业中专学校校企对接会"),
        (date(YEAR, 9, 20), "LY-XL", "龙岩学院秋季校企对接会"),
        (date(YEAR, 10, 18), "LY-XL", "闽西职业技术学院秋季校企对接会"),
        (date(YEAR, 10, 25), "LY-YD", "永定职业技术学校校企对接会"),
        (date(YEAR, 11, 8), "LY-LC", "连城职业中专学校校企对接会"),
        (date(YEAR, 11, 15), "LY-WP", "武平职业中专学校校企对接会"),
    ]
    rows += [(day, "campus_enterprise", county, name, 4) for day, county, name in campus]
    rows.sort(key=lambda r: (r[0], r[3]))
    return [Fair(n, *row) for n, row in enumerate(rows)]


FAIRS = _calendar()


# ---- occupations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Occupation:
    name: str
    industry: str
    skills: tuple[str, ...]
    education: str  # the least a vacancy asks
    salary: tuple[int, int]  # yuan a month, the low end and high end of offers
    campus: bool = False  # offered mostly at campus–enterprise fairs


OCCUPATIONS = [
    Occupation("普工", "制造业", ("流水线操作", "包装", "质量检验"), "none", (3000, 4500)),
    Occupation("电焊工", "机械制造", ("焊接", "氩弧焊", "识图"), "junior_high", (4500, 7000)),
    Occupation(
        "数控车工", "机械制造", ("数控编程", "车床操作", "识图"), "vocational", (4500, 7500)
    ),
    Occupation("机修工", "机械制造", ("设备维修", "钳工", "识图"), "vocational", (4500, 6500)),
    Occupation("电工", "电力", ("电工", "电气维修", "识图"), "vocational", (4000, 6500)),
    Occupation("采掘工", "采矿", ("井下作业", "安全生产"), "junior_high", (5500, 8000)),
    Occupation("叉车司机", "物流", ("叉车驾驶", "仓储管理"), "junior_high", (4000, 5500)),
    Occupation("仓管员", "物流", ("仓储管理", "办公软件", "盘点"), "senior_high", (3200, 4500)),
    Occupation("快递员", "物流", ("快递", "驾驶"), "junior_high", (4000, 7000)),
    Occupation("司机", "交通运输", ("驾驶", "安全驾驶"), "junior_high", (4500, 6500)),
    Occupation("营业员", "零售", ("销售", "收银"), "junior_high", (2800, 4000)),
    Occupation("销售代表", "商贸", ("销售", "客户沟通", "办公软件"), "senior_high", (3500, 8000)),
    Occupation(
        "会计", "商务服务", ("会计", "财务软件", "办公软件"), "junior_college", (4000, 6000)
    ),
    Occupation("文员", "商务服务", ("办公软件", "文档管理"), "senior_high", (3000, 4000)),
    Occupation("客服", "商务服务", ("客户服务", "办公软件"), "senior_high", (3000, 4500)),
    Occupation("厨师", "餐饮", ("中餐烹饪", "食品安全"), "junior_high", (4000, 6500)),
    Occupation("服务员", "餐饮", ("客户服务", "沟通"), "none", (2600, 3500)),
    Occupation("保安员", "物业", ("安全巡查", "消防知识"), "junior_high", (2800, 3600)),
    Occupation("护工", "医疗卫生", ("护理", "陪护"), "junior_high", (3000, 4500)),
    Occupation("保育员", "教育", ("保育", "幼儿护理"), "senior_high", (2800, 4000)),
    Occupation("缝纫工", "纺织服装", ("缝纫", "平车"), "none", (3200, 5500)),
    Occupation("质检员", "制造业", ("质量检验", "办公软件"), "senior_high", (3500, 5000)),
    Occupation(
        "电商运营",
        "互联网",
        ("电商运营", "办公软件", "摄影"),
        "junior_college",
        (4000, 7000),
        campus=True,
    ),
    Occupation(
        "软件开发",
        "信息技术",
        ("Java", "数据库", "Linux"),
        "undergraduate",
        (6000, 10000),
        campus=True,
    ),
    Occupation(
        "机械设计",
        "机械制造",
        ("CAD", "机械设计", "识图"),
        "undergraduate",
        (5000, 8000),
        campus=True,
    ),
    Occupation(
        "化验员", "化工", ("化学分析", "实验室管理"), "junior_college", (3800, 5500), campus=True
    ),
]
INDUSTRIES = sorted({o.industry for o in OCCUPATIONS})
# Occupations every kind of employer hires for, beside its own trade.
GENERAL = ["普工", "仓管员", "司机", "保安员", "文员", "销售代表"]
_BY_NAME = {o.name: o for o in OCCUPATIONS}
_TRADE_NAMES = (
    "闽西 龙鑫 汀江 紫金 冠豸 永福 连峰 梅花山 红土 客家 古田 天宫 金山 新罗 九龙".split()
)
_FORMS = {"制造业": "制造", "机械制造": "机械", "电力": "电力", "采矿": "矿业", "物流": "物流"}


# ---- the plan: who does what on which day, as small tuples ------------------------------------


@dataclass(frozen=True)
class Employer:
    number: int
    county: str
    industry: str
    fairs: tuple[int, ...]  # calendar numbers in date order; it registers at the first


@dataclass(frozen=True)
class Vacancy:
    number: int
    fair: int
    employer: int
    occupation: str
    headcount: int


@dataclass(frozen=True)
class Intent:
    number: int
    seeker: int  # plan number of the seeker
    vacancy: int
    fair: int
    agreed_on: date
    hired_on: date | None
    # day -> still employed, for each follow-up recorded within the year
    follow_ups: tuple[tuple[int, bool], ...]


@dataclass(frozen=True)
class Plan:
    fairs: list[Fair]
    employers: list[Employer]
    vacancies: list[Vacancy]
    seeker_workers: list[int]  # worker index of seeker n
    seeker_fair: list[int]  # calendar number of seeker n's fair
    intent_of: dict[int, int]  # seeker n -> intent number
    referred: dict[int, date]  # seeker n -> the day the 12345 referral came
    intents: list[Intent]


def apportion(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """``total`` split by ``weights`` (largest remainder, ties to the earlier), each at least
    ``minimum`` when the total allows."""
    floor = minimum if total >= minimum * len(weights) else 0
    rest = total - floor * len(weights)
    whole = sum(weights)
    shares = [rest * w / whole for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[: rest - sum(counts)]:
        counts[i] += 1
    return [floor + c for c in counts]


def fairs_at(scale: float) -> list[Fair]:
    """``scaled(42, scale)`` fairs spread evenly over the calendar (all of it at scale 1)."""
    count = scaled(len(FAIRS), scale)
    return [FAIRS[int((k + 0.5) * len(FAIRS) / count)] for k in range(count)]


def follow_up_days() -> tuple[int, ...]:
    policy = policy_in_force(
        str(ROOT / "config" / "policy"), SERVICE, FIGURES_FROM, JobsPolicy.from_document
    )
    return policy.follow_up_days


@lru_cache(maxsize=4)
def plan(seed: int, scale: float) -> Plan:
    city = City(seed)
    fairs = fairs_at(scale)
    numbers = [f.number for f in fairs]
    weights = [f.weight for f in fairs]

    # Employers: the first fair of each apportioned by size, then 0-2 more fairs.
    rng = city.rng("jobs", "employers")
    firsts = [
        n
        for n, count in zip(numbers, apportion(scaled(EMPLOYERS, scale), weights, 1), strict=True)
        for _ in range(count)
    ]
    rng.shuffle(firsts)
    employers = []
    for e, first in enumerate(firsts):
        more = min(rng.choices((0, 1, 2), (5, 3, 2))[0], len(fairs) - 1)
        others = [n for n in numbers if n != first]
        extra: list[int] = []
        while len(extra) < more:
            pick = rng.choices(others, [FAIRS[n].weight for n in others])[0]
            if pick not in extra:
                extra.append(pick)
        county = FAIRS[first].county if rng.random() < 0.6 else rng.choice(list(COUNTIES))
        industry = rng.choice(INDUSTRIES)
        # Calendar numbers run in date order: the employer registers at the earliest.
        employers.append(Employer(e, county, industry, tuple(sorted((first, *extra)))))

    # Vacancies: 1-3 at each fair an employer comes to; positions apportioned over them.
    rng = city.rng("jobs", "vacancies")
    slots: list[tuple[int, int, str, float]] = []
    for employer in employers:
        own = [o.name for o in OCCUPATIONS if o.industry == employer.industry]
        for fair in employer.fairs:
            campus = FAIRS[fair].kind == "campus_enterprise"
            for _ in range(rng.choices((1, 2, 3), (4, 4, 2))[0]):
                if campus and rng.random() < 0.5:
                    occupation = rng.choice([o.name for o in OCCUPATIONS if o.campus])
                else:
                    occupation = rng.choice(own if rng.random() < 0.7 else GENERAL)
                size = rng.choice((1, 1, 2, 3, 5, 8, 10, 15, 20, 30))
                slots.append((fair, employer.number, occupation, size))
    positions = scaled(POSITIONS, scale)
    if len(slots) > positions:
        raise ValueError(f"{len(slots)} vacancies cannot share {positions} positions")
    heads = apportion(positions, [s[3] for s in slots], 1)
    vacancies = [
        Vacancy(v, fair, employer, occupation, heads[v])
        for v, (fair, employer, occupation, _) in enumerate(slots)
    ]
    by_fair: dict[int, list[Vacancy]] = defaultdict(list)
    for vacancy in vacancies:
        by_fair[vacancy.fair].append(vacancy)

    # Seekers: drawn from the jobs pool, each registered at one fair, apportioned by size.
    count = scaled(SEEKERS, scale)
    # City.draw's stream, by index only: 68,000 Workers are made one at a time, when sent.
    workers = city.rng("draw", "jobs", "seekers").sample(POOLS["jobs"], count)
    seeker_fair = [
        n for n, c in zip(numbers, apportion(count, weights, 1), strict=True) for _ in range(c)
    ]
    city.rng("jobs", "seeker-fairs").shuffle(seeker_fair)
    at_fair: dict[int, list[int]] = defaultdict(list)
    for s, fair in enumerate(seeker_fair):
        at_fair[fair].append(s)

    # Intents: apportioned by each fair's seekers, one per seeker, for a vacancy of the fair
    # (by its places); hires while places are left, then the follow-ups due within the year.
    rng = city.rng("jobs", "intents")
    days = follow_up_days()
    per_fair = apportion(scaled(INTENTS, scale), [len(at_fair[n]) for n in numbers])
    places = {v.number: v.headcount for v in vacancies}
    intents: list[Intent] = []
    intent_of: dict[int, int] = {}
    for fair, wanted in zip(fairs, per_fair, strict=True):
        offered = by_fair[fair.number]
        for s in at_fair[fair.number][: min(wanted, len(at_fair[fair.number]))]:
            vacancy = rng.choices(offered, [v.headcount for v in offered])[0]
            hired_on = None
            if rng.random() < HIRE_SHARE and places[vacancy.number] > 0:
                day = fair.day + timedelta(days=rng.randint(*HIRED_AFTER_DAYS))
                if day <= YEAR_END:
                    hired_on = day
                    places[vacancy.number] -= 1
            follow_ups: list[tuple[int, bool]] = []
            still = True
            for d in days:
                still = still and rng.random() < STILL_EMPLOYED.get(d, 0.9)
                if hired_on is not None and hired_on + timedelta(days=d) <= YEAR_END:
                    follow_ups.append((d, still))
            intent = Intent(
                len(intents), s, vacancy.number, fair.number, fair.day, hired_on, tuple(follow_ups)
            )
            intent_of[s] = intent.number
            intents.append(intent)

    # 12345 referrals: a few seekers phoned the hotline before their fair.
    rng = city.rng("jobs", "referrals")
    later = [s for s in range(count) if FAIRS[seeker_fair[s]].day > date(YEAR, 1, 2)]
    referred = {}
    for s in sorted(rng.sample(later, min(scaled(REFERRALS, scale), len(later)))):
        day = FAIRS[seeker_fair[s]].day - timedelta(days=rng.randint(1, 14))
        referred[s] = max(day, date(YEAR, 1, 2))
    return Plan(fairs, employers, vacancies, workers, seeker_fair, intent_of, referred, intents)


# ---- bodies -------------------------------------------------------------------------------


def credit_code(employer: Employer) -> str:
    """A valid, unique unified social credit code: 91 (an enterprise), the county's region
    code, an organisation code built from the employer's number, the check character."""
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    n, code = employer.number + 31**5, ""
    for _ in range(7):
        n, r = divmod(n, 31)
        code = charset[r] + code
    return make_credit_code("91" + COUNTIES[employer.county][1] + "MJ" + code)


def employer_body(city: City, employer: Employer) -> dict:
    rng = city.rng("jobs", "employer", employer.number)
    trade = rng.choice(_TRADE_NAMES) + rng.choice("兴达盛源丰泰华诚信和")
    form = _FORMS.get(employer.industry, employer.industry[:2])
    return {
        "credit_code": credit_code(employer),
        "name": f"龙岩{COUNTIES[employer.county][0][:2]}{trade}{form}有限公司",
        "county": employer.county,
        "industry": employer.industry,
    }


def _yuan(amount: int) -> str:
    return f"{amount}.00"


def vacancy_body(city: City, vacancy: Vacancy, employer: Employer) -> dict:
    rng = city.rng("jobs", "vacancy", vacancy.number)
    occupation = _BY_NAME[vacancy.occupation]
    low, high = occupation.salary
    salary_min = rng.randrange(low, (low + high) // 2 + 1, 100)
    fair = FAIRS[vacancy.fair]
    return {
        "employer_id": f"{{jobs_employer_{employer.number}}}",
        "title": occupation.name if rng.random() < 0.5 else f"招聘{occupation.name}",
        "occupation": occupation.name,
        "headcount": vacancy.headcount,
        "salary_min": _yuan(salary_min),
        "salary_max": _yuan(rng.randrange(max(salary_min, (low + high) // 2), high + 1, 100)),
        "education": occupation.education,
        "experience_years": rng.choice((0, 0, 1, 2, 3)),
        "county": employer.county,
        "skills": rng.sample(occupation.skills, rng.randint(1, len(occupation.skills))),
        "migrant_friendly": EDUCATION.index(occupation.education) <= 1,
        "valid_until": min(fair.day + timedelta(days=90), YEAR_END).isoformat(),
        "fair_id": f"{{jobs_fair_{fair.number}}}",
    }


def seeker_profile(city: City, plan_: Plan, s: int, worker: Worker) -> dict:
    """What seeker ``s`` (``worker``) offers and wants; one with an intent suits the vacancy
    agreed."""
    rng = city.rng("jobs", "seeker", s)
    fair = FAIRS[plan_.seeker_fair[s]]
    age = YEAR - worker.birth.year
    intent = plan_.intent_of.get(s)
    if intent is not None:
        occupation = _BY_NAME[plan_.vacancies[plan_.intents[intent].vacancy].occupation]
    elif fair.kind == "campus_enterprise" and rng.random() < 0.5:
        occupation = rng.choice([o for o in OCCUPATIONS if o.campus])
    else:
        occupation = rng.choice(OCCUPATIONS)
    level = EDUCATION.index(occupation.education) + rng.choice((0, 0, 0, 1))
    return {
        "skills": rng.sample(occupation.skills, rng.randint(1, len(occupation.skills))),
        "desired_occupation": occupation.name,
        "willing_to_relocate": rng.random() < 0.3,
        "min_salary": _yuan(occupation.salary[0] - rng.choice((0, 200, 500))),
        "education": EDUCATION[min(level, len(EDUCATION) - 1)],
        "experience_years": max(0, min(age - 20, rng.randint(0, 15))),
        "migrant_worker": fair.kind == "migrant_special" or rng.random() < 0.25,
        "graduating_student": fair.kind == "campus_enterprise" and age <= 24,
    }


def phone(city: City, worker_index: int) -> str:
    rng = city.rng("jobs", "phone", worker_index)
    return "1" + rng.choice("35789") + "".join(rng.choices("0123456789", k=9))


# ---- steps --------------------------------------------------------------------------------

# What happens on a day, as (wave, kind, numbers): the bodies are made when the step is sent.
_Event = tuple[int, str, tuple[int, ...]]


def _agenda(plan_: Plan) -> dict[date, list[_Event]]:
    agenda: dict[date, list[_Event]] = defaultdict(list)
    for fair in plan_.fairs:
        announced = max(fair.day - timedelta(days=ANNOUNCED_DAYS_BEFORE), date(YEAR, 1, 2))
        agenda[announced].append((0, "fair", (fair.number,)))
    for employer in plan_.employers:
        agenda[FAIRS[employer.fairs[0]].day].append((0, "employer", (employer.number,)))
        for fair in employer.fairs:
            agenda[FAIRS[fair].day].append((1, "attend", (employer.number, fair)))
    for vacancy in plan_.vacancies:
        agenda[FAIRS[vacancy.fair].day].append((1, "vacancy", (vacancy.number,)))
    for s, fair in enumerate(plan_.seeker_fair):
        day = FAIRS[fair].day
        if s in plan_.referred:
            agenda[plan_.referred[s]].append((0, "referral", (s,)))
            agenda[day].append((0, "known_seeker", (s,)))
            agenda[day].append((1, "complete", (s,)))
        else:
            agenda[day].append((0, "seeker", (s,)))
        agenda[day].append((1, "seeker_at_fair", (s, fair)))
    for intent in plan_.intents:
        agenda[intent.agreed_on].append((2, "intent", (intent.number,)))
        if intent.hired_on is not None:
            agenda[intent.hired_on].append((0, "hire", (intent.number,)))
            for day, _ in intent.follow_ups:
                due = intent.hired_on + timedelta(days=day)
                agenda[due].append((0, "follow_up", (intent.number, day)))
    return agenda


def _desk(on: date, wave: int, key: str, method: str, path: str, body: dict, **options) -> Step:
    return Step(
        on=on, key=key, actor=DESK, method=method, path=path, body=body, wave=wave, **options
    )


def _seeker_body(city: City, plan_: Plan, s: int) -> dict:
    worker = city.worker(plan_.seeker_workers[s])
    return {
        "id_number": worker.id_number,
        "name": worker.name,
        "phone": phone(city, worker.index),
        "county": worker.county,
        **seeker_profile(city, plan_, s, worker),
    }


def _step(city: City, plan_: Plan, on: date, event: _Event) -> Step:
    wave, kind, numbers = event
    n = numbers[0]
    if kind == "fair":
        fair = FAIRS[n]
        body = {"kind": fair.kind, "name": fair.name, "date": fair.day.isoformat()}
        body["county"] = fair.county
        path = "/api/v1/jobs/fairs"
        return _desk(
            on, wave, f"jobs:fair:{n}", "POST", path, body, save={f"jobs_fair_{n}": "fair_id"}
        )
    if kind == "employer":
        body = employer_body(city, plan_.employers[n])
        save = {f"jobs_employer_{n}": "employer_id"}
        return _desk(
            on, wave, f"jobs:employer:{n}", "POST", "/api/v1/jobs/employers", body, save=save
        )
    if kind == "attend":
        fair = numbers[1]
        path = f"/api/v1/jobs/fairs/{{jobs_fair_{fair}}}/registrations"
        body = {"employer_id": f"{{jobs_employer_{n}}}"}
        return _desk(on, wave, f"jobs:employer:{n}:fair:{fair}", "POST", path, body)
    if kind == "vacancy":
        vacancy = plan_.vacancies[n]
        body = vacancy_body(city, vacancy, plan_.employers[vacancy.employer])
        save = {f"jobs_vacancy_{n}": "vacancy_id"}
        return _desk(
            on, wave, f"jobs:vacancy:{n}", "POST", "/api/v1/jobs/vacancies", body, save=save
        )
    if kind == "seeker":
        body = _seeker_body(city, plan_, n)
        save = {f"jobs_seeker_{n}": "seeker_id"}
        return _desk(on, wave, f"jobs:seeker:{n}", "POST", "/api/v1/jobs/seekers", body, save=save)
    if kind == "known_seeker":
        # Referred by 12345 already: the desk enters the person, is told the seeker exists
        # (409 naming it, API.md) and completes that seeker's profile next.
        body = _seeker_body(city, plan_, n)
        save = {f"jobs_seeker_{n}": "error.seeker_id"}
        path = "/api/v1/jobs/seekers"
        return _desk(on, wave, f"jobs:seeker:{n}", "POST", path, body, expect=(409,), save=save)
    if kind == "referral":
        worker = city.worker(plan_.seeker_workers[n])
        citizen = {
            "id_number": worker.id_number,
            "name": worker.name,
            "phone": phone(city, worker.index),
        }
        body = {
            "case_no": f"12345-{YEAR}-J{n:06d}",
            "kind": "job_seeking",
            "county": worker.county,
            "citizen": citizen,
            "summary": "市民来电：失业在家，希望工会职工服务中心推荐工作岗位。",
        }
        return Step(
            on=on,
            key=f"jobs:referral:{n}",
            actor=PLATFORM,
            method="POST",
            path="/api/v1/city/referrals",
            body=body,
            wave=wave,
        )
    if kind == "complete":
        worker = city.worker(plan_.seeker_workers[n])
        body = {**seeker_profile(city, plan_, n, worker), "phone": phone(city, worker.index)}
        path = f"/api/v1/jobs/seekers/{{jobs_seeker_{n}}}"
        return _desk(on, wave, f"jobs:seeker:{n}:complete", "PATCH", path, body)
    if kind == "seeker_at_fair":
        fair = numbers[1]
        path = f"/api/v1/jobs/fairs/{{jobs_fair_{fair}}}/registrations"
        body = {"seeker_id": f"{{jobs_seeker_{n}}}"}
        return _desk(on, wave, f"jobs:seeker:{n}:fair:{fair}", "POST", path, body)
    if kind == "intent":
        intent = plan_.intents[n]
        body = {
            "seeker_id": f"{{jobs_seeker_{intent.seeker}}}",
            "vacancy_id": f"{{jobs_vacancy_{intent.vacancy}}}",
            "fair_id": f"{{jobs_fair_{intent.fair}}}",
            "agreed_on": intent.agreed_on.isoformat(),
        }
        save = {f"jobs_intent_{n}": "intent_id"}
        return _desk(on, wave, f"jobs:intent:{n}", "POST", "/api/v1/jobs/intents", body, save=save)
    if kind == "hire":
        hired_on = plan_.intents[n].hired_on
        assert hired_on is not None
        path = f"/api/v1/jobs/intents/{{jobs_intent_{n}}}/hire"
        body = {"hired_on": hired_on.isoformat()}
        return _desk(on, wave, f"jobs:intent:{n}:hire", "POST", path, body)
    if kind == "follow_up":
        day = numbers[1]
        still = dict(plan_.intents[n].follow_ups)[day]
        note = "电话回访：仍在岗" if still else "电话回访：已离职"
        path = f"/api/v1/jobs/intents/{{jobs_intent_{n}}}/follow-ups"
        body = {"day": day, "still_employed": still, "note": note}
        return _desk(on, wave, f"jobs:intent:{n}:follow-up:{day}", "POST", path, body)
    raise ValueError(f"no step for {kind}")


def steps(city: City, scale: float) -> Iterator[Step]:
    plan_ = plan(city.seed, scale)
    agenda = _agenda(plan_)
    for on in sorted(agenda):
        for event in sorted(agenda[on], key=lambda e: e[0]):
            yield _step(city, plan_, on, event)


# ---- figures and charts -----------------------------------------------------------------------


def expected(plan_: Plan) -> dict[str, int]:
    """The figures the service must count for the source's window, from the draw."""
    in_window = [f for f in plan_.fairs if FIGURES_FROM <= f.day <= FIGURES_TO]
    hires = [
        i
        for i in plan_.intents
        if i.hired_on is not None and FIGURES_FROM <= i.hired_on <= FIGURES_TO
    ]
    last = max(follow_up_days())
    counts = {
        "jobs.fairs": len(in_window),
        **{
            f"jobs.fairs.{kind}": sum(f.kind == kind for f in in_window)
            for kind in FAIR_KIND_LABELS
        },
        "jobs.employers": len(plan_.employers),
        "jobs.positions": sum(v.headcount for v in plan_.vacancies),
        "jobs.seekers_served": len(plan_.seeker_workers),
        "jobs.intents": sum(FIGURES_FROM <= i.agreed_on <= FIGURES_TO for i in plan_.intents),
        "jobs.hires": len(hires),
        "jobs.retained_90_days": sum(dict(i.follow_ups).get(last, False) for i in hires),
    }
    return counts


class JobsScenario:
    name = "jobs"
    priority = 40

    def steps(self, city: City, scale: float) -> Iterator[Step]:
        return steps(city, scale)

    def figures(self, scale: float, city: City | None = None) -> list[Figure]:
        plan_ = plan((city or City()).seed, scale)
        want = expected(plan_)
        kinds = {f.kind for f in FAIRS}
        by_kind = {k: sum(f.kind == k for f in FAIRS) for k in kinds}
        window = (
            f"{FIGURES_FROM.month}月{FIGURES_FROM.day}日至{FIGURES_TO.month}月{FIGURES_TO.day}日"
        )
        figures = [
            Figure(
                "jobs.fairs",
                f"举办招聘会（{window}）",
                want["jobs.fairs"],
                SOURCE_FAIRS,
                f"来源称“40多场”：全年排定{len(FAIRS)}场（月度{by_kind['monthly']}场、"
                f"农民工专场{by_kind['migrant_special']}场、校企对接{by_kind['campus_enterprise']}场），"
                "按比例抽样时在日程中均匀选取",
                "场",
            ),
        ]
        for kind, label in FAIR_KIND_LABELS.items():
            figures.append(
                Figure(
                    f"jobs.fairs.{kind}",
                    f"其中{label}",
                    want[f"jobs.fairs.{kind}"],
                    None,
                    f"日程中的{label}",
                    "场",
                )
            )
        figures += [
            Figure(
                "jobs.employers",
                "参加企业",
                want["jobs.employers"],
                EMPLOYERS,
                "每家企业在首次参会当天登记，参加1至3场招聘会并在会上发布岗位",
                "家",
            ),
            Figure(
                "jobs.positions",
                "提供就业岗位",
                want["jobs.positions"],
                POSITIONS,
                "各招聘会发布的岗位招聘人数之和，按岗位规模分配至恰好等于该数",
                "个",
            ),
            Figure(
                "jobs.seekers_served",
                "服务求职者",
                want["jobs.seekers_served"],
                SEEKERS,
                f"每位求职者在一场招聘会登记（其中{len(plan_.referred)}人先经12345平台转介，"
                "由服务中心补全资料）",
                "人",
            ),
            Figure(
                "jobs.intents",
                "达成就业意向",
                want["jobs.intents"],
                SOURCE_INTENTS,
                f"来源称“1.8万余人”：取{INTENTS:,}人，每人在所参加的招聘会与一个岗位达成意向",
                "人",
            ),
            Figure(
                "jobs.hires",
                f"实现就业（{window}）",
                want["jobs.hires"],
                None,
                f"约{HIRE_SHARE:.0%}的意向在{HIRED_AFTER_DAYS[0]}至{HIRED_AFTER_DAYS[1]}天后录用"
                "（岗位尚有空缺时），按录用日期计",
                "人",
            ),
            Figure(
                "jobs.retained_90_days",
                "录用满90天仍在岗",
                want["jobs.retained_90_days"],
                None,
                "上述录用中，90天回访在年内到期并记录为仍在岗的人数",
                "人",
            ),
        ]
        return figures

    def actual(self, api: Api) -> dict[str, int | str]:
        stats = api.get(
            f"/api/v1/jobs/stats?from={FIGURES_FROM.isoformat()}&to={FIGURES_TO.isoformat()}",
            READER,
        )
        found: dict[str, int | str] = {
            "jobs.fairs": sum(stats["fairs"].values()),
            "jobs.employers": stats["employers"],
            "jobs.positions": stats["positions"],
            "jobs.seekers_served": stats["seekers_served"],
            "jobs.intents": stats["intents"],
            "jobs.hires": stats["hires"],
            "jobs.retained_90_days": stats["retained_90_days"],
        }
        for kind in FAIR_KIND_LABELS:
            found[f"jobs.fairs.{kind}"] = stats["fairs"].get(kind, 0)
        return found

    def charts(self, api: Api) -> list[Chart]:
        months = [f"{m}月" for m in range(1, 13)]
        fairs: dict[str, list[float]] = {label: [] for label in FAIR_KIND_LABELS.values()}
        hires: list[float] = []
        for month in range(1, 13):
            last = calendar.monthrange(YEAR, month)[1]
            stats = api.get(
                f"/api/v1/jobs/stats?from={YEAR}-{month:02d}-01&to={YEAR}-{month:02d}-{last:02d}",
                READER,
            )
            for kind, label in FAIR_KIND_LABELS.items():
                fairs[label].append(stats["fairs"].get(kind, 0))
            hires.append(stats["hires"])
        return [
            Chart(f"{YEAR}年各月招聘会场次", months, fairs, "bar"),
            Chart(f"{YEAR}年各月实现就业人数", months, {"实现就业": hires}, "line"),
        ]


SCENARIO = JobsScenario()
