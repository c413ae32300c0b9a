"""The student-aid policy: the real file's defaults in fen, and errors that name the key."""

from datetime import date
from pathlib import Path

import pytest

from services.student_aid.domain.policy import StudentAidPolicy
from shared.policy import PolicyError, PolicyStore, read_policy

POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policy" / "student_aid"
POLICY_TEXT = (POLICY_DIR / "2018-v1.toml").read_text(encoding="utf-8")
POLICY = StudentAidPolicy.from_document(PolicyStore(POLICY_DIR).by_version("student_aid/2018-v1"))


def parse_variant(tmp_path: Path, old: str, new: str) -> StudentAidPolicy:
    """The real policy file with one edit, so each error test breaks exactly one thing."""
    assert old in POLICY_TEXT, old
    path = tmp_path / "student_aid" / "2018-v1.toml"
    path.parent.mkdir()
    path.write_text(POLICY_TEXT.replace(old, new, 1), encoding="utf-8")
    return StudentAidPolicy.from_document(read_policy(path))


def test_real_policy_carries_the_fujian_2017_amounts_in_fen():
    assert dict(POLICY.amount_by_level) == {
        "undergraduate": 500_000,
        "junior_college": 300_000,
        "vocational": 300_000,
        "senior_high": 200_000,
    }
    assert POLICY.notice_working_days == 5
    assert POLICY.version == "student_aid/2018-v1"
    assert POLICY.digest.startswith("sha256:")


def test_default_window_is_1_july_to_31_august_of_the_campaign_year():
    assert POLICY.default_window(2018) == (date(2018, 7, 1), date(2018, 8, 31))


def test_the_2018_version_is_in_force_for_the_2018_campaign():
    document = PolicyStore(POLICY_DIR).in_force_on(date(2018, 7, 1))
    assert document.version == "student_aid/2018-v1"


def test_amount_of_an_unknown_level_is_refused():
    with pytest.raises(LookupError, match="postgraduate"):
        POLICY.amount("postgraduate")


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ("senior_high = 2000.00\n", "", "amount_yuan_by_level.senior_high", "is missing"),
        ("senior_high = 2000.00", "senior_high = 0", "amount_yuan_by_level.senior_high", "above 0"),
        ("senior_high = 2000.00", 'senior_high = "2000"', "amount_yuan_by_level.senior_high", "number"),
        ("vocational = 3000.00", "vocational = 3000.001", "amount_yuan_by_level.vocational", "two decimals"),
        ("senior_high = 2000.00", "senior_high = 2000.00\npostgraduate = 6000", "amount_yuan_by_level.postgraduate", "must be one of"),
        ("notice_working_days = 5", "notice_working_days = 0", "notice_working_days", "at least 1"),
        ("notice_working_days = 5\n", "", "notice_working_days", "is missing"),
        ("closes = { month = 8, day = 31 }", "closes = { month = 6, day = 30 }", "application_window.closes", "must not come before"),
        ("opens = { month = 7, day = 1 }", "opens = { month = 2, day = 29 }", "application_window.opens.day", "not a date every year"),
        ('version = "student_aid/2018-v1"', 'version = "mutual_aid/2018-v1"', "version", "student_aid/"),
    ],
)  # fmt: skip
def test_a_broken_policy_is_refused_naming_the_key(tmp_path, old, new, key, problem):
    with pytest.raises(PolicyError) as refused:
        parse_variant(tmp_path, old, new)
    assert refused.value.key == key
    assert problem in refused.value.problem
