"""Business dates as production keeps them (ALLOW_BACKDATED_INPUT off): the day we received
a bill; enrolment, grant and intake dates never in the future, in the past only for city_admin
and then audited. The services run in-process with those settings on a broker vhost of their
own, because the end-to-end stack (replay allowed) may serve the same names on the suite's."""

from __future__ import annotations

import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.dossiers.service import DossiersService
from services.mutual_aid import cli
from services.mutual_aid.service import MutualAidService
from services.student_aid.service import StudentAidService
from shared.auth import mint_partner_assertion
from shared.config import load_settings, process_settings
from shared.errors import ApiError
from shared.events import today_shanghai
from shared.mongo import get_database
from shared.runner import nameko_config
from tests.integration.test_dossiers_service import household
from tests.support.client import new_id_number
from tests.support.infra import RabbitVhost
from tests.support.principals import hospital, staff
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

ADMIN_SUB = "it-dates-admin"
CITY_ADMIN = staff("city_admin", "LY", sub=ADMIN_SUB)
COUNTY = staff("county_staff", "LY-XL", sub="it-dates-county")
AUDITOR = staff("auditor", "LY", sub="it-dates-auditor")
FUTURE = "2999-01-01"


@pytest.fixture(scope="module")
def amqp_uri():
    vhost = RabbitVhost()
    yield vhost.create()
    vhost.delete()


@pytest.fixture
def settings(mongo_uri, amqp_uri):
    return load_settings(
        {
            "APP_ENV": "test",
            "ALLOW_BACKDATED_INPUT": "false",
            "MONGO_URI": mongo_uri,
            "AMQP_URI": amqp_uri,
            "EVENT_RETRY_DELAYS_MS": "100,200",
            "OUTBOX_POLL_SECONDS": "0.2",
        }
    )


@pytest.fixture
def cluster(run_service, settings):
    run_service(MutualAidService)
    run_service(DossiersService)
    run_service(StudentAidService)
    with ClusterRpcProxy(
        nameko_config(settings), context_data={"correlation_id": "it-dates"}
    ) as proxy:
        yield proxy


def mutual_aid_audit(settings, target: str) -> list[dict]:
    db = get_database(settings.mongo_uri, settings.database_name("mutual_aid"))
    return list(db["audit_log"].find({"target": target}))


def enrolment(employer: str, id_number: str, **fields) -> dict:
    return {
        "period": 11,
        "employer_org": employer,
        "plan": "A",
        "members": [{"id_number": id_number, "name": "张三明", "coverage_start": "2018-01-01"}],
        **fields,
    }


def new_employer() -> str:
    return f"LY-XL-{uuid.uuid4().int % 10000:04d}"


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


# ---- mutual aid ------------------------------------------------------------------------------


def test_submitted_on_stated_by_the_hospital_is_ignored_for_the_day_we_received_it(cluster):
    id_number = new_id_number()
    employer = new_employer()
    enrolled = cluster.mutual_aid.enroll(
        CITY_ADMIN, enrolment(employer, id_number, enrolled_on="2017-11-20")
    )
    assert enrolled["enrolled"] == 1
    bill = {
        "bill_no": f"ZY-{uuid.uuid4().hex[:12]}",
        "patient_id_number": id_number,
        "patient_name": "张三明",
        "hospital_level": 3,
        "admission_date": "2018-05-02",
        "discharge_date": "2018-05-09",
        "diagnoses": ["K80.1"],
        "total_cost": "9000.00",
        "fund_paid": "4000.00",
        "self_pay_in_catalogue": "3000.00",
        "self_pay_out_of_catalogue": "1000.00",
        "submitted_on": "2018-05-10",
    }
    claim_id = cluster.mutual_aid.submit_bill(hospital(), f"msg_{uuid.uuid4().hex}", bill)[
        "claim_id"
    ]
    claim = wait_until(
        lambda: cluster.mutual_aid.get_claim(CITY_ADMIN, claim_id),
        lambda claim: claim["status"] != "received",
        what=f"claim {claim_id} decided",
    )
    # Received today, years after period 11's deadline (2019-03-31), whatever the bill said.
    assert claim["reason_code"] == "late_submission", claim
    assert any(
        f"submitted {today_shanghai()} after the deadline" in line for line in claim["trace"]
    )


def test_enrolled_on_in_the_future_refused(cluster):
    error = refusal(
        lambda: cluster.mutual_aid.enroll(
            CITY_ADMIN, enrolment(new_employer(), new_id_number(), enrolled_on=FUTURE)
        )
    )
    assert (int(error.status), list(error.fields)) == (422, ["enrolled_on"])


def test_enrolled_on_in_the_past_refused_for_county_staff(cluster, settings):
    employer = new_employer()
    error = refusal(
        lambda: cluster.mutual_aid.enroll(
            COUNTY, enrolment(employer, new_id_number(), enrolled_on="2017-11-20")
        )
    )
    assert (int(error.status), list(error.fields)) == (403, ["enrolled_on"])
    assert mutual_aid_audit(settings, f"enrolment/11/{employer}") == []


def test_enrolled_on_in_the_past_by_city_admin_is_audited(cluster, settings):
    employer = new_employer()
    result = cluster.mutual_aid.enroll(
        CITY_ADMIN, enrolment(employer, new_id_number(), enrolled_on="2017-11-20")
    )
    assert result["enrolled"] == 1
    [entry] = mutual_aid_audit(settings, f"enrolment/11/{employer}")
    assert (entry["action"], entry["by"], entry["role"]) == (
        "backdate",
        ADMIN_SUB,
        "city_admin",
    )
    assert (entry["field"], entry["stated"], entry["received_on"]) == (
        "enrolled_on",
        "2017-11-20",
        today_shanghai().isoformat(),
    )


def test_cli_enrolled_on_in_the_future_refused_and_the_past_audited(
    settings, monkeypatch, tmp_path, capsys
):
    for name, value in (
        ("APP_ENV", "test"),
        ("ALLOW_BACKDATED_INPUT", "false"),
        ("MONGO_URI", settings.mongo_uri),
        ("AMQP_URI", settings.amqp_uri),
    ):
        monkeypatch.setenv(name, value)
    path = tmp_path / "staff.csv"
    path.write_text(f"id_number,name,coverage_start\n{new_id_number()},张三,2018-01-01\n")
    employer = new_employer()
    args = ["enroll", str(path), "--period", "11", "--plan", "A", "--employer-org", employer]

    assert cli.main([*args, "--enrolled-on", FUTURE]) == 2
    assert "enrolled_on" in capsys.readouterr().err

    assert cli.main([*args, "--enrolled-on", "2017-11-20"]) == 0
    [entry] = mutual_aid_audit(settings, f"enrolment/11/{employer}")
    assert (entry["action"], entry["by"], entry["stated"]) == (
        "backdate",
        cli.CLI_USER,
        "2017-11-20",
    )


# ---- dossiers --------------------------------------------------------------------------------


def open_dossier(cluster) -> str:
    # Taken in on the household's 2018 date: the shipped policy knows 低保 lines for 2018-2019.
    proposal = cluster.dossiers.submit(CITY_ADMIN, household())
    confirm = {"tier": proposal["proposed_tier"]}
    cluster.dossiers.confirm(CITY_ADMIN, proposal["dossier_id"], confirm)
    return proposal["dossier_id"]


def funded(cluster) -> str:
    fund = f"IT-{uuid.uuid4().hex[:8]}"
    for year in {2018, today_shanghai().year}:
        cluster.dossiers.set_fund(
            staff("finance", "LY"), {"fund": fund, "year": year, "budget": "10000.00"}
        )
    return fund


def grant(dossier_id: str, fund: str, **fields) -> dict:
    return {"dossier_id": dossier_id, "type": "living", "amount": "100.00", "fund": fund, **fields}


def backdatings(cluster, target: str, field: str) -> list[dict]:
    entries = cluster.dossiers.audit_log(AUDITOR, action="backdate", target=target)
    return [e for e in entries["entries"] if e["detail"]["field"] == field]


def test_granted_on_in_the_future_refused(cluster):
    dossier_id, fund = open_dossier(cluster), funded(cluster)
    error = refusal(
        lambda: cluster.dossiers.grant(CITY_ADMIN, grant(dossier_id, fund, granted_on=FUTURE))
    )
    assert (int(error.status), list(error.fields)) == (422, ["granted_on"])


def test_granted_on_in_the_past_refused_for_county_staff(cluster):
    dossier_id, fund = open_dossier(cluster), funded(cluster)
    error = refusal(
        lambda: cluster.dossiers.grant(COUNTY, grant(dossier_id, fund, granted_on="2018-06-01"))
    )
    assert (int(error.status), list(error.fields)) == (403, ["granted_on"])
    assert backdatings(cluster, dossier_id, "granted_on") == []


def test_granted_on_in_the_past_by_city_admin_is_audited(cluster):
    dossier_id, fund = open_dossier(cluster), funded(cluster)
    result = cluster.dossiers.grant(CITY_ADMIN, grant(dossier_id, fund, granted_on="2018-06-01"))
    assert result["year"] == 2018
    [entry] = backdatings(cluster, dossier_id, "granted_on")
    assert (entry["actor"], entry["role"]) == (ADMIN_SUB, "city_admin")
    assert entry["detail"] == {
        "field": "granted_on",
        "stated": "2018-06-01",
        "received_on": today_shanghai().isoformat(),
    }


def test_intake_date_in_the_future_refused(cluster):
    error = refusal(
        lambda: cluster.dossiers.submit(CITY_ADMIN, household() | {"intake_date": FUTURE})
    )
    assert (int(error.status), list(error.fields)) == (422, ["intake_date"])


def test_intake_date_in_the_past_refused_for_county_staff_and_audited_for_city_admin(cluster):
    error = refusal(lambda: cluster.dossiers.submit(COUNTY, household()))
    assert (int(error.status), list(error.fields)) == (403, ["intake_date"])
    proposal = cluster.dossiers.submit(CITY_ADMIN, household())
    [entry] = backdatings(cluster, proposal["dossier_id"], "intake_date")
    assert entry["detail"]["stated"] == "2018-03-02"


# ---- student aid ----------------------------------------------------------------------------

AID_YEAR = 2000  # this module's campaign (test_student_aid_service counts from 2001)


@pytest.fixture
def aid_campaign(cluster):
    try:
        cluster.student_aid.open_campaign(
            CITY_ADMIN,
            {
                "year": AID_YEAR,
                "opens_on": "2000-07-01",
                "closes_on": "2000-08-31",
                "budget": "1.00",
            },
        )
    except ApiError as exc:
        assert exc.status == 409  # opened by an earlier test of this session
    return AID_YEAR


def aid_application(**fields) -> dict:
    return {
        "campaign": AID_YEAR,
        "student_id_number": new_id_number(),
        "student_name": "张小明",
        "parent_id_number": new_id_number(),
        "education_level": "senior_high",
        "school": "龙岩一中",
        "school_kind": "regular",
        "aided_elsewhere": False,
        "migrant_hardship_certified_by": None,
        "applied_on": "2000-07-15",
        **fields,
    }


def student_aid_audit(settings) -> list[dict]:
    db = get_database(settings.mongo_uri, settings.database_name("student_aid"))
    return list(db["audit_log"].find({"target": f"campaign/{AID_YEAR}"}))


def test_applied_on_in_the_past_refused_for_county_staff(cluster, aid_campaign):
    error = refusal(lambda: cluster.student_aid.submit_application(COUNTY, aid_application()))

    assert (int(error.status), list(error.fields)) == (403, ["applied_on"])


def test_applied_on_in_the_past_by_city_admin_is_audited(cluster, settings, aid_campaign):
    before = len(student_aid_audit(settings))
    decided = cluster.student_aid.submit_application(CITY_ADMIN, aid_application())

    assert decided["applied_on"] == "2000-07-15"
    entries = student_aid_audit(settings)
    assert len(entries) == before + 1
    assert (entries[-1]["action"], entries[-1]["by"], entries[-1]["stated"]) == (
        "backdate",
        ADMIN_SUB,
        "2000-07-15",
    )


def test_portal_applied_on_is_the_day_we_received_it(cluster, aid_campaign):
    platform = mint_partner_assertion(
        {"code": "P0001", "kind": "city_platform", "level": None}, process_settings()
    )
    # Stated inside the 2000 window, received today: outside it.
    error = refusal(
        lambda: cluster.student_aid.submit_portal_application(
            platform, f"msg_{uuid.uuid4().hex}", aid_application()
        )
    )

    assert (int(error.status), error.code) == (422, "outside_window")
