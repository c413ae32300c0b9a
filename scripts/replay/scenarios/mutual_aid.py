"""Employee medical mutual aid (职工医疗互助), period 11 (2018), as the year replay sends it.

The source document: "第十一期职工医疗互助活动运行正常，截至11月30日，共补助1.06万人次，补助金额
793万余元". So the year here is: employers' unions enrol their staff for period 11 (most in
November and December 2017, a few during 2018), partner hospitals push the discharge bills of
their stays (signed, in date order, up to 30 November), reviewers approve the claims the
maker-checker rule gives two reviews, the claims officer checks each month's claims are decided,
and finance batches the month's approved claims at its last working day and a second finance
user confirms the bank paid them. Besides the subsidised stays, hospitals also send bills the
policy refuses (waiting period, exclusions, below the deductible, cap used up, not enrolled)
and now and then send a bill twice.

The expected figures come from a small calculation of our own over the drawn bills (``decide``,
reading the numbers of config/policy/mutual_aid/*.toml), never from services/mutual_aid: the
report checks the service against it. How the drawn amounts reach the document's total exactly
is said in the figure's ``how``.
"""

from __future__ import annotations

import math
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache
from pathlib import Path

from scripts.replay.city import COUNTIES, HOSPITALS, POOLS, City
from scripts.replay.model import Api, Chart, Figure, Partner, Staff, Step, scaled
from shared.contracts.mutual_aid import claim_id_for
from shared.money import format_fen, parse_yuan

POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policy" / "mutual_aid"

PERIOD = 11
YEAR = 2018
# The document's figures are "as of 30 November": the replayed bills end there.
LAST_DAY = date(YEAR, 11, 30)

# The source document (unscaled).
SOURCE_STAYS = 10_600
SOURCE_TOTAL_FEN = 793_000_000

# What the document does not state, chosen at scale 1 (scaled like the rest).
MEMBERS = 60_000  # period-11 members: 10,600 stays is about one member in six in hospital
BIG_CLAIMS = 40  # subsidies at or above the review threshold (major illness)
SINGLE_DISEASE = 640  # stays billed by single-disease group (单病种, new in 2018)
CAP_FOLLOW_UPS = 8  # a later bill of a plan-A member whose cap a big claim used up
RESENDS = 25  # a hospital sends the same bill again (its system timed out)
# Bills the policy refuses, by the reason the service must give.
REFUSED: dict[str, int] = {
    "waiting_period": 260,
    "not_enrolled": 60,
    "below_deductible": 180,
    "excluded_self_harm": 12,
    "excluded_cosmetic": 8,
    "excluded_third_party": 40,
    "excluded_drunk_driving": 6,
    "excluded_crime": 3,
}
# Below this many subsidised stays (tiny scales) the year has only ordinary stays: a single
# major claim would not fit in the scaled total.
SPECIALS_FROM = 100

# Plan of an employer by its nature (A enterprises, B public institutions, C organs).
PLAN_SHARES = (("A", 0.70), ("B", 0.90), ("C", 1.0))
# An ordinary stay's subsidy: two of them never reach plan A's cap or the review threshold.
ORDINARY_FLOOR_FEN, ORDINARY_CEILING_FEN = 40_00, 4_500_00
LEVEL_COST = {1: 0.6, 2: 0.9, 3: 1.3}  # how a hospital level scales a stay's cost

MONTH_NAMES = [f"{m}月" for m in range(1, 13)]

CITY_FINANCE = Staff("finance", "LY", sub="LY-finance-1")
CITY_FINANCE_CONFIRMER = Staff("finance", "LY", sub="LY-finance-2")
REVIEWERS = (
    Staff("reviewer", "LY", sub="LY-reviewer-1"),
    Staff("reviewer", "LY", sub="LY-reviewer-2"),
)
CLAIMS_OFFICER = Staff("reviewer", "LY", sub="LY-claims-officer")

# Waves within a day: bills and staff work first, a hospital's resend after, then the claims
# officer's checks, then finance's batch (which takes every claim approved before it).
BILLS, RESEND, CHECK, BATCH = 0, 1, 2, 3


# ---- the policy, read by ourselves -------------------------------------------------------------


@dataclass(frozen=True)
class PlanTerms:
    contribution: int  # fen per member and year
    ratio: Fraction
    cap: int  # fen per period


@dataclass(frozen=True)
class Exclusion:
    reason: str
    first: str  # ICD-10 category range, inclusive
    last: str
    only_with_liable_third_party: bool


@dataclass(frozen=True)
class Policy:
    version: str
    period_years: dict[int, int]
    waiting_days: int
    review_threshold: int
    deductible: dict[int, int]  # hospital level -> fen
    plans: dict[str, PlanTerms]
    exclusions: tuple[Exclusion, ...]
    single_disease: dict[str, dict[str, int]]  # category -> plan -> fen
    deadline: tuple[int, int, int]  # (year offset, month, day)


def _fen(yuan) -> int:
    return int(Decimal(str(yuan)) * 100)


def _policy_from(data: dict) -> Policy:
    deadline = data["submission_deadline"]
    return Policy(
        version=data["version"],
        period_years={int(k): int(v) for k, v in data["periods"].items()},
        waiting_days=int(data["waiting_period_days"]),
        review_threshold=_fen(data["review_threshold_yuan"]),
        deductible={int(k): _fen(v) for k, v in data["deductible_yuan_by_hospital_level"].items()},
        plans={
            code: PlanTerms(
                contribution=_fen(p["contribution_yuan"]),
                ratio=Fraction(str(p["ratio"])),
                cap=_fen(p["period_cap_yuan"]),
            )
            for code, p in data["plans"].items()
        },
        exclusions=tuple(
            Exclusion(
                e["reason_code"],
                e["icd10_from"],
                e["icd10_to"],
                bool(e.get("only_with_liable_third_party", False)),
            )
            for e in data.get("exclusions", [])
        ),
        single_disease={
            category: {plan: _fen(v) for plan, v in entry["amount_yuan_by_plan"].items()}
            for category, entry in data.get("single_disease", {}).items()
        },
        deadline=(deadline["year_offset"], deadline["month"], deadline["day"]),
    )


@cache
def load_policy(day: date = date(YEAR, 1, 1)) -> Policy:
    """The version of config/policy/mutual_aid in force on ``day`` (the earliest before any)."""
    versions = []
    for path in sorted(POLICY_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        versions.append((data["effective_from"], data))
    if not versions:
        raise FileNotFoundError(f"no mutual-aid policy under {POLICY_DIR}")
    versions.sort(key=lambda v: v[0])
    in_force = [data for since, data in versions if since <= day] or [versions[0][1]]
    return _policy_from(in_force[-1])


# ---- the decision the policy gives a bill (our own, to check the service against) -------------


@dataclass(frozen=True)
class Membership:
    plan: str
    coverage_start: date
    renewal: bool = False


@dataclass(frozen=True)
class BillFacts:
    hospital_level: int
    admission: date
    discharge: date
    submitted: date
    diagnoses: tuple[str, ...]
    self_pay_in_catalogue: int  # fen
    single_disease_code: str | None = None
    drunk_driving: bool = False
    crime: bool = False
    third_party_liable: bool = False


@dataclass(frozen=True)
class Outcome:
    status: str  # approved | needs_review | rejected
    amount: int  # fen
    reason: str | None = None


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def rule_amount(policy: Policy, bill: BillFacts, plan: str) -> int:
    """Single-disease fixed amount, else max(0, self-pay − deductible) × ratio (half-up)."""
    if bill.single_disease_code:
        table = policy.single_disease.get(bill.single_disease_code.split(".")[0])
        if table is not None:
            return table[plan]
    base = max(0, bill.self_pay_in_catalogue - policy.deductible[bill.hospital_level])
    return half_up(base * policy.plans[plan].ratio)


def decide(policy: Policy, bill: BillFacts, member: Membership | None, used_cap: int) -> Outcome:
    """DOMAIN.md §2 steps 2-7 for a bill that overlaps no other stay of the member."""
    period = next((p for p, y in policy.period_years.items() if y == bill.discharge.year), None)
    if period is None or member is None or bill.admission < member.coverage_start:
        return Outcome("rejected", 0, "not_enrolled")
    covered_from = member.coverage_start + timedelta(days=policy.waiting_days)
    if not member.renewal and bill.admission < covered_from:
        return Outcome("rejected", 0, "waiting_period")
    for code in bill.diagnoses:
        category = code.split(".")[0]
        for exclusion in policy.exclusions:
            if not exclusion.first <= category <= exclusion.last:
                continue
            if exclusion.only_with_liable_third_party and not bill.third_party_liable:
                continue
            return Outcome("rejected", 0, exclusion.reason)
    if bill.drunk_driving:
        return Outcome("rejected", 0, "excluded_drunk_driving")
    if bill.crime:
        return Outcome("rejected", 0, "excluded_crime")
    offset, month, day = policy.deadline
    if bill.submitted > date(policy.period_years[period] + offset, month, day):
        return Outcome("rejected", 0, "late_submission")
    rule = rule_amount(policy, bill, member.plan)
    remaining = max(0, policy.plans[member.plan].cap - used_cap)
    amount = min(rule, remaining, bill.self_pay_in_catalogue)
    if amount == 0:
        reason = "cap_exhausted" if rule > 0 and remaining == 0 else "below_deductible"
        return Outcome("rejected", 0, reason)
    if amount >= policy.review_threshold:
        return Outcome("needs_review", amount)
    return Outcome("approved", amount)


def self_pay_for(policy: Policy, subsidy: int, level: int, plan: str) -> int:
    """The smallest in-catalogue self-pay (fen) whose formula subsidy is exactly ``subsidy``:
    half-up(k × r) = a holds for (a − ½)/r ≤ k < (a + ½)/r, a range at least 1 fen wide."""
    ratio = policy.plans[plan].ratio
    k = math.ceil((subsidy - Fraction(1, 2)) / ratio)
    return policy.deductible[level] + k


# ---- the drawn year -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    index: int
    name: str
    id_number: str
    unit: str
    plan: str | None  # None: a worker the hospital bills who never enrolled
    coverage_start: date | None
    female: bool
    birth_year: int


@dataclass(slots=True)
class Bill:
    kind: str  # ordinary, single, big, cap_follow_up, or a refusal's reason code
    member: Member
    hospital: str
    level: int
    admission: date
    discharge: date
    submitted: date
    diagnoses: tuple[str, ...]
    self_pay_in: int = 0
    self_pay_out: int = 0
    fund_paid: int = 0
    total_cost: int = 0
    single_disease_code: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    bill_no: str = ""
    outcome: Outcome | None = None
    approved_on: date | None = None  # when it becomes approved (decision or second review)
    resend: bool = False

    @property
    def facts(self) -> BillFacts:
        return BillFacts(
            hospital_level=self.level,
            admission=self.admission,
            discharge=self.discharge,
            submitted=self.submitted,
            diagnoses=self.diagnoses,
            self_pay_in_catalogue=self.self_pay_in,
            single_disease_code=self.single_disease_code,
            drunk_driving=self.flags.get("drunk_driving", False),
            crime=self.flags.get("crime", False),
            third_party_liable=self.flags.get("third_party_liable", False),
        )

    @property
    def claim_id(self) -> str:
        return claim_id_for(self.hospital, self.bill_no)

    @property
    def reviews(self) -> tuple[date, date] | None:
        if self.outcome is None or self.outcome.status != "needs_review":
            return None
        first = next_weekday(self.submitted)
        return first, next_weekday(first)


# Common inpatient diagnoses (main first) by how costly the stay is.
ORDINARY_DIAGNOSES = (
    ("J18.9",),
    ("I63.9", "I10"),
    ("I25.1", "I10"),
    ("E11.9", "I10"),
    ("K80.2",),
    ("N20.0",),
    ("M51.2",),
    ("K29.7",),
    ("J44.1",),
    ("I50.9", "I25.1"),
    ("S72.0", "W19"),
    ("S82.2", "V28.4"),  # a traffic injury with no liable third party named: covered
    ("O80",),
    ("K56.7",),
    ("N40",),
    ("D25.9",),
)
BIG_DIAGNOSES = (
    ("C34.9",),
    ("C22.0",),
    ("C16.9",),
    ("C18.9",),
    ("I21.9", "I10"),
    ("I61.9",),
    ("N18.5",),
)
SINGLE_DISEASES = {"K35": ("K35.8",), "O82": ("O82.0",), "H25": ("H25.9",)}
REFUSED_BILLS = {
    "excluded_self_harm": (("T42.4", "X61"), {}),
    "excluded_cosmetic": (("Z41.1",), {}),
    "excluded_third_party": (("S06.0", "V43.5"), {"third_party_liable": True}),
    "excluded_drunk_driving": (("S06.0", "V47.5"), {"drunk_driving": True}),
    "excluded_crime": (("S01.8", "S61.9"), {"crime": True}),
}
DAILY_COST_FEN = {1: 450_00, 2: 800_00, 3: 1_400_00}


def next_weekday(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def last_weekday(year: int, month: int) -> date:
    day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _weekday_between(rng, first: date, last: date) -> date:
    while True:
        day = first + timedelta(days=rng.randrange((last - first).days + 1))
        if day.weekday() < 5:
            return day


_BY_COUNTY_LEVEL: dict[tuple[str, int], list[str]] = defaultdict(list)
for _code, (_name, _level, _county) in HOSPITALS.items():
    _BY_COUNTY_LEVEL[(_county, _level)].append(_code)
_CITY_HOSPITALS = _BY_COUNTY_LEVEL[("LY-XL", 3)]


def _hospital(rng, county: str, major: bool) -> str:
    """The city's level-3 hospitals for major illness and a third of the rest; otherwise the
    member's county hospital or, for a quarter of stays where there is one, a township one."""
    if major or rng.random() < 0.33:
        return rng.choice(_CITY_HOSPITALS)
    local = _BY_COUNTY_LEVEL.get((county, 1), [])
    if local and rng.random() < 0.25:
        return rng.choice(local)
    return rng.choice(_BY_COUNTY_LEVEL.get((county, 2)) or _CITY_HOSPITALS)


@dataclass
class Year:
    """The drawn year at one scale: members grouped by employer, every bill, the expectations."""

    scale: float
    policy: Policy
    stays: int
    target: int  # fen
    units: dict[str, tuple[str, date, date, list[Member]]]  # unit -> plan, enrolled, cover, members
    bills: list[Bill]

    @property
    def members(self) -> int:
        return sum(len(u[3]) for u in self.units.values())

    @property
    def contributions(self) -> int:
        return sum(self.policy.plans[u[0]].contribution * len(u[3]) for u in self.units.values())

    def subsidised(self) -> Iterator[Bill]:
        return (b for b in self.bills if not b.resend and b.outcome.status != "rejected")

    def batch_day(self, month: int) -> date:
        return last_weekday(YEAR, month)

    def batch_month(self, bill: Bill) -> int:
        """The month whose batch takes the claim: the first batch on or after its approval."""
        month = bill.approved_on.month
        if bill.approved_on > self.batch_day(month):
            month += 1
        return month

    def monthly(self) -> dict[int, tuple[int, int]]:
        """Month -> (claims, fen) of its payout batch."""
        months: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for bill in self.subsidised():
            entry = months[self.batch_month(bill)]
            entry[0] += 1
            entry[1] += bill.outcome.amount
        return {m: (c, t) for m, (c, t) in sorted(months.items())}


def _unit_terms(city: City, unit: str) -> tuple[str, date, date]:
    """An employer's plan, the day its union enrols its staff, and their coverage start: most
    enrol in the window's first two months for the whole year, some join during the year."""
    rng = city.rng("mutual_aid", "employer", unit)
    draw = rng.random()
    plan = next(code for code, upto in PLAN_SHARES if draw < upto)
    if rng.random() < 0.85:
        return (
            plan,
            _weekday_between(rng, date(YEAR - 1, 11, 1), date(YEAR - 1, 12, 28)),
            date(YEAR, 1, 1),
        )
    month = rng.randrange(1, 7)
    enrolled = _weekday_between(rng, date(YEAR, month, 1), date(YEAR, month, 25))
    return plan, enrolled, date(YEAR, month + 1, 1)


def _as_member(worker, plan: str | None, coverage: date | None) -> Member:
    return Member(
        index=worker.index,
        name=worker.name,
        id_number=worker.id_number,
        unit=worker.unit,
        plan=plan,
        coverage_start=coverage,
        female=worker.female,
        birth_year=worker.birth.year,
    )


class _Stays:
    """Each member's stays so far: a new one never overlaps another (that would go to review)."""

    def __init__(self):
        self.by_member: dict[int, list[tuple[date, date]]] = defaultdict(list)

    def free(self, member: Member, admission: date, discharge: date) -> bool:
        return all(
            discharge + timedelta(days=3) < a or admission > d + timedelta(days=3)
            for a, d in self.by_member[member.index]
        )

    def add(self, member: Member, admission: date, discharge: date) -> None:
        self.by_member[member.index].append((admission, discharge))


def _place(rng, stays: _Stays, member: Member, los: int, first: date, last_submit: date):
    """Admission, discharge and submission for a stay of ``los`` days admitted on or after
    ``first`` and submitted by ``last_submit``; None when it does not fit."""
    lag = rng.randint(1, 4)
    latest = last_submit - timedelta(days=lag + los)
    if latest < first:
        return None
    for _ in range(8):
        admission = first + timedelta(days=rng.randrange((latest - first).days + 1))
        discharge = admission + timedelta(days=los)
        if stays.free(member, admission, discharge):
            stays.add(member, admission, discharge)
            return admission, discharge, discharge + timedelta(days=lag)
    return None


def _amounts(rng, bill: Bill) -> None:
    """The rest of the bill around its in-catalogue self-pay: that is 15-35 % of the total,
    out-of-catalogue 3-12 %, the basic insurance fund the remainder."""
    share = rng.uniform(0.15, 0.35)
    total = max(bill.self_pay_in, round(bill.self_pay_in / share))
    bill.self_pay_out = round(total * rng.uniform(0.03, 0.12))
    bill.fund_paid = max(0, total - bill.self_pay_in - bill.self_pay_out)
    bill.total_cost = bill.fund_paid + bill.self_pay_in + bill.self_pay_out


def fit(raws: list[int], total: int, low: int, high: int) -> list[int]:
    """``raws`` scaled to sum exactly to ``total``, each kept within [low, high]: proportional
    shares rounded down and clamped, then what is left spread a fen at a time, in order, over
    those with room (deterministic; the shape of the draw is kept)."""
    if not raws:
        if total:
            raise ValueError(f"{total} fen to share and no stay to share it")
        return []
    if not len(raws) * low <= total <= len(raws) * high:
        raise ValueError(
            f"{total} fen cannot be shared by {len(raws)} stays within [{low}, {high}]"
        )
    drawn = sum(raws)
    amounts = [min(high, max(low, raw * total // drawn)) for raw in raws]
    left = total - sum(amounts)
    step = 1 if left > 0 else -1
    while left:
        moved = False
        for i, amount in enumerate(amounts):
            if left and low <= amount + step <= high:
                share = step * max(1, abs(left) // len(amounts))
                share = max(low - amount, min(high - amount, share))
                amounts[i] += share
                left -= share
                moved = moved or share != 0
        if not moved:
            raise ValueError("no room left to share the remainder")
    return amounts


def draw_year(city: City, scale: float) -> Year:
    policy = load_policy()
    stays = scaled(SOURCE_STAYS, scale)
    target = round(SOURCE_TOTAL_FEN * stays / SOURCE_STAYS)
    specials = stays >= SPECIALS_FROM

    def count(n: int) -> int:
        return scaled(n, scale) if specials else 0

    # Members: drawn from the pool once; one enrolment list per employer (its unit).
    n_members = scaled(MEMBERS, scale)
    n_outsiders = count(REFUSED["not_enrolled"])
    picks = city.rng("draw", "mutual_aid", "period", PERIOD).sample(
        POOLS["mutual_aid"], n_members + n_outsiders
    )
    units: dict[str, tuple[str, date, date, list[Member]]] = {}
    members: list[Member] = []
    for index in picks[:n_members]:
        worker = city.worker(index)
        if worker.unit not in units:
            units[worker.unit] = (*_unit_terms(city, worker.unit), [])
        plan, _, coverage, listed = units[worker.unit]
        member = _as_member(worker, plan, coverage)
        listed.append(member)
        members.append(member)
    outsiders = [_as_member(city.worker(i), None, None) for i in picks[n_members:]]

    rng = city.rng("mutual_aid", "bills")
    ledger = _Stays()
    bills: list[Bill] = []
    big_members: set[int] = set()
    wait = timedelta(days=policy.waiting_days)

    def covered_member() -> Member:
        """A member for one more stay: at most two each (so two ordinary subsidies stay under
        plan A's cap), none for a member with a major claim (whose cap it would share)."""
        while True:
            member = members[rng.randrange(len(members))]
            if member.index not in big_members and len(ledger.by_member[member.index]) < 2:
                return member

    def new_bill(kind, member, los, first, last_submit, diagnoses, major=False) -> Bill | None:
        hospital = _hospital(rng, member.unit[:5], major)
        placed = _place(rng, ledger, member, los, first, last_submit)
        if placed is None:
            return None
        admission, discharge, submitted = placed
        return Bill(
            kind=kind,
            member=member,
            hospital=hospital,
            level=HOSPITALS[hospital][1],
            admission=admission,
            discharge=discharge,
            submitted=submitted,
            diagnoses=diagnoses,
        )

    # Major illness: a subsidy at or above the review threshold, up to the plan's cap; a
    # plan-A member's is the cap itself (the formula gives more), so a later bill finds it used.
    # Submitted by the last Monday so both reviews fall before the last batch.
    review_by = LAST_DAY - timedelta(days=4)
    fixed = 0
    big_bills: list[Bill] = []
    while len(big_bills) < count(BIG_CLAIMS):
        member = covered_member()
        los = rng.randint(12, 40)
        bill = new_bill(
            "big",
            member,
            los,
            member.coverage_start + wait,
            review_by,
            rng.choice(BIG_DIAGNOSES),
            True,
        )
        if bill is None:
            continue
        terms = policy.plans[member.plan]
        if member.plan == "A":
            amount = terms.cap
            bill.self_pay_in = self_pay_for(policy, terms.cap, bill.level, "A") + rng.randint(
                0, 20_000_00
            )
        else:
            amount = rng.randint(policy.review_threshold, min(terms.cap, 25_000_00))
            bill.self_pay_in = self_pay_for(policy, amount, bill.level, member.plan)
        big_members.add(member.index)
        fixed += amount
        big_bills.append(bill)
    bills += big_bills

    follow_ups = [b for b in big_bills if b.member.plan == "A"][: count(CAP_FOLLOW_UPS)]
    for big in follow_ups:
        bill = new_bill(
            "cap_exhausted",
            big.member,
            rng.randint(3, 12),
            big.discharge + timedelta(days=20),
            LAST_DAY,
            rng.choice(ORDINARY_DIAGNOSES),
        )
        if bill is not None:
            bill.self_pay_in = rng.randint(1_500_00, 6_000_00)
            bills.append(bill)

    # Single-disease stays: the table's fixed amount for the member's plan.
    n_single = count(SINGLE_DISEASE) if stays >= 20 else 0
    while n_single:
        member = covered_member()
        codes = ["K35"]
        if member.female and member.birth_year >= 1975:
            codes.append("O82")
        if member.birth_year <= 1970:
            codes.append("H25")
        code = rng.choice(codes)
        los = {"K35": rng.randint(4, 8), "O82": rng.randint(4, 7), "H25": rng.randint(2, 4)}[code]
        bill = new_bill(
            "single", member, los, member.coverage_start + wait, LAST_DAY, SINGLE_DISEASES[code]
        )
        if bill is None:
            continue
        bill.single_disease_code = code
        amount = policy.single_disease[code][member.plan]
        bill.self_pay_in = amount + rng.randint(800_00, 4_000_00)
        fixed += amount
        bills.append(bill)
        n_single -= 1

    # Ordinary stays: subsidies drawn (log-normal, costlier at higher-level hospitals), then
    # fitted so that with the fixed ones they sum exactly to the target.
    n_ordinary = stays - len(big_bills) - sum(1 for b in bills if b.kind == "single")
    ordinary: list[tuple[Bill, int]] = []
    while len(ordinary) < n_ordinary:
        member = covered_member()
        diagnoses = rng.choice(ORDINARY_DIAGNOSES)
        if diagnoses == ("O80",) and not (member.female and member.birth_year >= 1975):
            continue
        raw = math.exp(rng.gauss(math.log(480_00), 0.85))
        bill = new_bill(
            "ordinary",
            member,
            rng.randint(3, 20),
            member.coverage_start + wait,
            LAST_DAY,
            diagnoses,
        )
        if bill is not None:
            ordinary.append((bill, round(raw * LEVEL_COST[bill.level])))
    amounts = fit(
        [raw for _, raw in ordinary], target - fixed, ORDINARY_FLOOR_FEN, ORDINARY_CEILING_FEN
    )
    for (bill, _), amount in zip(ordinary, amounts, strict=True):
        bill.self_pay_in = self_pay_for(policy, amount, bill.level, bill.member.plan)
        bills.append(bill)

    # Refused bills, each for the reason the policy gives.
    for reason, n in REFUSED.items():
        made = 0
        while made < count(n):
            if reason == "not_enrolled":
                member = outsiders[made]
                bill = new_bill(
                    reason,
                    member,
                    rng.randint(3, 15),
                    date(YEAR, 1, 5),
                    LAST_DAY,
                    rng.choice(ORDINARY_DIAGNOSES),
                )
            elif reason == "waiting_period":
                member = covered_member()
                los = rng.randint(2, 12)
                last = member.coverage_start + wait - timedelta(days=1)
                bill = new_bill(
                    reason,
                    member,
                    los,
                    member.coverage_start,
                    min(LAST_DAY, last + timedelta(days=los + 1)),
                    rng.choice(ORDINARY_DIAGNOSES),
                )
            else:
                member = covered_member()
                diagnoses, flags = REFUSED_BILLS.get(reason, (rng.choice(ORDINARY_DIAGNOSES), {}))
                bill = new_bill(
                    reason,
                    member,
                    rng.randint(2, 15),
                    member.coverage_start + wait,
                    LAST_DAY,
                    diagnoses,
                )
                if bill is not None:
                    bill.flags = dict(flags)
            if bill is None:
                continue
            deductible = policy.deductible[bill.level]
            if reason == "below_deductible":
                bill.self_pay_in = rng.randint(30_00, deductible)
            else:
                bill.self_pay_in = rng.randint(deductible + 200_00, deductible + 6_000_00)
            bills.append(bill)
            made += 1

    for bill in bills:
        if not bill.total_cost:
            _amounts(rng, bill)
    _number_and_decide(policy, bills)
    resends = [b for b in bills if b.kind == "ordinary"]
    for original in rng.sample(resends, min(len(resends), count(RESENDS))):
        copy = Bill(**{s: getattr(original, s) for s in Bill.__slots__})
        copy.resend = True
        bills.append(copy)
    bills.sort(key=lambda b: (b.submitted, b.hospital, b.bill_no, b.resend))
    return Year(scale, policy, stays, target, units, bills)


def _number_and_decide(policy: Policy, bills: list[Bill]) -> None:
    """Bill numbers per hospital in the order bills leave it; then each bill decided in the
    order it arrives, the member's cap used by the earlier ones; the outcome must be the one
    the bill was drawn for."""
    bills.sort(key=lambda b: (b.submitted, b.discharge, b.hospital, b.member.index))
    sequence: dict[str, int] = defaultdict(int)
    used: dict[int, int] = defaultdict(int)
    for bill in bills:
        sequence[bill.hospital] += 1
        bill.bill_no = f"ZY{bill.submitted.year}-{sequence[bill.hospital]:06d}"
        member = bill.member
        membership = Membership(member.plan, member.coverage_start) if member.plan else None
        outcome = decide(policy, bill.facts, membership, used[member.index])
        bill.outcome = outcome
        if outcome.status != "rejected":
            used[member.index] += outcome.amount
        intended = {
            "ordinary": ("approved", None),
            "single": ("approved", None),
            "big": ("needs_review", None),
        }.get(bill.kind, ("rejected", bill.kind))
        if (outcome.status, outcome.reason) != intended:
            raise AssertionError(f"bill drawn as {bill.kind} decides as {outcome}")
        if outcome.status == "approved":
            bill.approved_on = bill.submitted
        elif outcome.status == "needs_review":
            bill.approved_on = bill.reviews[1]


@lru_cache(maxsize=4)
def year_of(seed: int, scale: float) -> Year:
    return draw_year(City(seed), scale)


# ---- what is sent ---------------------------------------------------------------------------


def bill_body(bill: Bill) -> dict:
    member = bill.member
    return {
        "bill_no": bill.bill_no,
        "patient_id_number": member.id_number,
        "patient_name": member.name,
        "hospital_level": bill.level,
        "admission_date": bill.admission.isoformat(),
        "discharge_date": bill.discharge.isoformat(),
        "diagnoses": list(bill.diagnoses),
        "total_cost": format_fen(bill.total_cost),
        "fund_paid": format_fen(bill.fund_paid),
        "self_pay_in_catalogue": format_fen(bill.self_pay_in),
        "self_pay_out_of_catalogue": format_fen(bill.self_pay_out),
        "single_disease_code": bill.single_disease_code,
        "submitted_on": bill.submitted.isoformat(),
        "flags": {
            "drunk_driving": bill.flags.get("drunk_driving", False),
            "crime": bill.flags.get("crime", False),
            "third_party_liable": bill.flags.get("third_party_liable", False),
        },
    }


def bank_account(member: Member) -> str | None:
    """Nine in ten members give a salary card for the payout (the rest are paid by their union)."""
    if member.index % 10 == 0:
        return None
    return f"6222{member.index * 7919 % 10**15:015d}"


def enrolment_body(unit: str, plan: str, enrolled: date, members: list[Member]) -> dict:
    rows = []
    for member in members:
        row = {
            "id_number": member.id_number,
            "name": member.name,
            "coverage_start": member.coverage_start.isoformat(),
        }
        account = bank_account(member)
        if account:
            row["bank_account"] = account
        rows.append(row)
    return {
        "period": PERIOD,
        "employer_org": unit,
        "plan": plan,
        "enrolled_on": enrolled.isoformat(),
        "members": rows,
    }


def _claim_key(bill: Bill) -> str:
    return f"claim:{bill.hospital}:{bill.bill_no}"


class MutualAid:
    name = "mutual_aid"
    priority = 20

    def __init__(self):
        self._year: Year | None = None

    def year(self, scale: float, city: City | None = None) -> Year:
        self._year = year_of((city or City()).seed, scale)
        return self._year

    def steps(self, city: City, scale: float) -> Iterator[Step]:
        year = self.year(scale, city)
        plan: list[tuple[date, int, int, object]] = []
        for unit, (_, enrolled, _, _) in year.units.items():
            plan.append((enrolled, BILLS, len(plan), ("enrol", unit)))
        for bill in year.bills:
            plan.append(
                (bill.submitted, RESEND if bill.resend else BILLS, len(plan), ("bill", bill))
            )
            reviews = None if bill.resend else bill.reviews
            if reviews:
                for n, day in enumerate(reviews):
                    plan.append((day, BILLS, len(plan), ("review", bill, n)))
            elif bill.outcome.status == "approved" and not bill.resend:
                day = year.batch_day(year.batch_month(bill))
                plan.append((day, CHECK, len(plan), ("check", bill)))
        for month in year.monthly():
            day = year.batch_day(month)
            plan.append((day, BATCH, len(plan), ("batch", month)))
            plan.append((next_weekday(day), BILLS, len(plan), ("file", month)))
            plan.append((next_weekday(next_weekday(day)), BILLS, len(plan), ("confirm", month)))
        plan.sort(key=lambda item: item[:3])
        for on, wave, _, what in plan:
            yield self._step(year, on, wave, what)

    def _step(self, year: Year, on: date, wave: int, what: tuple) -> Step:
        kind = what[0]
        if kind == "enrol":
            unit = what[1]
            code, enrolled, _, members = year.units[unit]
            return Step(
                on=on,
                key=f"mutual_aid:enrol:{PERIOD}:{unit}",
                actor=Staff("grassroots_staff", unit, sub=f"{unit}-staff"),
                method="POST",
                path="/api/v1/mutual-aid/enrollments",
                body=enrolment_body(unit, code, enrolled, members),
                wave=wave,
                expect=(201,),
            )
        if kind == "bill":
            bill = what[1]
            needs_id = bill.reviews is not None and not bill.resend
            return Step(
                on=on,
                key=f"mutual_aid:bill:{bill.hospital}:{bill.bill_no}"
                + (":again" if bill.resend else ""),
                actor=Partner(bill.hospital),
                method="POST",
                path=f"/api/v1/hospitals/{bill.hospital}/discharge-bills",
                body=bill_body(bill),
                wave=wave,
                expect=(202, 200),
                save={_claim_key(bill): "claim_id"} if needs_id else {},
            )
        if kind == "review":
            bill, n = what[1], what[2]
            return Step(
                on=on,
                key=f"mutual_aid:review:{bill.hospital}:{bill.bill_no}:{n + 1}",
                actor=REVIEWERS[n],
                method="POST",
                path=f"/api/v1/mutual-aid/claims/{{{_claim_key(bill)}}}/reviews",
                body={
                    "decision": "approve",
                    "note": f"第{n + 1}位复核人核对住院清单与费用明细，同意",
                },
                wave=wave,
                expect=(200,),
                retry=(404,),
                retry_seconds=300.0,
            )
        if kind == "check":
            bill = what[1]
            return Step(
                on=on,
                key=f"mutual_aid:check:{bill.hospital}:{bill.bill_no}",
                actor=CLAIMS_OFFICER,
                method="GET",
                path=f"/api/v1/mutual-aid/claims/{bill.claim_id}",
                wave=wave,
                expect=(200,),
                retry=(404,),
                retry_seconds=300.0,
            )
        month = f"{YEAR}-{what[1]:02d}"
        if kind == "batch":
            return Step(
                on=on,
                key=f"mutual_aid:payout:{month}",
                actor=CITY_FINANCE,
                method="POST",
                path="/api/v1/mutual-aid/payout-batches",
                body={"month": month},
                wave=wave,
                expect=(201, 200),
                save={f"batch:{month}": "batch_id"},
            )
        if kind == "file":
            return Step(
                on=on,
                key=f"mutual_aid:payout-file:{month}",
                actor=CITY_FINANCE,
                method="GET",
                path=f"/api/v1/mutual-aid/payout-batches/{{batch:{month}}}/file",
                wave=wave,
                expect=(200,),
            )
        return Step(
            on=on,
            key=f"mutual_aid:payout-confirm:{month}",
            actor=CITY_FINANCE_CONFIRMER,
            method="POST",
            path=f"/api/v1/mutual-aid/payout-batches/{{batch:{month}}}/confirm",
            wave=wave,
            expect=(200,),
        )

    # ---- the report -----------------------------------------------------------------------

    def figures(self, scale: float) -> list[Figure]:
        year = self.year(scale) if self._year is None or self._year.scale != scale else self._year
        return _figures(year)

    def actual(self, api: Api) -> dict[str, int | str]:
        year = self._current()
        stats = api.get(f"/api/v1/mutual-aid/periods/{PERIOD}/stats")
        contributions = api.get(f"/api/v1/mutual-aid/periods/{PERIOD}/contributions")
        found = {
            "mutual_aid.person_times": stats["person_times"],
            "mutual_aid.subsidy_total": stats["approved_total"],
            "mutual_aid.paid_total": stats["paid_total"],
            "mutual_aid.members": sum(e["members"] for e in contributions["employers"]),
            "mutual_aid.contributions": contributions["total"],
        }
        for plan in year.policy.plans:
            found[f"mutual_aid.person_times.{plan}"] = (
                stats["by_plan"].get(plan, {}).get("person_times", 0)
            )
        threshold = year.policy.review_threshold
        two, single, refused = 0, 0, 0
        for bill in year.bills:
            if bill.resend:
                continue
            if bill.kind == "big":
                claim = api.get(f"/api/v1/mutual-aid/claims/{bill.claim_id}")
                audit = api.get(f"/api/v1/mutual-aid/claims/{bill.claim_id}/audit")
                approvers = {
                    e.get("by") for e in audit["entries"] if e["action"] == "review_approve"
                }
                if (
                    claim["status"] == "paid"
                    and parse_yuan(claim["amount"]) >= threshold
                    and len(approvers) >= 2
                ):
                    two += 1
            elif bill.kind == "single":
                claim = api.get(f"/api/v1/mutual-aid/claims/{bill.claim_id}")
                by_table = any(
                    "4 single disease" in line and "fixed amount" in line for line in claim["trace"]
                )
                single += claim["status"] == "paid" and by_table
            elif bill.outcome.status == "rejected":
                claim = api.get(f"/api/v1/mutual-aid/claims/{bill.claim_id}")
                refused += claim["status"] == "rejected" and claim["reason_code"] == bill.kind
        found["mutual_aid.two_reviews"] = two
        found["mutual_aid.single_disease"] = single
        found["mutual_aid.refused"] = refused
        return found

    def charts(self, api: Api) -> list[Chart]:
        year = self._current()
        claims, amounts = [0] * 12, [0.0] * 12
        for month in year.monthly():
            response = api.request(
                CITY_FINANCE,
                "POST",
                "/api/v1/mutual-aid/payout-batches",
                {"month": f"{YEAR}-{month:02d}"},
            )
            if response.status_code != 200:
                raise RuntimeError(
                    f"payout batch {YEAR}-{month:02d} answered {response.status_code}"
                )
            batch = response.json()
            claims[month - 1] = batch["claims"]
            amounts[month - 1] = parse_yuan(batch["total"]) / 1_000_000  # fen -> 万元
        stats = api.get(f"/api/v1/mutual-aid/periods/{PERIOD}/stats")
        counties = list(COUNTIES)
        by_county = stats["by_county"]
        return [
            Chart(
                title="第十一期医疗互助：每月支付补助人次",
                categories=MONTH_NAMES,
                series={"补助人次": claims},
                kind="bar",
            ),
            Chart(
                title="第十一期医疗互助：每月支付补助金额（万元）",
                categories=MONTH_NAMES,
                series={"补助金额（万元）": amounts},
                kind="line",
            ),
            Chart(
                title="第十一期医疗互助：各县（市、区）补助人次",
                categories=[COUNTIES[c][0] for c in counties],
                series={
                    "补助人次": [by_county.get(c, {}).get("person_times", 0) for c in counties]
                },
                kind="bar",
            ),
        ]

    def _current(self) -> Year:
        if self._year is None:
            raise RuntimeError("mutual_aid: steps() or figures(scale) first, to know the scale")
        return self._year


def _figures(year: Year) -> list[Figure]:
    policy = year.policy
    bills = [b for b in year.bills if not b.resend]
    subsidised = [b for b in bills if b.outcome.status != "rejected"]
    total = sum(b.outcome.amount for b in subsidised)
    if total != year.target or len(subsidised) != year.stays:
        raise AssertionError(
            f"drawn {len(subsidised)} stays, {total} fen; expected {year.stays}, {year.target}"
        )
    by_plan: dict[str, int] = defaultdict(int)
    for bill in subsidised:
        by_plan[bill.member.plan] += 1
    figures = [
        Figure(
            name="mutual_aid.person_times",
            label="第十一期医疗互助补助人次",
            expected=year.stays,
            source=SOURCE_STAYS,
            unit="人次",
            how="按比例抽取的获补助住院清单（金额大于0、已批准或已支付）；政策文件不含第十期，"
            "会员均为首次参保，入院须在参保起90天后，故4月起才有补助",
        ),
        Figure(
            name="mutual_aid.subsidy_total",
            label="第十一期医疗互助补助金额",
            expected=format_fen(total),
            source=format_fen(SOURCE_TOTAL_FEN),
            unit="元",
            how="普通住院的补助额按对数正态分布抽取后按比例缩放、取整余下的分逐笔补齐，"
            "与大病补助、单病种定额合计正好等于按比例换算的793万元；再按政策公式"
            "（max(0, 目录内自付−起付线)×比例，四舍五入到分）反推每张清单的目录内自付，"
            "补助额由服务按政策算出",
        ),
        Figure(
            name="mutual_aid.paid_total",
            label="已按月支付的补助金额",
            expected=format_fen(total),
            unit="元",
            how="每月最后一个工作日财务生成支付批次，另一位财务人员确认银行已付；"
            "11月的批次包含全部补助",
        ),
        Figure(
            name="mutual_aid.members",
            label="第十一期参加医疗互助职工",
            expected=year.members,
            unit="人",
            how=f"按比例从全市职工中抽取{MEMBERS:,}人，由所在单位工会整批参保，"
            "多数在2017年11-12月，部分单位在2018年上半年加入",
        ),
        Figure(
            name="mutual_aid.contributions",
            label="第十一期医疗互助金缴交",
            expected=format_fen(year.contributions),
            unit="元",
            how="参保人数×单位性质对应的年缴费（读自政策文件：A类36元、B类60元、C类100元）",
        ),
    ]
    plan_names = {"A": "企业、农民工", "B": "事业单位", "C": "机关"}
    for plan in policy.plans:
        figures.append(
            Figure(
                name=f"mutual_aid.person_times.{plan}",
                label=f"补助人次（{plan}类：{plan_names.get(plan, plan)}）",
                expected=by_plan[plan],
                unit="人次",
                how="按所在单位性质确定的参保方案统计",
            )
        )
    figures += [
        Figure(
            name="mutual_aid.two_reviews",
            label=f"补助额≥{policy.review_threshold // 100}元、经两位复核人批准",
            expected=sum(b.kind == "big" for b in bills),
            unit="人次",
            how="大病住院的补助额达到复核线，两位不同复核人先后批准（均按规则额）后才支付",
        ),
        Figure(
            name="mutual_aid.single_disease",
            label="单病种定额补助",
            expected=sum(b.kind == "single" for b in bills),
            unit="人次",
            how="阑尾炎、剖宫产、白内障按单病种收费的住院，按参保方案的定额补助",
        ),
        Figure(
            name="mutual_aid.refused",
            label="按规定不予补助的住院清单",
            expected=sum(b.outcome.status == "rejected" for b in bills),
            unit="件",
            how="等待期内入院、未参保、自付低于起付线、封顶额已用完、自伤、美容、"
            "第三方责任交通伤、醉驾、违法犯罪，各以相应原因拒付",
        ),
    ]
    return figures


SCENARIO = MutualAid()
