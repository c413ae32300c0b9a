"""The 2018 Golden Autumn student aid (金秋助学): the campaign, the children's applications,
the approvals within the budget, the public notice (公示) and the disbursement.

- 25 June: the city opens the campaign with the policy's window (1 July - 31 August) and a
  budget of the scaled funds raised ("共筹集并发放助学款250.32万元").
- July and August: applications, from county staff and from the e·龙岩 portal (signed): the
  children of hardship workers, whose parents head the national- and local-tier dossiers the
  dossiers scenario opened by mid June (the same draws: ``dossiers.plan``); the children of
  hardship migrant workers certified by their grassroots unit (the ``student_aid`` pool), from
  grassroots staff and the portal. Some are refused as the rules say (a grassroots-tier parent
  alone; a military academy, a tuition-free normal school, a directed place, aid from another
  scheme), and a few migrant families apply in the last days, after the budget is spent: they
  are waitlisted.
- 25 September: approvals; 28 September (a Friday): the notice, which ends on 9 October across
  the National Day holiday; 10 October: the disbursement batch; 11 October: a second finance
  officer confirms it and every award is paid.

The award amounts are the policy's table by education level; the mix of levels is drawn so the
awards come as close to the scaled total as the table allows without passing the budget.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from scripts.replay.city import CITY_PLATFORM, City, Worker
from scripts.replay.model import Api, Chart, Figure, Partner, Staff, Step, scaled
from scripts.replay.scenarios import dossiers
from scripts.replay.scenarios.dossiers import (
    BIRTH_YEARS,
    SCHOOLS,
    Dependants,
    Person,
    fen,
    money,
    policy_in_force,
)

YEAR = 2018
SOURCE_AWARDS = 684
SOURCE_YUAN = 2_503_200
MIGRANT_SHARE = 0.3  # of the awards, children of hardship migrant workers
REFUSED_NOT_HARDSHIP = 12  # at scale 1: a grassroots-tier parent alone
REFUSED_EXCLUDED = 12  # at scale 1: excluded schools or aid from another scheme
WAITLISTED = 12  # at scale 1: migrant families applying after the budget is spent

CAMPAIGN_DAY = date(YEAR, 6, 25)
AWARDS_APPLY_BY = date(YEAR, 8, 24)
LATE_FROM = date(YEAR, 8, 27)
APPROVALS_DAY = date(YEAR, 9, 25)
NOTICE_DAY = date(YEAR, 9, 28)  # Friday; the notice ends Tuesday 9 October
DISBURSE_DAY = date(YEAR, 10, 10)
CONFIRM_DAY = date(YEAR, 10, 11)

CITY = Staff("city_admin", "LY", "replay-city-admin")
FINANCE_1 = Staff("finance", "LY", "replay-finance-1")
FINANCE_2 = Staff("finance", "LY", "replay-finance-2")
PORTAL = Partner(CITY_PLATFORM[0])
CAMPAIGNS = f"/api/v1/student-aid/campaigns/{YEAR}"

LEVEL_NAMES = {
    "undergraduate": "本科",
    "junior_college": "大专/高职",
    "vocational": "中职/技校",
    "senior_high": "普通高中",
}
# Where a level's share of the awards is drawn near (the mix closest to the total wins; these
# only break ties between equally close mixes).
LEVEL_SHARES = {"undergraduate": 0.44, "junior_college": 0.18, "vocational": 0.17}
EXCLUSIONS = (
    ("military", "国防科技大学", "undergraduate", False),
    ("free_normal", "福建师范大学", "undergraduate", False),
    ("directed", "福建医科大学", "undergraduate", False),
    ("regular", "龙岩一中", "senior_high", True),  # aided by another scheme this year
)


class ChildIds(Dependants):
    """Migrant workers' children: sequence 750-999, apart from the dossiers' dependants."""

    FIRST, LAST = 750, 999


@dataclass(frozen=True)
class AwardPlan:
    levels: tuple[str, ...]  # one per award: the dossier children first, then migrants'
    dossier_awards: int
    migrant_awards: int
    not_hardship: int
    excluded: int
    waitlisted: int
    amounts: dict[str, int]  # yuan by level, the policy's table
    budget_yuan: int
    window: tuple[date, date]

    @property
    def total_yuan(self) -> int:
        return sum(self.amounts[level] for level in self.levels)


def _mix(count: int, target_yuan: int, amounts: dict[str, int]) -> dict[str, int] | None:
    """Counts by level for ``count`` awards whose total is the largest the table reaches
    without passing ``target_yuan``; among those, the one nearest the level shares. Levels
    paying the same amount are one group, split by their shares."""
    groups: dict[int, list[str]] = {}
    for level in LEVEL_NAMES:
        groups.setdefault(amounts[level], []).append(level)
    if len(groups) > 3:
        raise ValueError("the amount table has more than three amounts; draw the mix otherwise")
    paid = sorted(groups, reverse=True) + [0] * (3 - len(groups))
    share = {a: sum(LEVEL_SHARES.get(level, 0) for level in groups.get(a, ())) for a in paid}
    best, best_key = None, None
    for first in range(count + 1):
        for second in range(count - first + 1):
            third = count - first - second
            if (paid[1] == 0 and second) or (paid[2] == 0 and third):
                continue
            total = first * paid[0] + second * paid[1] + third * paid[2]
            if total > target_yuan:
                continue
            drift = abs(first - count * share[paid[0]]) + abs(second - count * share[paid[1]])
            key = (-total, drift)
            if best_key is None or key < best_key:
                best, best_key = (first, second, third), key
    if best is None:
        return None
    mix = {level: 0 for level in LEVEL_NAMES}
    for amount, n in zip(paid, best, strict=True):
        levels = groups.get(amount, [])
        weights = [LEVEL_SHARES.get(level, 0) or 1.0 for level in levels]
        left = n
        for i, level in enumerate(levels):
            take = left if i == len(levels) - 1 else round(n * weights[i] / sum(weights))
            mix[level], left = take, left - take
    return mix


@lru_cache(maxsize=8)
def award_plan(scale: float, seed: int = 2018) -> AwardPlan:
    scale = float(scale)  # 1 and 1.0 draw alike
    policy = policy_in_force("student_aid", date(YEAR, 1, 1))
    amounts = {level: fen(yuan) // 100 for level, yuan in policy["amount_yuan_by_level"].items()}
    window = policy["application_window"]
    opens = date(YEAR, window["opens"]["month"], window["opens"]["day"])
    closes = date(YEAR, window["closes"]["month"], window["closes"]["day"])
    count = scaled(SOURCE_AWARDS, scale)
    budget = round(SOURCE_YUAN * scale)
    mix = _mix(count, budget, amounts)
    if mix is None:  # the scaled funds do not cover even the smallest awards: raise them
        mix = {level: 0 for level in amounts} | {"senior_high": count}
        budget = count * amounts["senior_high"]
    levels = [level for level, n in mix.items() for _ in range(n)]
    random.Random(f"{seed}:student_aid:levels:{scale}").shuffle(levels)
    migrants = round(count * MIGRANT_SHARE)
    return AwardPlan(
        levels=tuple(levels),
        dossier_awards=count - migrants,
        migrant_awards=migrants,
        not_hardship=scaled(REFUSED_NOT_HARDSHIP, scale),
        excluded=scaled(REFUSED_EXCLUDED, scale),
        waitlisted=scaled(WAITLISTED, scale),
        amounts=amounts,
        budget_yuan=budget,
        window=(opens, closes),
    )


@dataclass(frozen=True)
class Application:
    number: int
    on: date
    parent: Worker
    child: Person
    level: str
    school: str
    school_kind: str = "regular"
    aided_elsewhere: bool = False
    migrant: bool = False
    outcome: str = "paid"  # paid | not_hardship | excluded | waitlisted

    def body(self) -> dict:
        return {
            "campaign": YEAR,
            "student_id_number": self.child.id_number,
            "student_name": self.child.name,
            "parent_id_number": self.parent.id_number,
            "education_level": self.level,
            "school": self.school,
            "school_kind": self.school_kind,
            "aided_elsewhere": self.aided_elsewhere,
            "migrant_hardship_certified_by": self.parent.unit if self.migrant else None,
            "applied_on": self.on.isoformat(),
        }


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _child(rng, ids: ChildIds, parent: Worker, level: str) -> Person:
    first_year, last_year = BIRTH_YEARS[level]
    birth = _day(rng, date(first_year, 9, 1), date(last_year, 8, 31))
    name = parent.name[0] + "".join(rng.choices("子涵浩然欣怡梓轩宇航思源佳琪俊杰", k=2))
    return Person(name, ids.id_number(parent.county, birth, rng.random() < 0.5), birth)


@lru_cache(maxsize=8)
def applications(city: City, scale: float) -> tuple[Application, ...]:
    scale = float(scale)  # 1 and 1.0 draw alike
    aid = award_plan(scale, city.seed)
    opens, closes = aid.window
    rng = city.rng("student_aid", "applications", scale)
    apps: list[Application] = []
    for h in dossiers.plan(city, scale).households:
        if h.student is None:
            continue
        eligible = h.tier in ("national", "local")
        apps.append(
            Application(
                number=len(apps),
                on=_day(rng, opens, AWARDS_APPLY_BY),
                parent=h.head,
                child=h.student.person,
                level=h.student.level,
                school=h.student.school,
                outcome="paid" if eligible else "not_hardship",
            )
        )
    extra = aid.migrant_awards + aid.excluded + aid.waitlisted
    parents = city.draw("student_aid", extra, "migrant-parents")
    ids = ChildIds()
    migrant_levels = iter(aid.levels[aid.dossier_awards :])
    for i, parent in enumerate(parents):
        if i < aid.migrant_awards:
            level = next(migrant_levels)
            kind, school, aided, outcome = "regular", rng.choice(SCHOOLS[level]), False, "paid"
            on = _day(rng, opens, AWARDS_APPLY_BY)
        elif i < aid.migrant_awards + aid.excluded:
            kind, school, level, aided = EXCLUSIONS[(i - aid.migrant_awards) % len(EXCLUSIONS)]
            outcome, on = "excluded", _day(rng, opens, closes)
        else:
            level = rng.choice(tuple(SCHOOLS))
            kind, school, aided, outcome = (
                "regular",
                rng.choice(SCHOOLS[level]),
                False,
                "waitlisted",
            )
            on = _day(rng, LATE_FROM, closes)
        apps.append(
            Application(
                number=len(apps),
                on=on,
                parent=parent,
                child=_child(rng, ids, parent, level),
                level=level,
                school=school,
                school_kind=kind,
                aided_elsewhere=aided,
                migrant=True,
                outcome=outcome,
            )
        )
    return tuple(apps)


class StudentAid:
    name = "student_aid"
    priority = 30

    def steps(self, city: City, scale: float):
        aid = award_plan(scale, city.seed)
        opens, closes = aid.window
        out = [
            Step(
                on=CAMPAIGN_DAY,
                key=f"student_aid:campaign:{YEAR}",
                actor=CITY,
                method="POST",
                path="/api/v1/student-aid/campaigns",
                body={
                    "year": YEAR,
                    "opens_on": opens.isoformat(),
                    "closes_on": closes.isoformat(),
                    "budget": money(aid.budget_yuan * 100),
                },
                expect=(201,),
            )
        ]
        for app in applications(city, scale):
            by_portal = app.number % 2 == 1
            if by_portal:
                actor, path = PORTAL, "/api/v1/city/student-aid-applications"
            elif app.migrant:
                actor, path = Staff("grassroots_staff", app.parent.unit), None
            else:
                actor, path = Staff("county_staff", app.parent.county), None
            out.append(
                Step(
                    on=app.on,
                    key=f"student_aid:application:{app.number:05d}",
                    actor=actor,
                    method="POST",
                    path=path or "/api/v1/student-aid/applications",
                    body=app.body(),
                    expect=(201,),
                )
            )
        out += [
            Step(
                APPROVALS_DAY,
                f"student_aid:approvals:{YEAR}",
                CITY,
                "POST",
                f"{CAMPAIGNS}/approvals",
                expect=(200,),
            ),
            Step(
                NOTICE_DAY,
                f"student_aid:notice:{YEAR}",
                CITY,
                "POST",
                f"{CAMPAIGNS}/notice",
                {"published_on": NOTICE_DAY.isoformat()},
                expect=(201,),
            ),
            Step(
                DISBURSE_DAY,
                f"student_aid:disbursement:{YEAR}",
                FINANCE_1,
                "POST",
                f"{CAMPAIGNS}/disbursements",
                {"disbursed_on": DISBURSE_DAY.isoformat()},
                expect=(201,),
                save={f"student_aid_batch_{YEAR}": "batch_id"},
            ),
            Step(
                CONFIRM_DAY,
                f"student_aid:disbursement-confirm:{YEAR}",
                FINANCE_2,
                "POST",
                f"/api/v1/student-aid/disbursements/{{student_aid_batch_{YEAR}}}/confirm",
                expect=(200,),
            ),
        ]
        out.sort(key=lambda s: (s.on, s.wave))  # stable
        return out

    def figures(self, scale: float) -> list[Figure]:
        aid = award_plan(scale)
        apps = applications(City(), scale)
        paid = [a for a in apps if a.outcome == "paid"]
        tiers = {h.head.id_number: h.tier for h in dossiers.plan(City(), scale).households}
        by_path = {
            "national": sum(
                1 for a in paid if not a.migrant and tiers[a.parent.id_number] == "national"
            ),
            "local": sum(1 for a in paid if not a.migrant and tiers[a.parent.id_number] == "local"),
            "migrant": sum(1 for a in paid if a.migrant),
        }
        mix = "、".join(
            f"{LEVEL_NAMES[level]} {aid.levels.count(level)} 名×{aid.amounts[level]} 元"
            for level in LEVEL_NAMES
        )
        figures = [
            Figure(
                "student_aid.awards",
                "金秋助学资助困难职工和困难农民工子女",
                len(paid),
                SOURCE_AWARDS,
                f"在档全总、地方工会档困难职工子女 {aid.dossier_awards} 名，困难农民工子女 "
                f"{aid.migrant_awards} 名",
                "名",
            ),
            Figure(
                "student_aid.total",
                "发放助学款",
                money(aid.total_yuan * 100),
                money(SOURCE_YUAN * 100),
                f"按学段定额：{mix}；标准表金额均为千元整数倍，取预算（筹集 "
                f"{aid.budget_yuan} 元）内标准表能达到的最大总额",
                "元",
            ),
            Figure(
                "student_aid.applications",
                "金秋助学申请",
                len(apps),
                None,
                "工作人员代录与 e·龙岩 平台申请",
                "件",
            ),
            Figure(
                "student_aid.ineligible",
                "不符合条件",
                aid.not_hardship + aid.excluded,
                None,
                "基层工会档（不属资助范围）、军校、免费师范、定向生、已获其他资助",
                "件",
            ),
            Figure(
                "student_aid.waitlisted",
                "预算用尽后候补",
                aid.waitlisted,
                None,
                "8月底申请、预算已用尽的困难农民工子女",
                "件",
            ),
            *(
                Figure(
                    f"student_aid.path.{path}",
                    f"资助途径：{name}",
                    by_path[path],
                    None,
                    "按家长档次或基层工会认定",
                    "名",
                )
                for path, name in (
                    ("national", "全总档"),
                    ("local", "地方工会档"),
                    ("migrant", "困难农民工"),
                )
            ),
            *(
                Figure(
                    f"student_aid.level.{level}",
                    f"资助学段：{name}",
                    aid.levels.count(level),
                    None,
                    "按学段抽取",
                    "名",
                )
                for level, name in LEVEL_NAMES.items()
            ),
        ]
        return figures

    def actual(self, api: Api) -> dict[str, int | str]:
        stats = api.get(f"{CAMPAIGNS}/stats")
        return {
            "student_aid.awards": stats["paid"]["count"],
            "student_aid.total": stats["paid"]["total"],
            "student_aid.applications": stats["applications"],
            "student_aid.ineligible": stats["applications"] - stats["eligible"],
            "student_aid.waitlisted": stats["waitlisted"],
            **{
                f"student_aid.path.{p}": stats["by_path"][p]["paid"]["count"]
                for p in ("national", "local", "migrant")
            },
            **{
                f"student_aid.level.{level}": stats["by_level"][level]["paid"]["count"]
                for level in LEVEL_NAMES
            },
        }

    def charts(self, api: Api) -> list[Chart]:
        stats = api.get(f"{CAMPAIGNS}/stats")
        levels = list(LEVEL_NAMES)
        return [
            Chart(
                "金秋助学资助人数与金额（按学段）",
                [LEVEL_NAMES[level] for level in levels],
                {
                    "人数": [float(stats["by_level"][level]["paid"]["count"]) for level in levels],
                    "金额（万元）": [
                        float(Decimal(stats["by_level"][level]["paid"]["total"]) / 10_000)
                        for level in levels
                    ],
                },
            )
        ]


SCENARIO = StudentAid()
