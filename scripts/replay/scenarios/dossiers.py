"""The year's hardship households (困难职工档案): intake and confirmation, the Spring Festival
condolence batch (两节慰问) and the assistance ledger (帮扶).

The replay starts from an empty archive, so every household of the year is taken in here:

- January: the households the condolence batch reaches ("两节伊始"), their tiers drawn so
  that the batch, paid by the policy's table by tier, comes as close to the scaled total as
  the table allows; the rest (below the smallest tier's amount) is one staff-set
  supplementary condolence to a national-tier household;
- 9 February 2018 (before the Spring Festival of 16 February): the city's batch, which pays
  every open dossier in the city, so exactly the January households;
- February to November: the other households (those with a child applying for student aid
  first, by mid June), and the assistance grants to the assisted households, staff-set
  amounts from the special assistance fund (专项帮扶资金) reaching the scaled total by 30
  November ("截至11月30日").

Every household's facts are drawn so that the tier rules of the policy in force on its intake
date propose the tier it was drawn for (checked here by a small reading of the policy file,
never by the service's code); staff confirm the proposed tier. The rules ask for no home visit
before a grant, so the year holds none. Heads come from the city's ``dossiers`` pool; spouses
and children are dependants with ID numbers of their own (sequence 500-749 within a birth
date, which no worker of the city carries). The student-aid scenario reads these households
(``plan``) for the children of hardship workers who apply.
"""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

from scripts.replay.city import COUNTIES, City, Worker
from scripts.replay.model import Api, Chart, Figure, Staff, Step, scaled
from shared.identity import make_id_number

YEAR = 2018
POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policy"

# The source document's figures (seeds/000_564e9fe90876980b.txt, 2018).
SOURCE_ASSISTED_HOUSEHOLDS = 629
SOURCE_ASSISTANCE_YUAN = 943_000
SOURCE_CONDOLENCE_HOUSEHOLDS = 174
SOURCE_CONDOLENCE_YUAN = 519_400
# Households taken in during the year at scale 1 (the document states no archive size): the
# assisted ones, the student-aid parents and the condolence households fit inside it.
YEAR_HOUSEHOLDS = 760

ASSISTANCE_FUND = "bangfu"  # 专项帮扶资金
CONDOLENCE_FUND = "weiwen"  # 两节慰问
FESTIVAL = f"{YEAR}-spring"
FUNDS_DAY = date(YEAR, 1, 2)
CONDOLENCE_DAY = date(YEAR, 2, 9)  # the Friday a week before the Spring Festival (16 Feb)
LEDGER_CLOSES = date(YEAR, 11, 30)  # "截至11月30日"
STUDENT_INTAKE_BY = date(YEAR, 6, 15)  # parents of student-aid applicants are on file by then

CITY = Staff("city_admin", "LY", "replay-city-admin")
FINANCE = Staff("finance", "LY", "replay-finance-1")

# Staff-set assistance amounts: drawn from these (yuan), then moved by hundreds within the
# bounds until the grants reach the scaled total.
GRANT_AMOUNTS = (500, 800, 1000, 1200, 1500, 1500, 2000, 2000, 2500, 3000)
GRANT_MIN, GRANT_MAX = 200, 5000
GRANT_TYPES = ("living", "living", "living", "medical", "medical", "emergency", "education")

TIER_NAMES = {"national": "全总档", "local": "地方工会档", "grassroots": "基层工会档"}
# The fraction of the 低保 line the per-capita income is drawn in, by the rule the household
# is drawn to meet, and the causes recorded with it.
RULE_DRAWS: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "national_below_line_long_term": (0.40, 0.95, ("low_income", "unemployment")),
    "national_hardship_cause": (
        0.55,
        1.45,
        ("illness", "disability", "single_parent", "child_education"),
    ),
    "national_sudden_hardship": (1.60, 2.90, ("accident", "disaster", "major_illness")),
    "local_relative_hardship": (1.05, 1.95, ("low_income", "unemployment")),
    "grassroots_with_cause": (2.05, 2.95, ("low_income", "unemployment", "illness")),
}
SCHOOLS = {
    "undergraduate": ("龙岩学院", "福州大学", "福建师范大学", "集美大学", "华侨大学", "厦门大学"),
    "junior_college": ("闽西职业技术学院", "福建信息职业技术学院", "漳州职业技术学院"),
    "vocational": ("龙岩华侨职业中专学校", "龙岩技师学院", "上杭职业中专学校", "长汀职业中专学校"),
    "senior_high": (
        "龙岩一中",
        "长汀一中",
        "上杭一中",
        "永定一中",
        "连城一中",
        "漳平一中",
        "武平一中",
    ),
}
# Birth years of a student at each level in the autumn of the campaign year.
BIRTH_YEARS = {
    "undergraduate": (1996, 2000),
    "junior_college": (1997, 2000),
    "vocational": (1999, 2002),
    "senior_high": (2000, 2003),
}
_GIVEN = "子涵浩然欣怡梓轩宇航思源佳琪俊杰雨萱晓东丽娟文博雅婷"
_STREETS = ("龙腾路", "九一路", "西安路", "登高路", "曹溪路", "中山路", "解放路", "北环路")


# ---- the policy, read from its files (never through the services' code) ---------------------


def policy_in_force(service: str, day: date) -> dict:
    """The policy document of ``service`` in force on ``day``: the latest ``effective_from``
    not after it."""
    documents = []
    for path in sorted((POLICY_DIR / service).glob("*.toml")):
        with path.open("rb") as handle:
            documents.append(tomllib.load(handle))
    in_force = [d for d in documents if d["effective_from"] <= day]
    if not in_force:
        raise LookupError(f"no {service} policy in force on {day}")
    return max(in_force, key=lambda d: d["effective_from"])


def fen(yuan: Any) -> int:
    return int(Decimal(str(yuan)) * 100)


def money(fen_: int) -> str:
    return f"{Decimal(fen_) / 100:.2f}"


def tier_of(
    policy: dict,
    county: str,
    year: int,
    incomes_fen: list[int],
    rigid_fen: int,
    months_below_line: int,
    causes: list[str],
) -> tuple[str | None, str | None]:
    """(tier, rule) the policy's rules give a household without not-eligible assets: the
    first rule met, compared exactly (Σ − rigid against multiple × line × n)."""
    line = fen(policy["reference_line_yuan"][str(year)][county])
    net, size = sum(incomes_fen) - rigid_fen, len(incomes_fen)
    for rule in policy["tier_rules"]:
        multiple = Fraction(str(rule["multiple"]))
        left, right = net * multiple.denominator, multiple.numerator * line * size
        met = left < right if rule.get("below") else left <= right
        if months_below_line < rule.get("min_months_below_line", 0):
            met = False
        if rule.get("causes") and not set(causes) & set(rule["causes"]):
            met = False
        if rule.get("any_cause") and not causes:
            met = False
        if met:
            return rule["tier"], rule["code"]
    return None, None


# ---- the households -------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    birth: date


@dataclass(frozen=True)
class Student:
    person: Person
    level: str  # student aid's education_level
    school: str


@dataclass(frozen=True)
class Household:
    number: int
    head: Worker
    tier: str
    rule: str
    intake_on: date
    body: dict  # the intake request (API.md "Dossiers")
    student: Student | None  # a child in school in the autumn, who applies for student aid

    @property
    def save_as(self) -> str:
        return f"dossier_h{self.number:05d}"


@dataclass(frozen=True)
class Grant:
    household: int
    number: int
    on: date
    type: str
    amount: int  # yuan


@dataclass(frozen=True)
class Plan:
    households: tuple[Household, ...]
    condolence: int  # households 0 .. condolence-1 are the batch's
    condolence_mix: dict[str, int]
    batch_yuan: int
    supplement_yuan: int
    supplement_household: int | None
    grants: tuple[Grant, ...]

    @property
    def assisted(self) -> int:
        return len({g.household for g in self.grants})

    @property
    def assistance_yuan(self) -> int:
        return sum(g.amount for g in self.grants)

    @property
    def condolence_yuan(self) -> int:
        return self.batch_yuan + self.supplement_yuan


class Dependants:
    """ID numbers of spouses and children: sequence 500-749 within region and birth date (no
    worker of the city carries one), allocated in draw order so none repeats."""

    FIRST, LAST = 500, 749

    def __init__(self) -> None:
        self.taken: set[tuple[str, date, int]] = set()

    def id_number(self, county: str, birth: date, female: bool) -> str:
        region = COUNTIES[county][1]
        seq = self.FIRST + (0 if female else 1)
        while (region, birth, seq) in self.taken:
            seq += 2
        if seq > self.LAST:
            raise ValueError(f"no dependant ID left for {region} {birth}")
        self.taken.add((region, birth, seq))
        return make_id_number(region, birth, seq)


def _day_between(rng, first: date, last: date) -> date:
    """A weekday between the two days, both included."""
    span = (last - first).days
    for _ in range(20):
        day = first + timedelta(days=rng.randint(0, span))
        if day.weekday() < 5:
            return day
    return first


def condolence_mix(households: int, total_yuan: int, amounts: dict[str, int]) -> dict[str, int]:
    """Tiers for the batch's households so that the table's total is as close to
    ``total_yuan`` as it goes without passing it: as many national as fit, then local, then
    grassroots (the table must order national > local > grassroots, one step apart)."""
    top, mid, low = amounts["national"], amounts["local"], amounts["grassroots"]
    if not top - mid == mid - low > 0:
        raise ValueError("the condolence table is not evenly stepped; draw the mix otherwise")
    step = mid - low
    reach = (max(total_yuan, low * households) - low * households) // step
    reach = min(reach, 2 * households)  # 2 steps per national household at most
    national = reach // 2
    local = reach - 2 * national
    return {"national": national, "local": local, "grassroots": households - national - local}


def _person(rng, dependants: Dependants, county: str, surname: str, birth: date, female: bool):
    name = surname + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
    return Person(name, dependants.id_number(county, birth, female), birth)


def _household(
    city: City,
    policy: dict,
    dependants: Dependants,
    number: int,
    head: Worker,
    tier: str,
    intake_on: date,
    level: str | None,
) -> Household:
    rng = city.rng("dossiers", "household", number)
    rules = [r["code"] for r in policy["tier_rules"] if r["tier"] == tier]
    line = fen(policy["reference_line_yuan"][str(intake_on.year)][head.county])
    surname = head.name[0]
    spouse = None
    if rng.random() < 0.7:
        birth = head.birth + timedelta(days=rng.randint(-1500, 1500))
        spouse = _person(
            rng, dependants, head.county, rng.choice("陈林黄张李王吴刘"), birth, not head.female
        )
    student = None
    if level is not None:
        first_year, last_year = BIRTH_YEARS[level]
        birth = _day_between(rng, date(first_year, 9, 1), date(last_year, 8, 31))
        child = _person(rng, dependants, head.county, surname, birth, rng.random() < 0.5)
        student = Student(child, level, rng.choice(SCHOOLS[level]))
    for _attempt in range(100):
        rule = rng.choice(rules)
        low, high, cause_pool = RULE_DRAWS[rule]
        causes = sorted(set(rng.sample(cause_pool, rng.choice((1, 2)))))
        if spouse is None and rule == "national_hardship_cause" and rng.random() < 0.5:
            causes = sorted(set(causes) | {"single_parent"})
        if student and rule == "national_hardship_cause":
            causes = sorted(set(causes) | {"child_education"})
        size = 1 + (spouse is not None) + (student is not None)
        net = int(rng.uniform(low, high) * line * size) // 1000 * 1000  # whole 10 yuan
        rigid = rng.choice((0, 0, 10_000, 20_000, 30_000)) if "low_income" not in causes else 0
        months = (
            rng.randint(6, 36) if rule == "national_below_line_long_term" else rng.randint(0, 5)
        )
        gross = net + rigid
        if spouse is not None:
            head_income = gross * rng.choice((5, 6, 7, 10)) // 10 // 1000 * 1000
            incomes = [head_income, gross - head_income]
        else:
            incomes = [gross]
        if student is not None:
            incomes.append(0)
        if tier_of(policy, head.county, intake_on.year, incomes, rigid, months, causes)[0] == tier:
            break
    else:  # pragma: no cover - the draws above always land within a few attempts
        raise RuntimeError(f"household {number}: no {tier} facts drawn")
    drawn_rule = tier_of(policy, head.county, intake_on.year, incomes, rigid, months, causes)[1]
    members = [
        {
            "id_number": head.id_number,
            "name": head.name,
            "relation": "self",
            "monthly_income": money(incomes[0]),
            "health": "患病" if {"illness", "major_illness"} & set(causes) else "健康",
            "school": None,
        }
    ]
    if spouse is not None:
        members.append(
            {
                "id_number": spouse.id_number,
                "name": spouse.name,
                "relation": "spouse",
                "monthly_income": money(incomes[1]),
                "health": "残疾" if "disability" in causes else "健康",
                "school": None,
            }
        )
    if student is not None:
        members.append(
            {
                "id_number": student.person.id_number,
                "name": student.person.name,
                "relation": "child",
                "monthly_income": "0.00",
                "health": "健康",
                "school": student.school,
            }
        )
    per_capita = Fraction(sum(incomes) - rigid, len(incomes))
    if per_capita < line:
        category = "低保户"
    elif {"accident", "disaster"} & set(causes):
        category = "意外致困户"
    else:
        category = "低保边缘户"
    unemployed = "unemployment" in causes
    body = {
        "county": head.county,
        "org": head.unit,
        "category": category,
        "head_id_number": head.id_number,
        "employment_status": "unemployed" if unemployed else "employed",
        "employer": None if unemployed else f"{COUNTIES[head.county][0]}{head.unit[-4:]}号基层单位",
        "members": members,
        "monthly_rigid_expenditure": money(rigid),
        "months_below_line": months,
        "causes": causes,
        "assets": {
            "homes": rng.choice((0, 1, 1, 1)),
            "owns_business": False,
            "private_school_or_abroad": False,
            "non_work_vehicle": False,
        },
        "address": f"{COUNTIES[head.county][0]}{rng.choice(_STREETS)}{rng.randint(1, 300)}号",
        "phone": f"13{rng.randint(5, 9)}{rng.randint(0, 99_999_999):08d}",
        "intake_date": intake_on.isoformat(),
    }
    return Household(number, head, tier, drawn_rule, intake_on, body, student)


def _spread_amounts(rng, count: int, total: int) -> list[int]:
    """``count`` staff-set amounts within the bounds summing to ``total`` yuan: drawn, then
    moved by hundreds round the list, the last few yuan on the first that takes them."""
    if not GRANT_MIN * count <= total <= GRANT_MAX * count:
        raise ValueError(f"{total} yuan cannot be {count} grants of {GRANT_MIN}-{GRANT_MAX}")
    amounts = [rng.choice(GRANT_AMOUNTS) for _ in range(count)]
    diff = total - sum(amounts)
    i = 0
    while abs(diff) >= 100:
        step = 100 if diff > 0 else -100
        if GRANT_MIN <= amounts[i % count] + step <= GRANT_MAX:
            amounts[i % count] += step
            diff -= step
        i += 1
    for j in range(count):
        if diff and GRANT_MIN <= amounts[j] + diff <= GRANT_MAX:
            amounts[j] += diff
            diff = 0
    return amounts


@lru_cache(maxsize=8)
def plan(city: City, scale: float) -> Plan:
    """The year's households and grants at ``scale``: the same on every run of a seed (and
    for 1 and 1.0 alike: the draws are named by the float)."""
    scale = float(scale)
    from scripts.replay.scenarios.student_aid import award_plan  # it reads these households

    aid = award_plan(scale, city.seed)
    condolence = scaled(SOURCE_CONDOLENCE_HOUSEHOLDS, scale)
    assisted = scaled(SOURCE_ASSISTED_HOUSEHOLDS, scale)
    eligible_students = aid.dossier_awards
    refused_students = aid.not_hardship
    count = max(
        scaled(YEAR_HOUSEHOLDS, scale),
        condolence + eligible_students + refused_students,
        assisted,
    )
    rng = city.rng("dossiers", "plan", scale)
    policy_jan = policy_in_force("dossiers", date(YEAR, 1, 1))
    mix = condolence_mix(
        condolence, round(SOURCE_CONDOLENCE_YUAN * scale), policy_jan["condolence_yuan"]
    )
    tiers: list[str | None] = [t for t, n in mix.items() for _ in range(n)]
    rng.shuffle(tiers)
    tiers += [None] * (count - condolence)
    # Which households have a child applying: eligible ones need a national or local parent,
    # the refused ones a grassroots parent; an undrawn tier takes the one its role needs.
    roles: list[str | None] = [None] * count
    need = {"eligible": eligible_students, "refused": refused_students}
    for i in rng.sample(range(count), count):
        if tiers[i] in ("national", "local") and need["eligible"]:
            roles[i], need["eligible"] = "eligible", need["eligible"] - 1
        elif tiers[i] == "grassroots" and need["refused"]:
            roles[i], need["refused"] = "refused", need["refused"] - 1
    for i in range(condolence, count):
        if roles[i] is None and need["eligible"]:
            roles[i], need["eligible"] = "eligible", need["eligible"] - 1
            tiers[i] = rng.choice(("national", "national", "local"))
        elif roles[i] is None and need["refused"]:
            roles[i], need["refused"] = "refused", need["refused"] - 1
            tiers[i] = "grassroots"
        elif tiers[i] is None:
            tiers[i] = rng.choices(("national", "local", "grassroots"), (6, 3, 1))[0]
    if any(need.values()):
        raise ValueError(f"scale {scale}: {need} student households left undrawn")
    # Student levels: the eligible ones in household order take the awards' levels in order.
    levels = iter(aid.levels[: aid.dossier_awards])
    heads = city.draw("dossiers", count, "heads")
    dependants = Dependants()
    households = []
    for i in range(count):
        if i < condolence:
            intake_on = _day_between(rng, date(YEAR, 1, 3), date(YEAR, 1, 31))
        elif roles[i]:
            intake_on = _day_between(rng, date(YEAR, 2, 20), STUDENT_INTAKE_BY)
        else:
            intake_on = _day_between(rng, date(YEAR, 2, 20), date(YEAR, 11, 15))
        if roles[i] == "eligible":
            level = next(levels)
        elif roles[i] == "refused":
            level = rng.choice(tuple(SCHOOLS))
        else:
            level = None
        policy = policy_in_force("dossiers", intake_on)
        households.append(
            _household(city, policy, dependants, i, heads[i], tiers[i], intake_on, level)
        )
    # The assisted households and their grants (one each, a second for some), dated after
    # intake and by 30 November.
    chosen = sorted(rng.sample(range(count), assisted))
    slots = []
    for i in chosen:
        slots.append(i)
        if rng.random() < 0.15:
            slots.append(i)
    amounts = _spread_amounts(rng, len(slots), round(SOURCE_ASSISTANCE_YUAN * scale))
    grants, seen = [], Counter()
    for i, amount in zip(slots, amounts, strict=True):
        seen[i] += 1
        first = max(households[i].intake_on + timedelta(days=3), FUNDS_DAY + timedelta(days=1))
        on = _day_between(rng, first, LEDGER_CLOSES)
        grants.append(Grant(i, seen[i], on, rng.choice(GRANT_TYPES), amount))
    batch = sum(mix[t] * policy_jan["condolence_yuan"][t] for t in mix)
    supplement = max(0, round(SOURCE_CONDOLENCE_YUAN * scale) - batch)
    receiver = next((i for i in range(condolence) if tiers[i] == "national"), 0)
    return Plan(
        households=tuple(households),
        condolence=condolence,
        condolence_mix=mix,
        batch_yuan=batch,
        supplement_yuan=supplement,
        supplement_household=receiver if supplement and condolence else None,
        grants=tuple(grants),
    )


def _budget(yuan: int, margin: float) -> int:
    """A fund's budget: the year's need with a margin, in whole ten thousands."""
    return math.ceil(yuan * margin / 10_000) * 10_000


# ---- the scenario ---------------------------------------------------------------------------


class Dossiers:
    name = "dossiers"
    priority = 10

    def steps(self, city: City, scale: float):
        p = plan(city, scale)
        out: list[Step] = []
        for fund, yuan, margin in (
            (ASSISTANCE_FUND, p.assistance_yuan, 1.05),
            (CONDOLENCE_FUND, p.condolence_yuan, 1.0),
        ):
            out.append(
                Step(
                    on=FUNDS_DAY,
                    key=f"dossiers:fund:{fund}:{YEAR}",
                    actor=FINANCE,
                    method="POST",
                    path="/api/v1/assistance-funds",
                    body={"fund": fund, "year": YEAR, "budget": money(_budget(yuan, margin) * 100)},
                )
            )
        for h in p.households:
            out.append(
                Step(
                    on=h.intake_on,
                    key=f"dossiers:intake:{h.number:05d}",
                    actor=Staff("grassroots_staff", h.head.unit),
                    method="POST",
                    path="/api/v1/dossiers",
                    body=h.body,
                    expect=(201,),
                    save={h.save_as: "dossier_id"},
                )
            )
            out.append(
                Step(
                    on=h.intake_on,
                    wave=1,
                    key=f"dossiers:confirm:{h.number:05d}",
                    actor=Staff("county_staff", h.head.county),
                    method="POST",
                    path=f"/api/v1/dossiers/{{{h.save_as}}}/confirm",
                    body={"tier": h.tier},
                    expect=(200,),
                )
            )
        out.append(
            Step(
                on=CONDOLENCE_DAY,
                key=f"dossiers:condolence:{FESTIVAL}",
                actor=FINANCE,
                method="POST",
                path="/api/v1/condolence-batches",
                body={"festival": FESTIVAL, "fund": CONDOLENCE_FUND},
                expect=(200,),
            )
        )
        if p.supplement_household is not None:
            h = p.households[p.supplement_household]
            out.append(
                Step(
                    on=CONDOLENCE_DAY,
                    wave=1,
                    key=f"dossiers:condolence-supplement:{FESTIVAL}",
                    actor=Staff("county_staff", h.head.county),
                    method="POST",
                    path="/api/v1/assistance",
                    body={
                        "dossier_id": f"{{{h.save_as}}}",
                        "type": "condolence",
                        "amount": money(p.supplement_yuan * 100),
                        "fund": CONDOLENCE_FUND,
                        "granted_on": CONDOLENCE_DAY.isoformat(),
                    },
                    expect=(201,),
                )
            )
        for g in p.grants:
            h = p.households[g.household]
            out.append(
                Step(
                    on=g.on,
                    wave=2,
                    key=f"dossiers:grant:{g.household:05d}:{g.number}",
                    actor=Staff("county_staff", h.head.county),
                    method="POST",
                    path="/api/v1/assistance",
                    body={
                        "dossier_id": f"{{{h.save_as}}}",
                        "type": g.type,
                        "amount": money(g.amount * 100),
                        "fund": ASSISTANCE_FUND,
                        "granted_on": g.on.isoformat(),
                    },
                    expect=(201,),
                )
            )
        out.sort(key=lambda s: (s.on, s.wave))  # stable: the order above within a (day, wave)
        return out

    def figures(self, scale: float) -> list[Figure]:
        p = plan(City(), scale)
        tiers = Counter(h.tier for h in p.households)
        table = policy_in_force("dossiers", date(YEAR, 1, 1))["condolence_yuan"]
        mix = "、".join(
            f"{TIER_NAMES[t]} {p.condolence_mix[t]} 户×{table[t]} 元" for t in p.condolence_mix
        )
        return [
            Figure(
                "dossiers.open",
                "在档困难职工户数（年内建档）",
                len(p.households),
                None,
                "每户按档次规则抽取收入与致困原因，政策建议档次由工作人员确认",
                "户",
            ),
            *(
                Figure(
                    f"dossiers.{tier}",
                    f"其中{TIER_NAMES[tier]}",
                    tiers[tier],
                    None,
                    "按抽取的档次建档",
                    "户",
                )
                for tier in TIER_NAMES
            ),
            Figure(
                "dossiers.assisted_households",
                "依档帮扶困难职工户数",
                p.assisted,
                SOURCE_ASSISTED_HOUSEHOLDS,
                "按比例抽取在档户，截至11月30日",
                "户",
            ),
            Figure(
                "dossiers.assistance_total",
                "发放帮扶资金",
                money(p.assistance_yuan * 100),
                money(SOURCE_ASSISTANCE_YUAN * 100),
                f"{len(p.grants)} 笔工作人员核定金额（每笔 {GRANT_MIN}–{GRANT_MAX} 元），"
                "合计为按比例的总额",
                "元",
            ),
            Figure(
                "dossiers.assistance_fund_spent",
                "专项帮扶资金年度支出",
                money(p.assistance_yuan * 100),
                None,
                "帮扶资金全部从专项帮扶资金支出",
                "元",
            ),
            Figure(
                "dossiers.condolence_households",
                "两节慰问在档困难职工户数",
                p.condolence,
                SOURCE_CONDOLENCE_HOUSEHOLDS,
                "1月建档的在档户，春节前全市慰问批次覆盖全部在档户",
                "户",
            ),
            Figure(
                "dossiers.condolence_total",
                "两节慰问金",
                money(p.condolence_yuan * 100),
                money(SOURCE_CONDOLENCE_YUAN * 100),
                f"按档次标准：{mix}，计 {p.batch_yuan} 元；"
                f"另工作人员核定补充慰问 {p.supplement_yuan} 元（低于最低档标准，标准表凑不出的零头）",
                "元",
            ),
        ]

    @staticmethod
    def _open_dossiers(api: Api) -> list[dict]:
        found, offset = [], 0
        while True:
            page = api.get(f"/api/v1/dossiers?status=open&limit=500&offset={offset}")["dossiers"]
            found += page
            if len(page) < 500:
                return found
            offset += 500

    def actual(self, api: Api) -> dict[str, int | str]:
        dossiers = self._open_dossiers(api)
        tiers = Counter(d["tier"] for d in dossiers)
        assisted = condoled = 0
        assistance = condolence = Decimal(0)
        for listed in dossiers:
            # A list leaves the ledgers out (they would make a page slow): one read each.
            d = api.get(f"/api/v1/dossiers/{listed['dossier_id']}")
            ours = [g for g in d["ledger"] if g["fund"] == ASSISTANCE_FUND]
            comforts = [
                g for g in d["ledger"] if g["fund"] == CONDOLENCE_FUND and g["type"] == "condolence"
            ]
            assisted += bool(ours)
            condoled += bool(comforts)
            assistance += sum((Decimal(g["amount"]) for g in ours), Decimal(0))
            condolence += sum((Decimal(g["amount"]) for g in comforts), Decimal(0))
        fund = api.get(f"/api/v1/assistance-funds/{ASSISTANCE_FUND}/{YEAR}")
        return {
            "dossiers.open": len(dossiers),
            **{f"dossiers.{tier}": tiers[tier] for tier in TIER_NAMES},
            "dossiers.assisted_households": assisted,
            "dossiers.assistance_total": f"{assistance:.2f}",
            "dossiers.assistance_fund_spent": fund["spent"],
            "dossiers.condolence_households": condoled,
            "dossiers.condolence_total": f"{condolence:.2f}",
        }

    def charts(self, api: Api) -> list[Chart]:
        dossiers = self._open_dossiers(api)
        tiers = Counter(d["tier"] for d in dossiers)
        by_county = Counter((d["county"], d["tier"]) for d in dossiers)
        return [
            Chart(
                "在档困难职工户数（按档次）",
                [TIER_NAMES[t] for t in TIER_NAMES],
                {"户数": [float(tiers[t]) for t in TIER_NAMES]},
            ),
            Chart(
                "在档困难职工户数（按县、市、区）",
                [COUNTIES[c][0] for c in COUNTIES],
                {TIER_NAMES[t]: [float(by_county[(c, t)]) for c in COUNTIES] for t in TIER_NAMES},
            ),
        ]


SCENARIO = Dossiers()
