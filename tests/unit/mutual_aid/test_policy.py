"""Policy loading: the real mutual-aid file, versions in force, and errors that name the key."""

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.mutual_aid.domain.policy import MutualAidPolicy, icd10_category
from shared.policy import PolicyError, PolicyStore, load_policy_document, read_policy

POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policy" / "mutual_aid"
POLICY_FILE = POLICY_DIR / "2018-v1.toml"
POLICY_TEXT = POLICY_FILE.read_text(encoding="utf-8")
POLICY = MutualAidPolicy.from_document(PolicyStore(POLICY_DIR).by_version("mutual_aid/2018-v1"))


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def variant(tmp_path: Path, old: str, new: str) -> Path:
    """The real policy file with one edit, so each error test breaks exactly one thing."""
    assert old in POLICY_TEXT, old
    return write(tmp_path / "mutual_aid", "2018-v1.toml", POLICY_TEXT.replace(old, new, 1))


def parse_variant(tmp_path: Path, old: str, new: str) -> MutualAidPolicy:
    return MutualAidPolicy.from_document(read_policy(variant(tmp_path, old, new)))


def minimal(version: str, effective_from: str) -> str:
    return f'version = "{version}"\neffective_from = {effective_from}\n'


# The real file carries the DOMAIN.md §2 defaults.


def test_real_policy_carries_domain_defaults_in_fen():
    assert POLICY.version == "mutual_aid/2018-v1"
    assert dict(POLICY.period_years) == {11: 2018, 12: 2019}
    assert POLICY.waiting_period_days == 90
    assert POLICY.review_threshold == 1_000_000
    assert dict(POLICY.deductible_by_hospital_level) == {1: 30_000, 2: 50_000, 3: 80_000}
    plans = {
        code: (p.contribution, p.ratio, p.hardship_ratio, p.period_cap)
        for code, p in POLICY.plans.items()
    }
    assert plans == {
        "A": (3_600, Decimal("0.30"), Decimal("0.40"), 1_000_000),
        "B": (6_000, Decimal("0.40"), Decimal("0.50"), 2_000_000),
        "C": (10_000, Decimal("0.50"), Decimal("0.60"), 3_000_000),
    }
    tables = {c: dict(d.amount_by_plan) for c, d in POLICY.single_diseases.items()}
    assert tables == {
        "K35": {"A": 60_000, "B": 80_000, "C": 100_000},
        "O82": {"A": 80_000, "B": 100_000, "C": 120_000},
        "H25": {"A": 50_000, "B": 70_000, "C": 90_000},
    }
    exclusions = [
        (e.reason_code, e.icd10_from, e.icd10_to, e.only_with_liable_third_party)
        for e in POLICY.exclusions
    ]
    assert exclusions == [
        ("excluded_self_harm", "X60", "X84", False),
        ("excluded_cosmetic", "Z41", "Z41", False),
        ("excluded_third_party", "V01", "V99", True),
    ]


def test_ratios_are_exact_decimals_never_floats():
    for plan in POLICY.plans.values():
        assert type(plan.ratio) is Decimal
        assert type(plan.hardship_ratio) is Decimal


def test_digest_is_sha256_of_the_file_bytes():
    expected = "sha256:" + hashlib.sha256(POLICY_FILE.read_bytes()).hexdigest()
    assert POLICY.digest == expected
    assert read_policy(POLICY_FILE).digest == expected


def test_load_policy_document_returns_the_parsed_content():
    content = load_policy_document(POLICY_FILE)
    assert content["version"] == "mutual_aid/2018-v1"
    assert content["effective_from"] == date(2017, 11, 1)
    assert content["plans"]["A"]["ratio"] == Decimal("0.30")


def test_period_for_date_is_the_calendar_year():
    assert POLICY.period_for_date(date(2018, 1, 1)) == 11
    assert POLICY.period_for_date(date(2018, 12, 31)) == 11
    assert POLICY.period_for_date(date(2019, 1, 1)) == 12
    assert POLICY.period_for_date(date(2020, 1, 1)) is None


def test_enrolment_window_runs_from_november_before_to_november_of_the_period():
    assert POLICY.enrolment_window(11) == (date(2017, 11, 1), date(2018, 11, 30))
    assert POLICY.enrolment_window(12) == (date(2018, 11, 1), date(2019, 11, 30))


def test_submission_deadline_is_31_march_of_the_following_year():
    assert POLICY.submission_deadline(11) == date(2019, 3, 31)


def test_unknown_plan_period_and_hospital_level_are_lookup_errors():
    with pytest.raises(LookupError, match="plan 'D'"):
        POLICY.plan("D")
    with pytest.raises(LookupError, match="period 13"):
        POLICY.enrolment_window(13)
    with pytest.raises(LookupError, match="hospital level 4"):
        POLICY.deductible(4)


def test_single_disease_matches_by_icd10_category():
    assert POLICY.single_disease("K35.8").category == "K35"
    assert POLICY.single_disease("K80") is None
    assert POLICY.single_disease(None) is None


@pytest.mark.parametrize(("code", "category"), [("X84.9", "X84"), ("k35.8", "K35"), ("Z41", "Z41")])
def test_icd10_category_is_the_first_three_characters(code, category):
    assert icd10_category(code) == category


def test_icd10_category_refuses_what_is_not_a_code():
    with pytest.raises(ValueError, match="not an ICD-10 code"):
        icd10_category("appendix")


# Versions in force.


def test_store_lists_versions_oldest_first(tmp_path):
    directory = tmp_path / "mutual_aid"
    write(directory, "b.toml", minimal("mutual_aid/2019-v1", "2018-11-01"))
    write(directory, "a.toml", minimal("mutual_aid/2018-v1", "2017-11-01"))
    store = PolicyStore(directory)
    assert [d.version for d in store.versions()] == ["mutual_aid/2018-v1", "mutual_aid/2019-v1"]


@pytest.mark.parametrize(
    ("day", "version"),
    [
        (date(2017, 11, 1), "mutual_aid/2018-v1"),
        (date(2018, 10, 31), "mutual_aid/2018-v1"),
        (date(2018, 11, 1), "mutual_aid/2019-v1"),
        (date(2030, 1, 1), "mutual_aid/2019-v1"),
    ],
)
def test_version_in_force_is_the_latest_effective_on_or_before_the_day(tmp_path, day, version):
    directory = tmp_path / "mutual_aid"
    write(directory, "2018-v1.toml", minimal("mutual_aid/2018-v1", "2017-11-01"))
    write(directory, "2019-v1.toml", minimal("mutual_aid/2019-v1", "2018-11-01"))
    assert PolicyStore(directory).in_force_on(day).version == version


def test_no_version_in_force_before_the_first(tmp_path):
    directory = tmp_path / "mutual_aid"
    write(directory, "2018-v1.toml", minimal("mutual_aid/2018-v1", "2017-11-01"))
    with pytest.raises(PolicyError, match="no version in force on 2017-10-31"):
        PolicyStore(directory).in_force_on(date(2017, 10, 31))


def test_policy_version_is_found_by_name_and_an_unknown_one_refused(tmp_path):
    directory = tmp_path / "mutual_aid"
    write(directory, "2018-v1.toml", minimal("mutual_aid/2018-v1", "2017-11-01"))
    store = PolicyStore.for_service(tmp_path, "mutual_aid")
    assert store.by_version("mutual_aid/2018-v1").effective_from == date(2017, 11, 1)
    with pytest.raises(PolicyError, match="no version 'mutual_aid/2017-v1'"):
        store.by_version("mutual_aid/2017-v1")


def test_real_policy_is_in_force_for_period_11():
    store = PolicyStore(POLICY_DIR)
    assert store.in_force_on(date(2017, 11, 20)).version == "mutual_aid/2018-v1"


# Errors name the file and the key.


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("effective_from = 2017-11-01\n", "version", "is missing"),
        ('version = "mutual_aid/2018-v1"\n', "effective_from", "is missing"),
        (minimal("2018-v1", "2017-11-01"), "version", "<service>/<name>"),
        (minimal("mutual_aid/2018-v1", '"2017-11-01"'), "effective_from", "TOML date"),
        (minimal("mutual_aid/2018-v1", "2017-11-01T00:00:00"), "effective_from", "TOML date"),
    ],
)
def test_document_errors_name_file_and_key(tmp_path, text, key, problem):
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(PolicyError, match=problem) as raised:
        read_policy(path)
    assert raised.value.source == str(path)
    assert raised.value.key == key
    assert str(path) in str(raised.value) and key in str(raised.value)


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path, "bad.toml", "version = \n")
    with pytest.raises(PolicyError, match="not valid TOML") as raised:
        read_policy(path)
    assert str(path) in str(raised.value)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(PolicyError, match="cannot be read"):
        read_policy(tmp_path / "absent.toml")


def test_store_refuses_a_version_of_another_service(tmp_path):
    write(tmp_path / "mutual_aid", "x.toml", minimal("dossiers/2018-v1", "2017-11-01"))
    with pytest.raises(PolicyError, match='must start with "mutual_aid/"'):
        PolicyStore(tmp_path / "mutual_aid")


def test_store_refuses_two_files_with_one_version(tmp_path):
    write(tmp_path / "mutual_aid", "a.toml", minimal("mutual_aid/v1", "2017-11-01"))
    write(tmp_path / "mutual_aid", "b.toml", minimal("mutual_aid/v1", "2018-11-01"))
    with pytest.raises(PolicyError, match="also used by"):
        PolicyStore(tmp_path / "mutual_aid")


def test_store_refuses_two_versions_starting_the_same_day(tmp_path):
    write(tmp_path / "mutual_aid", "a.toml", minimal("mutual_aid/v1", "2017-11-01"))
    write(tmp_path / "mutual_aid", "b.toml", minimal("mutual_aid/v2", "2017-11-01"))
    with pytest.raises(PolicyError, match="effective_from: 2017-11-01 is also the start"):
        PolicyStore(tmp_path / "mutual_aid")


def test_store_refuses_an_empty_or_missing_directory(tmp_path):
    (tmp_path / "mutual_aid").mkdir()
    with pytest.raises(PolicyError, match="holds no policy file"):
        PolicyStore(tmp_path / "mutual_aid")
    with pytest.raises(PolicyError, match="is not a policy directory"):
        PolicyStore(tmp_path / "jobs")


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        pytest.param(
            "hardship_ratio = 0.50\n", "", "plans.B.hardship_ratio", "is missing", id="missing_key"
        ),
        pytest.param(
            "ratio = 0.30", "ratio = 1.30", "plans.A.ratio", "between 0 and 1", id="ratio_above_one"
        ),
        pytest.param(
            "hardship_ratio = 0.40",
            "hardship_ratio = 0.04",
            "plans.A.hardship_ratio",
            "below",
            id="hardship_ratio_below_ratio",
        ),
        pytest.param(
            "contribution_yuan = 36",
            "contribution_yuan = 36.005",
            "plans.A.contribution_yuan",
            "two decimals",
            id="yuan_with_three_decimals",
        ),
        pytest.param(
            "contribution_yuan = 36",
            'contribution_yuan = "36"',
            "plans.A.contribution_yuan",
            "number",
            id="yuan_as_string",
        ),
        pytest.param(
            "waiting_period_days = 90",
            "waiting_period_days = true",
            "waiting_period_days",
            "whole number",
            id="bool_for_number",
        ),
        pytest.param(
            "waiting_period_days = 90",
            "waiting_period_days = -1",
            "waiting_period_days",
            "at least 0",
            id="negative_days",
        ),
        pytest.param(
            "12 = 2019", "12 = 2020", "periods", "consecutive", id="periods_not_consecutive"
        ),
        pytest.param(
            "3 = 800",
            "three = 800",
            "deductible_yuan_by_hospital_level.three",
            "hospital level",
            id="hospital_level_not_a_number",
        ),
        pytest.param(
            "only_with_liable_third_party = true",
            "only_with_liable_third_pary = true",
            "exclusions[2].only_with_liable_third_pary",
            "not a known key",
            id="misspelt_optional_key",
        ),
        pytest.param(
            'reason_code = "excluded_cosmetic"',
            'reason_code = "cosmetic"',
            "exclusions[1].reason_code",
            "one of",
            id="reason_code_outside_api",
        ),
        pytest.param(
            'icd10_from = "X60"',
            'icd10_from = "X6"',
            "exclusions[0].icd10_from",
            "ICD-10 category",
            id="icd10_range_not_a_category",
        ),
        pytest.param(
            'icd10_to = "X84"',
            'icd10_to = "X50"',
            "exclusions[0].icd10_to",
            "before icd10_from",
            id="icd10_range_reversed",
        ),
        pytest.param(
            "A = 600, B = 800, C = 1000",
            "A = 600, B = 800",
            "single_disease.K35.amount_yuan_by_plan.C",
            "every plan",
            id="single_disease_without_every_plan",
        ),
        pytest.param(
            "month = 3, day = 31",
            "month = 2, day = 29",
            "submission_deadline.day",
            "every year",
            id="deadline_on_29_february",
        ),
        pytest.param(
            "closes = { year_offset = 0, month = 11",
            "closes = { year_offset = -1, month = 10",
            "enrolment_window.closes",
            "after opens",
            id="enrolment_closing_before_opening",
        ),
        pytest.param(
            'version = "mutual_aid/2018-v1"',
            'version = "dossiers/2018-v1"',
            "version",
            "mutual_aid/",
            id="version_of_another_service",
        ),
        pytest.param(
            "review_threshold_yuan = 10000\n",
            "review_threshold_yuan = 10000\nreview_treshold = 1\n",
            "review_treshold",
            "not a known key",
            id="misspelt_top_level_key",
        ),
    ],
)
def test_mutual_aid_policy_errors_name_file_and_key(tmp_path, old, new, key, problem):
    with pytest.raises(PolicyError, match=problem) as raised:
        parse_variant(tmp_path, old, new)
    assert raised.value.key == key
    assert raised.value.source.endswith("2018-v1.toml")
    assert f"2018-v1.toml: {key}: " in str(raised.value)


# The file's schema: unknown keys are refused and wrong types named, at any depth, by key path.


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("ratio = 0.30\n", "ratio = 0.30\nratoi = 0.3\n", "plans.A.ratoi"),
        ("opens = {", "opend = 1\nopens = {", "enrolment_window.opend"),
        ("month = 3, day = 31", "month = 3, day = 31, hour = 9", "submission_deadline.hour"),
        (
            'name = "acute appendicitis (阑尾炎)"',
            'name = "acute appendicitis (阑尾炎)"\nnote = "x"',
            "single_disease.K35.note",
        ),
        (
            "A = 600, B = 800, C = 1000",
            "A = 600, B = 800, C = 1000, D = 5",
            "single_disease.K35.amount_yuan_by_plan.D",
        ),
    ],
)
def test_policy_unknown_key_refused_naming_its_path(tmp_path, old, new, key):
    with pytest.raises(PolicyError) as raised:
        parse_variant(tmp_path, old, new)
    assert raised.value.key == key
    assert "not a known" in raised.value.problem


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("ratio = 0.30", 'ratio = "0.30"', "plans.A.ratio: must be a number"),
        (
            "waiting_period_days = 90",
            "waiting_period_days = 90.0",
            "waiting_period_days: must be a whole number",
        ),
        ("2 = 500", '2 = "500"', "deductible_yuan_by_hospital_level.2: must be a number"),
        (
            'icd10_from = "Z41"',
            "icd10_from = 41",
            "exclusions[1].icd10_from: must be a non-empty string",
        ),
        (
            "only_with_liable_third_party = true",
            'only_with_liable_third_party = "yes"',
            "exclusions[2].only_with_liable_third_party: must be true or false",
        ),
        (
            "[enrolment_window]\nopens = { year_offset = -1, month = 11, day = 1 }",
            "[enrolment_window]\nopens = 11",
            "enrolment_window.opens: must be a table",
        ),
    ],
)
def test_policy_wrong_type_refused_naming_its_path(tmp_path, old, new, message):
    with pytest.raises(PolicyError) as raised:
        parse_variant(tmp_path, old, new)
    assert f"2018-v1.toml: {message}" in str(raised.value)
