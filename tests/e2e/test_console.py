"""The staff console in a real browser: headless Debian Chromium, driven by Selenium through
Debian's chromedriver, against the stack started as `make run` starts it. Each task is done
the way a person does it (sign in, fill the form, press the button); the gateway is called
directly only to set the scene (a hospital's bill, a member's enrolment). Every page visited
is saved as a screenshot under var/screenshots/."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest

from scripts.devstack import ROOT, free_port
from tests.e2e.conftest import JWT_SECRET
from tests.e2e.test_bill_to_notice import BILLS, bill, decided
from tests.e2e.test_dead_letters import park_in_mutual_aid
from tests.e2e.test_dossiers import new_id_number, open_dossier
from tests.e2e.test_jobs import VALID_UNTIL, credit_code
from tests.e2e.test_student_aid_awards import apply
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="module")
def console(stack):
    port = free_port()
    stack.env["CONSOLE_PORT"] = str(port)
    stack.start_console({"STAFF_JWT_SECRET": JWT_SECRET})
    yield f"http://127.0.0.1:{port}"
    stack.stop_service("console")


@pytest.fixture(scope="module")
def chromium():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Chromium and chromedriver are required: `make browser` installs them")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,1000",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


class Person:
    """One member of staff at the browser: a fresh session each time someone signs in."""

    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    def go(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def sign_in(self, name: str, role: str, org: str) -> None:
        from selenium.webdriver.support.ui import Select

        self.driver.delete_all_cookies()
        self.go("/signin")
        self.field("name").send_keys(name)
        Select(self.field("role")).select_by_value(role)
        self.field("org").send_keys(org)
        self.press("登录")
        assert name in self.text("[data-testid=who]"), self.driver.page_source[:2000]

    def field(self, element_id: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, element_id)

    def fill(self, element_id: str, value: str) -> None:
        element = self.field(element_id)
        element.clear()
        element.send_keys(value)

    def press(self, label: str, within: str = "") -> None:
        from selenium.webdriver.common.by import By

        scope = f"//form[contains(@action, '{within}')]" if within else ""
        from selenium.webdriver.support.ui import WebDriverWait

        button = self.driver.find_element(
            By.XPATH, f"{scope}//button[normalize-space(.)='{label}']"
        )
        page = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        # Every form here answers with a new page: wait for it before reading anything.
        WebDriverWait(self.driver, 30).until(lambda _: is_gone(page))

    def set_date(self, element_id: str, day: str) -> None:
        """A date field (type=date), set as the browser's date picker would: typing into one
        depends on the browser's locale."""
        self.driver.execute_script("arguments[0].value = arguments[1]", self.field(element_id), day)

    def text(self, selector: str) -> str:
        from selenium.common.exceptions import NoSuchElementException
        from selenium.webdriver.common.by import By

        try:
            return self.driver.find_element(By.CSS_SELECTOR, selector).text
        except NoSuchElementException:
            self.shot("failed")
            raise AssertionError(
                f"no {selector} on {self.driver.current_url}:\n{self.body()[:1500]}"
            ) from None

    def wait_for(self, selector: str) -> str:
        """The text of an element a page fetches after first paint (htmx), once it is there."""
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, 30).until(lambda d: d.find_elements("css selector", selector))
        return self.text(selector)

    def body(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.TAG_NAME, "body").text

    def shot(self, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def is_gone(element) -> bool:
    """Whether ``element`` left the document (the page it was on was replaced). Chromium
    sometimes says so with "does not belong to the document" rather than a stale reference."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in (exc.msg or ""):
            return True
        raise
    return False


@pytest.fixture(scope="module")
def person(chromium, console):
    return Person(chromium, console)


@pytest.fixture(scope="module")
def clerk_dossier(person):
    """A county clerk of 新罗区 takes in a household through the intake form and confirms
    the proposed tier; returns the dossier id and the head's ID number."""
    from selenium.webdriver.support.ui import Select

    person.sign_in("陈丽", "county_staff", "LY-XL")
    person.go("/")
    person.shot("dashboard-county-clerk")
    person.go("/dossiers/new")
    head, child = new_id_number(), new_id_number()
    Select(person.field("county")).select_by_value("LY-XL")
    person.fill("org", "LY-XL-0042")
    Select(person.field("category")).select_by_value("低保边缘户")
    person.fill("employment_status", "unemployed")
    person.fill("employer", "龙岩某机械厂")
    person.fill("m0-name", "陈大明")
    person.fill("m0-id", head)
    person.fill("m0-inc", "500.00")
    person.fill("m0-health", "慢性病")
    person.fill("m1-name", "陈小红")
    person.fill("m1-id", child)
    person.fill("m1-inc", "0")
    person.fill("m1-school", "龙岩一中")
    person.fill("monthly_rigid_expenditure", "300.00")
    person.fill("months_below_line", "6")
    person.driver.find_element("css selector", "input[name=causes][value=illness]").click()
    person.fill("address", "新罗区东城街道1号")
    person.fill("phone", "13800000000")
    # The proposed tier and its trace appear as the clerk types (htmx, nothing stored yet).
    previewed = person.wait_for("[data-testid=preview-tier]")
    person.shot("dossier-intake-form")
    person.press("提交并查看建议档级")
    assert person.text("[data-testid=dossier-status]") == "待确认", person.body()[:1500]
    assert person.text("[data-testid=proposed-tier]") == previewed
    dossier_id = re.search(r"/dossiers/([^/?]+)", person.driver.current_url).group(1)
    return {"dossier_id": dossier_id, "head": head}


def test_a_county_clerk_takes_in_a_household_and_confirms_it(person, clerk_dossier):
    person.go(f"/dossiers/{clerk_dossier['dossier_id']}")
    proposed = person.text("[data-testid=proposed-tier]")
    assert proposed in ("全国级", "省市级", "基层级", "不建档")
    assert person.text("[data-testid=trace]").strip(), "the proposal shows its rule trace"
    # The head's ID number is masked until "show full" is asked for (an audited action).
    assert clerk_dossier["head"] not in person.body()
    person.shot("dossier-proposed")
    person.press("确认", within="/confirm")
    assert person.text("[data-testid=dossier-status]") == "在档"
    person.driver.find_element("css selector", "[data-testid=reveal]").click()
    assert person.text("[data-testid=head-id]") == clerk_dossier["head"]
    person.shot("dossier-open-revealed")
    person.go("/dossiers?county=LY-XL&status=open")
    assert clerk_dossier["dossier_id"] in person.text("[data-testid=dossier-list]")
    person.shot("dossier-list")


def test_an_out_of_scope_clerk_cannot_see_the_dossier(person, clerk_dossier):
    person.sign_in("林涛", "county_staff", "LY-SH")
    person.go(f"/dossiers/{clerk_dossier['dossier_id']}")
    assert "未找到" in person.text("[data-testid=error]") or "无权限" in person.text(
        "[data-testid=error]"
    )
    assert clerk_dossier["head"][-4:] not in person.body()
    person.shot("dossier-out-of-scope")
    person.go("/dossiers")
    assert clerk_dossier["dossier_id"] not in person.text("[data-testid=dossier-list]")


@pytest.fixture(scope="module")
def claim_12000(gateway, hospital):
    """A member of a 新罗区 unit, enrolled in plan C, whose stay comes to 12,000 yuan:
    (24,800 − 800) × 50 % = 12,000.00 ≥ the review threshold, so two reviewers must approve."""
    id_number = new_id_number()
    enrolled = gateway.staff(
        "POST",
        "/api/v1/mutual-aid/enrollments",
        {
            "period": 11,
            "employer_org": "LY-XL-0042",
            "plan": "C",
            "enrolled_on": "2017-11-20",
            "members": [
                {
                    "id_number": id_number,
                    "name": "王建国",
                    "coverage_start": "2018-01-01",
                    "bank_account": "6222020200112233445",
                }
            ],
        },
    )
    assert enrolled.status_code == 201 and enrolled.json()["enrolled"] == 1, enrolled.text
    accepted = gateway.signed(
        BILLS,
        bill(id_number, self_pay_in_catalogue="24800.00", total_cost="40000.00"),
        hospital["secret"],
    )
    assert accepted.status_code == 202, accepted.text
    claim = decided(gateway, accepted.json()["claim_id"])
    assert (claim["status"], claim["amount"]) == ("needs_review", "12000.00"), claim
    return claim["claim_id"]


def test_two_reviewers_approve_a_12000_yuan_claim(person, claim_12000):
    person.sign_in("王芳", "reviewer", "LY-XL")
    person.go("/review")
    assert claim_12000 in person.text("[data-testid=review-queue]")
    person.shot("review-queue")
    person.go(f"/claims/{claim_12000}")
    assert person.text("[data-testid=maker-checker]").startswith("0 / 2")
    person.fill("note", "票据齐全，金额无误")
    person.press("提交审核")
    assert person.text("[data-testid=claim-status]") == "待审核"
    assert person.text("[data-testid=maker-checker]").startswith("1 / 2 人核准，已核准：王*")
    person.shot("claim-first-approval")

    # The same reviewer cannot be the second: the API's 409 shows beside the form.
    person.press("提交审核")
    assert person.text("[data-testid=form-error]").startswith("与当前状态冲突")

    person.sign_in("李强", "reviewer", "LY")
    person.go(f"/claims/{claim_12000}")
    person.fill("note", "复核同意")
    person.press("提交审核")
    assert person.text("[data-testid=claim-status]") == "已核准"
    assert person.text("[data-testid=claim-amount]") == "12000.00"
    person.shot("claim-approved")


def test_finance_creates_and_a_second_finance_user_confirms_a_payout(person, claim_12000):
    month = f"{3000 + uuid.uuid4().int % 5000}-06"
    person.sign_in("赵敏", "finance", "LY")
    person.go("/finance")
    person.fill("month", "2018-13")
    person.press("生成或打开批次")
    assert "2018-06" in person.text("#err-month"), "the API's field error sits beside the field"
    person.fill("month", month)
    person.press("生成或打开批次")
    batch_id = person.text("[data-testid=batch-id]")
    assert int(person.text("[data-testid=batch-claims]")) >= 1
    person.shot("payout-created")
    # Its maker may not also check it.
    person.press("确认拨付")
    assert person.text("[data-testid=form-error]").startswith("与当前状态冲突")

    person.sign_in("钱进", "finance", "LY")
    person.go("/finance")
    person.fill("month", month)
    person.press("生成或打开批次")
    assert person.text("[data-testid=batch-id]") == batch_id  # the same batch, nothing added
    person.press("确认拨付")
    assert "已确认拨付" in person.text("[data-testid=flash]")
    person.shot("payout-confirmed")


def test_finance_runs_a_condolence_batch_and_watches_it_pay_to_the_end(person, gateway):
    """The batch runs in one long call; the page polls its progress meanwhile and ends on
    every household gone through, with what was paid beside it."""
    from selenium.webdriver.support.ui import WebDriverWait

    for _ in range(3):
        open_dossier(gateway)
    year = 2030 + uuid.uuid4().int % 60
    fund = {"fund": f"E2E-cond-{year}", "year": year, "budget": "1000000.00"}
    funded = gateway.staff("POST", "/api/v1/assistance-funds", fund, role="finance")
    assert funded.status_code == 200, funded.text
    person.sign_in("赵敏", "finance", "LY")
    person.go("/condolence")
    person.fill("c-festival", f"{year}-spring")
    person.fill("c-fund", "NO-SUCH-FUND")
    person.field("condolence-form").find_element("css selector", "button").click()
    error = WebDriverWait(person.driver, 30).until(lambda d: d.find_elements("id", "err-fund"))
    assert error[0].text, "the API's refusal sits beside the fund field"
    person.fill("c-fund", fund["fund"])
    person.field("condolence-form").find_element("css selector", "button").click()
    WebDriverWait(person.driver, 60).until(
        lambda d: d.find_elements("css selector", "[data-testid=condolence-result]")
    )
    households = int(person.text("[data-testid=condolence-households]"))
    assert households >= 3
    assert int(person.text("[data-testid=condolence-paid-households]")) == households
    done = person.text("[data-testid=condolence-done]")
    assert done.startswith(f"已处理 {households} / {households} 户"), done
    person.shot("condolence-batch-paid")
    # The batch's address is in the URL: coming back to it shows where it stands.
    assert f"festival={year}-spring" in person.driver.current_url
    person.driver.refresh()
    assert person.text("[data-testid=condolence-done]") == done
    bar = person.driver.find_element("css selector", "[data-testid=condolence-progress] progress")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == (str(households),) * 2


def test_an_auditor_finds_both_approvals_in_the_audit_log(person, claim_12000, clerk_dossier):
    person.sign_in("孙审", "auditor", "LY")
    person.go(f"/audit?claim_id={claim_12000}")
    log = person.text("[data-testid=claim-audit]")
    assert "王芳" in log and "李强" in log
    assert log.count("review_approve") == 2
    assert "awaiting_second_review" in log and "approved" in log
    person.shot("audit-claim")
    # The clerk's "show full" of the household's ID numbers is in the dossier audit log.
    person.go(f"/audit?action=view_full_id&actor=陈丽&target={clerk_dossier['dossier_id']}")
    assert clerk_dossier["dossier_id"] in person.text("[data-testid=audit-log]")
    person.shot("audit-log")


def test_an_auditor_filters_the_audit_log_by_an_actor_and_sees_only_theirs(
    person, gateway, clerk_dossier
):
    dossier_id = clerk_dossier["dossier_id"]
    chosen, other = (f"审计对象-{uuid.uuid4().hex[:6]}" for _ in range(2))
    for sub in (chosen, other, chosen):
        revealed = gateway.staff("GET", f"/api/v1/dossiers/{dossier_id}?reveal=ids", sub=sub)
        assert revealed.status_code == 200, revealed.text
    person.sign_in("孙审", "auditor", "LY")
    person.go(f"/audit?target={dossier_id}")
    assert {chosen, other} <= set(audit_actors(person))
    person.fill("a-actor", chosen)
    person.fill("a-action", "view_full_id")
    person.press("查询")
    assert audit_actors(person) == [chosen, chosen]
    # The filters are in the URL: the page can be bookmarked, reloaded or sent on.
    assert (
        "actor=" in person.driver.current_url and "action=view_full_id" in person.driver.current_url
    )
    person.shot("audit-filtered-by-actor")
    person.driver.refresh()
    assert audit_actors(person) == [chosen, chosen]
    # A day range the API refuses shows its message beside the field it names.
    person.go(f"/audit?actor={chosen}&from=2018-06-02&to=2018-06-01")
    assert person.text("#err-to"), "the API's 400 names the field `to`"


def audit_actors(person) -> list[str]:
    rows = person.driver.find_elements(
        "css selector", "[data-testid=audit-log] tbody tr td:nth-child(2)"
    )
    return [row.text for row in rows]


def test_a_clerk_sees_a_seekers_matches_with_reasons_and_records_intent_and_hire(person, gateway):
    xl = {"role": "county_staff", "org": "LY-XL", "sub": "console-jobs"}
    employer = gateway.staff(
        "POST",
        "/api/v1/jobs/employers",
        {"credit_code": credit_code(), "name": "龙岩机械厂", "county": "LY-XL", "industry": "制造"},
        **xl,
    )
    assert employer.status_code == 201, employer.text
    vacancy = gateway.staff(
        "POST",
        "/api/v1/jobs/vacancies",
        {
            "employer_id": employer.json()["employer_id"], "title": "电焊工",
            "occupation": "电焊工", "headcount": 1, "salary_min": "3000.00",
            "salary_max": "4500.00", "education": "junior_high", "experience_years": 1,
            "county": "LY-XL", "skills": ["电焊", "识图"], "migrant_friendly": True,
            "valid_until": VALID_UNTIL, "fair_id": None,
        },
        **xl,
    )  # fmt: skip
    assert vacancy.status_code == 201, vacancy.text
    vacancy_id = vacancy.json()["vacancy_id"]
    seeker = gateway.staff(
        "POST",
        "/api/v1/jobs/seekers",
        {
            "id_number": new_id_number(), "name": "张伟", "phone": "13800000001",
            "skills": ["电焊", "识图"], "desired_occupation": "电焊工", "county": "LY-XL",
            "willing_to_relocate": False, "min_salary": "3000.00", "education": "senior_high",
            "experience_years": 2, "migrant_worker": True, "graduating_student": False,
        },
        **xl,
    )  # fmt: skip
    assert seeker.status_code == 201, seeker.text
    seeker_id = seeker.json()["seeker_id"]
    wait_until(
        lambda: gateway.staff("GET", f"/api/v1/jobs/seekers/{seeker_id}/matches", **xl).json(),
        lambda rows: vacancy_id in [r["id"] for r in rows],
        timeout=10,
        what="the vacancy among the seeker's matches",
    )

    from selenium.webdriver.support.ui import Select

    person.sign_in("陈丽", "county_staff", "LY-XL")
    person.go("/jobs")
    Select(person.field("j-kind")).select_by_value("seekers")
    person.fill("j-id", seeker_id)
    person.press("查看（含匹配及理由）")
    matches = person.text("[data-testid=matches]")
    assert vacancy_id in matches and "skills 2/2" in matches
    person.shot("jobs-seeker-matches")
    person.go("/jobs")
    person.fill("i-seeker", seeker_id)
    person.fill("i-vacancy", vacancy_id)
    person.press("登记", within="/jobs/intents")
    intent_id = person.text("[data-testid=flash]").split()[-1]
    person.fill("h-intent", intent_id)
    person.press("确认", within="/jobs/hire")
    assert "hire" in person.text("[data-testid=flash]")
    person.go(f"/jobs/vacancies/{vacancy_id}")
    assert "filled" in person.body()
    person.shot("jobs-vacancy-filled")


def test_operations_page_shows_health_and_dead_letters(person):
    person.sign_in("周管", "city_admin", "LY")
    person.go("/operations")
    assert "正常" in person.text("[data-testid=health-status]")
    assert person.driver.find_element("css selector", "[data-testid=dead-letters]")
    person.shot("operations")
    person.go("/?year=2018")
    assert "在档" in person.wait_for("[data-testid=households]")  # fetched after first paint
    person.shot("dashboard-city-admin")
    person.go("/student-aid?year=2018")
    person.shot("student-aid")


def test_the_dashboard_charts_the_api_figures_with_the_numbers_beside_them(person, gateway):
    from selenium.webdriver.support.ui import WebDriverWait

    open_dossier(gateway)  # at least one household to chart
    person.sign_in("周管", "city_admin", "LY")
    person.go("/?year=2018")
    person.wait_for("[data-testid=households]")
    person.wait_for("[data-testid=jobs-months]")
    # Every chart on the page is drawn (ECharts renders SVG), each beside its table.
    WebDriverWait(person.driver, 30).until(
        lambda d: all(
            chart.find_elements("css selector", "svg")
            for chart in d.find_elements("css selector", ".chart")
        )
    )
    person.shot("dashboard-charts")
    drawn = {
        chart.get_attribute("aria-label")
        for chart in person.driver.find_elements("css selector", ".chart")
        if chart.find_elements("css selector", "svg")
    }
    assert {
        "各县在档户数按档级",
        "每月招聘会场次、就业意向和录用人数",
        "各县互助人次与核准金额",
    } <= drawn
    # The numbers are the API's own: households by county and tier, claims by month.
    households = gateway.staff("GET", "/api/v1/dossiers/stats").json()
    assert f"在档 {households['open']} 户" in person.text("[data-testid=households]")
    stats = gateway.staff("GET", "/api/v1/mutual-aid/periods/11/stats").json()
    rows = person.text("[data-testid=mutual-aid-months]")
    for month, figures in stats["by_month"].items():
        assert f"{month} {figures['person_times']} {figures['approved_total']}" in rows


AID_YEAR = 2015  # a campaign year of this file's own (other files hold 2014, 2016, 2017, 2019)


def test_the_student_aid_round_approvals_notice_and_disbursement_by_two_finance_users(
    person, gateway
):
    """The city runs the approvals and publishes the notice; after it ends, one finance user
    makes the disbursement batch and another confirms it (the maker may not)."""
    opened = gateway.staff(
        "POST", "/api/v1/student-aid/campaigns", {"year": AID_YEAR, "budget": "7000.00"}
    )
    assert opened.status_code == 201, opened.text
    unit = "LY-XL-0042"
    awarded = [
        apply(gateway, unit, 1, "undergraduate", "张小明", AID_YEAR),
        apply(gateway, unit, 2, "senior_high", "李华", AID_YEAR),
    ]
    waiting = apply(gateway, unit, 3, "undergraduate", "王小五", AID_YEAR)

    person.sign_in("周管", "city_admin", "LY")
    person.go(f"/student-aid?year={AID_YEAR}")
    person.press("运行核准")
    assert "approvals" in person.text("[data-testid=flash]")
    assert "核准 2，候补 1" in person.text("[data-testid=aid-stats]")
    person.shot("student-aid-approved")
    person.set_date("published_on", f"{AID_YEAR}-09-28")
    person.press("发布")
    notice = person.text("[data-testid=aid-notice]")
    assert "张*明" in notice and "李*" in notice and "王*五" not in notice  # names masked
    assert "5000.00" in notice and "2000.00" in notice
    person.shot("student-aid-notice")

    person.sign_in("赵敏", "finance", "LY")
    person.go(f"/student-aid?year={AID_YEAR}")
    person.set_date("disbursed_on", f"{AID_YEAR}-10-30")
    person.press("生成")
    batch_id = person.text("[data-testid=disbursement-id]")
    assert person.text("[data-testid=disbursement-awards]") == "2"
    assert person.text("[data-testid=disbursement-total]") == "7000.00"
    person.press("确认发放")  # the maker may not also check it
    assert person.text("[data-testid=form-error]").startswith("与当前状态冲突")
    person.shot("student-aid-disbursement-maker-refused")

    person.sign_in("钱进", "finance", "LY")
    person.go(f"/student-aid?year={AID_YEAR}")
    person.set_date("disbursed_on", f"{AID_YEAR}-10-30")
    person.press("生成")  # the same batch, nothing added
    assert person.text("[data-testid=disbursement-id]") == batch_id
    person.press("确认发放")
    assert "已确认发放" in person.text("[data-testid=flash]")
    person.shot("student-aid-disbursement-confirmed")
    statuses = [
        gateway.staff("GET", f"/api/v1/student-aid/applications/{a}").json()["status"]
        for a in (*awarded, waiting)
    ]
    assert statuses == ["paid", "paid", "waitlisted"]


def test_a_city_admin_replays_a_dead_letter_from_the_operations_page(person, gateway, stack):
    event_id = park_in_mutual_aid(stack.env["AMQP_URI"])

    def parked():
        listed = gateway.staff("GET", "/api/v1/dead-letters", params={"service": "mutual_aid"})
        return [d for d in listed.json()["dead_letters"] if d["event_id"] == event_id]

    [letter] = wait_until(parked, what=f"event {event_id} parked in mutual_aid")
    person.sign_in("周管", "city_admin", "LY")
    person.go("/operations?service=mutual_aid")
    assert "dossier_established" in person.text("[data-testid=dead-letters]")
    person.shot("operations-dead-letter-parked")
    person.press("重放", within=f"/mutual_aid/{letter['id']}/replay")
    assert "replayed" in person.text("[data-testid=flash]")
    person.go("/operations?service=mutual_aid&status=replayed")
    assert "已重放（周管）" in person.text("[data-testid=dead-letters]")
    person.shot("operations-dead-letter-replayed")
    history = gateway.staff(
        "GET", "/api/v1/dead-letters", params={"service": "mutual_aid", "status": "all"}
    ).json()["dead_letters"]
    assert [(d["status"], d["replayed_by"]) for d in history if d["id"] == letter["id"]] == [
        ("replayed", "周管")
    ]


def test_the_dossier_list_is_paged_by_the_api(gateway, clerk_dossier):
    """The console's list pages take 26 dossiers at a time (limit, offset), never 500."""
    everything = gateway.staff("GET", "/api/v1/dossiers?limit=500")
    assert everything.status_code == 200, everything.text
    ids = [d["dossier_id"] for d in everything.json()["dossiers"]]
    assert clerk_dossier["dossier_id"] in ids and ids == sorted(ids)
    first = gateway.staff("GET", "/api/v1/dossiers?limit=1")
    second = gateway.staff("GET", "/api/v1/dossiers?limit=1&offset=1")
    assert [d["dossier_id"] for d in first.json()["dossiers"]] == ids[:1]
    assert [d["dossier_id"] for d in second.json()["dossiers"]] == ids[1:2]
    for bad in ("limit=0", "limit=501", "offset=-1"):
        refused = gateway.staff("GET", f"/api/v1/dossiers?{bad}")
        assert refused.status_code == 400, bad
        assert set(refused.json()["error"]["fields"]) == {bad.split("=")[0]}


def test_signing_out_forgets_the_session(person):
    person.sign_in("周管", "city_admin", "LY")
    person.press("退出登录")
    person.go("/review")
    assert "/signin" in person.driver.current_url
