"""The synthetic city of Longyan, seeded and deterministic: counties, units and workers.

Workers are numbered; worker ``i`` is always the same person (county, unit, name, a valid ID
number unique in the city), so scenarios draw people by index without storing 500,000 of
them. Each scenario takes its people from its own range (``POOLS``) so that two scenarios
never enrol the same person by accident; where the year links them (a hardship worker's child
applying for student aid, a dossier holder referred to a fair) a scenario uses the other's
range on purpose and says so.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from shared.identity import make_id_number

YEAR = 2018
WORKERS = 500_000

# County org code -> (name, the 6-digit region code its residents' ID numbers carry).
COUNTIES: dict[str, tuple[str, str]] = {
    "LY-XL": ("新罗区", "350802"),
    "LY-YD": ("永定区", "350803"),
    "LY-CT": ("长汀县", "350821"),
    "LY-SH": ("上杭县", "350823"),
    "LY-WP": ("武平县", "350824"),
    "LY-LC": ("连城县", "350825"),
    "LY-ZP": ("漳平市", "350881"),
}
UNITS_PER_COUNTY = 300  # grassroots units (基层工会) per county: LY-XL-0001 .. LY-XL-0300

# Partner hospitals (code -> (name, level, county)); registered by scenarios/partners.py on
# the year's first day, as a city admin would have.
HOSPITALS: dict[str, tuple[str, int, str]] = {
    "H0001": ("龙岩市第一医院", 3, "LY-XL"),
    "H0002": ("龙岩人民医院", 3, "LY-XL"),
    "H0003": ("龙岩市第二医院", 3, "LY-XL"),
    "H0004": ("永定区医院", 2, "LY-YD"),
    "H0005": ("长汀县医院", 2, "LY-CT"),
    "H0006": ("上杭县医院", 2, "LY-SH"),
    "H0007": ("武平县医院", 2, "LY-WP"),
    "H0008": ("连城县医院", 2, "LY-LC"),
    "H0009": ("漳平市医院", 2, "LY-ZP"),
    "H0010": ("新罗区东城社区卫生服务中心", 1, "LY-XL"),
    "H0011": ("长汀县汀州镇卫生院", 1, "LY-CT"),
    "H0012": ("上杭县临城镇卫生院", 1, "LY-SH"),
}
# The city's citizen platform (e·龙岩): signed student-aid applications and job referrals.
CITY_PLATFORM = ("P0001", "e·龙岩")

# Worker index ranges, one per scenario (half-open).
POOLS: dict[str, range] = {
    "dossiers": range(0, 20_000),  # hardship households (困难职工) and their heads
    "student_aid": range(20_000, 40_000),  # students' parents not otherwise drawn
    "jobs": range(40_000, 140_000),  # job seekers
    "mutual_aid": range(140_000, WORKERS),  # members enrolled in the mutual-aid plan
}

_SURNAMES = "陈林黄张李王吴刘蔡杨郑赖邱罗谢曾廖邓温钟游江卢范童"
_GIVEN = "建华明丽芳伟强敏静军平燕勇杰娟涛霞秀英志红金福春荣水生兰玉梅文海德"


_UNITS = {
    county: [f"{county}-{n:04d}" for n in range(1, UNITS_PER_COUNTY + 1)] for county in COUNTIES
}


@dataclass(frozen=True)
class Worker:
    index: int
    county: str  # org code, e.g. LY-XL
    unit: str  # org code, e.g. LY-XL-0042
    name: str
    id_number: str
    birth: date
    female: bool


@dataclass(frozen=True)
class City:
    seed: int = 2018

    @cached_property
    def counties(self) -> list[str]:
        return list(COUNTIES)

    def units(self, county: str) -> list[str]:
        return _UNITS[county]

    def rng(self, *names: object) -> random.Random:
        """A random stream of its own for each purpose, so one scenario's draws never shift
        another's (adding a figure to jobs leaves mutual aid's year unchanged)."""
        return random.Random(f"{self.seed}:" + ":".join(map(str, names)))

    def worker(self, index: int) -> Worker:
        if not 0 <= index < WORKERS:
            raise IndexError(f"worker {index} is outside the city's {WORKERS}")
        county = self.counties[index % len(COUNTIES)]
        j = index // len(COUNTIES)  # 0 .. 71,428: unique within the county
        birth = date(1963, 1, 1) + timedelta(days=j % 12_000)  # born 1963 .. 1995
        seq3 = (j // 12_000) * 2 + (index % 2)  # odd male, even female; unique per birth date
        rng = self.rng("worker", index)
        name = rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2))))
        unit = _UNITS[county][rng.randrange(UNITS_PER_COUNTY)]
        return Worker(
            index=index,
            county=county,
            unit=unit,
            name=name,
            id_number=make_id_number(COUNTIES[county][1], birth, seq3),
            birth=birth,
            female=seq3 % 2 == 0,
        )

    def draw(self, pool: str, count: int, *purpose: object) -> list[Worker]:
        """``count`` distinct workers of ``pool``, the same ones on every run."""
        people = POOLS[pool]
        if count > len(people):
            raise ValueError(f"pool {pool} holds {len(people)} workers, {count} asked")
        picks = self.rng("draw", pool, *purpose).sample(people, count)
        return [self.worker(i) for i in picks]
