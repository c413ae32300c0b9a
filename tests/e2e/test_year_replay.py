"""The year replay (`make replay`) end to end: the platform started as the replay starts it (its
own store, ports and virtual host), the year sent through the edge, every figure of the
report read back equal; run again, it sends nothing twice and still reads every figure equal.

Until every part of the year has landed, a tiny year of this test's own rides along: members
enrolled by staff, hospital bills signed with the secrets the partners scenario saved, each
claim read back once the bus has carried it (a 404 "not yet" retried), and the period's
person-times as its figure."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest

from scripts.replay import __main__ as cli
from scripts.replay.city import HOSPITALS, City
from scripts.replay.engine import IN_PROGRESS, load_scenarios
from scripts.replay.model import Api, Figure, Partner, Staff, Step, scaled
from scripts.servers import RabbitVhost

pytestmark = pytest.mark.e2e

SCALE = 0.01
SMALL_YEAR_BILLS = 300  # at SCALE: 3


class SmallYear:
    """Enrolments on 2 January, a bill per member on 10 May, each claim read on the wave after."""

    name = "small_year"
    priority = 9

    def members(self, city: City, scale: float):
        return city.draw("mutual_aid", scaled(SMALL_YEAR_BILLS, scale), "e2e-small-year")

    def steps(self, city: City, scale: float):
        members = self.members(city, scale)
        yield Step(
            on=date(2018, 1, 2),
            key="small:enrol",
            actor=Staff("county_staff", "LY-XL"),
            method="POST",
            path="/api/v1/mutual-aid/enrollments",
            body={
                "period": 11,
                "employer_org": "LY-XL-0042",
                "plan": "A",
                "enrolled_on": "2017-11-20",
                "members": [
                    {"id_number": m.id_number, "name": m.name, "coverage_start": "2018-01-01"}
                    for m in members
                ],
            },
            expect=(201,),
        )
        hospital = "H0004"
        for n, member in enumerate(members):
            yield Step(
                on=date(2018, 5, 10),
                key=f"small:bill:{n}",
                actor=Partner(hospital),
                method="POST",
                path=f"/api/v1/hospitals/{hospital}/discharge-bills",
                body=self.bill(n, member, HOSPITALS[hospital][1]),
                expect=(200, 202),
                save={f"small:claim:{n}": "claim_id"},
            )
        for n in range(len(members)):
            yield Step(
                on=date(2018, 5, 10),
                wave=1,
                key=f"small:claim:{n}",
                actor=Staff("city_admin"),
                method="GET",
                path=f"/api/v1/mutual-aid/claims/{{small:claim:{n}}}",
                expect=(200,),
                retry=(404,),
            )

    @staticmethod
    def bill(n: int, member, level: int) -> dict:
        return {
            "bill_no": f"ZY2018-E2E{n:05d}",
            "patient_id_number": member.id_number,
            "patient_name": member.name,
            "hospital_level": level,
            "admission_date": "2018-05-02",
            "discharge_date": "2018-05-09",
            "diagnoses": ["K80.1"],
            "total_cost": "12000.00",
            "fund_paid": "8000.00",
            "self_pay_in_catalogue": "3000.00",
            "self_pay_out_of_catalogue": "1000.00",
            "single_disease_code": None,
            "submitted_on": "2018-05-10",
            "flags": {"drunk_driving": False, "crime": False, "third_party_liable": False},
        }

    def figures(self, scale: float) -> list[Figure]:
        return [
            Figure(
                "small_year_person_times",
                "测试年度住院补助人次",
                scaled(SMALL_YEAR_BILLS, scale),
                how="每位参保职工一张出院账单，均在保障范围内",
                unit="人次",
            )
        ]

    def actual(self, api: Api) -> dict[str, int | str]:
        return {
            "small_year_person_times": api.get("/api/v1/mutual-aid/periods/11/stats")[
                "person_times"
            ]
        }

    def charts(self, api: Api):
        return []


def year() -> list:
    """Every part of the year that has landed, and the small year while some have not."""
    scenarios = load_scenarios()
    return [*scenarios, SmallYear()] if IN_PROGRESS else scenarios


def test_the_year_replayed_reads_back_every_figure_equal_and_goes_on_after_a_stop(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("GATEWAY_URL", raising=False)
    vhost = RabbitVhost(f"unionhub-test-replay-{uuid.uuid4().hex[:8]}")
    out = tmp_path / "replay"
    try:
        first = cli.run(
            cli.parse(["--scale", str(SCALE), "--out", str(out), "--fresh"]), year(), vhost.name
        )
        printed = capsys.readouterr()
        document = json.loads((out / "2018.json").read_text())
        assert first == 0, printed.out + printed.err
        assert document["all_equal"] and document["figures"]
        assert all(f["equal"] and f["actual"] == f["expected"] for f in document["figures"])
        page = (out / "2018.html").read_text()
        assert "年度工作回放报告" in page and "echarts" in page

        # Run again: the state and the platform's data were kept, so nothing is sent twice.
        again = cli.run(cli.parse(["--scale", str(SCALE), "--out", str(out)]), year(), vhost.name)
        printed = capsys.readouterr()
        assert again == 0, printed.out + printed.err
        assert "sent 0 steps" in printed.err
    finally:
        vhost.delete()
