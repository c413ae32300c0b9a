"""The org tree: membership by path segments, unknown codes fail closed."""

from __future__ import annotations

import re

import pytest

from shared import orgs
from shared.orgs import OrgTree, load_tree

COUNTIES = ("LY-XL", "LY-YD", "LY-CT", "LY-SH", "LY-WP", "LY-LC", "LY-ZP")
SAMPLE_CODES = (
    "LY",
    "LY-XL",
    "LY-XL-0042",
    "LY-XL-00421",
    "LY-XL-042",
    "LY-XLX",
    "LY-XLX-0042",
    "LY-YD",
    "LY-YD-0042",
    "LY-ZZ",
    "LY-ZZ-0001",
    "XX",
    "XX-XL",
    "LY-XL-٠٠٤٢",  # Arabic-Indic digits are digits to str.isdigit, not to us
    "",
)


def test_the_configured_tree_is_the_city_and_its_seven_counties():
    tree = load_tree()

    assert tree.city == "LY"
    assert tuple(tree.counties) == COUNTIES
    assert tree.counties["LY-ZP"] == "漳平市"


@pytest.mark.parametrize(
    ("code", "known"),
    [
        ("LY", True),
        ("LY-XL", True),
        ("LY-ZP-0001", True),
        ("LY-ZZ", False),
        ("XX", False),
        ("LY-XL-42", False),
        ("LY-XL-00421", False),
        ("LY-XL-ABCD", False),
        ("LY-XL-٠٠٤٢", False),
        ("LY-XL-0042-0001", False),
        ("ly-xl", False),
        ("", False),
        (None, False),
    ],
)
def test_only_the_root_counties_and_their_units_are_known(code, known):
    assert orgs.is_known(code) is known


@pytest.mark.parametrize(
    ("code", "county"),
    [("LY-XL-0042", "LY-XL"), ("LY-XL", "LY-XL"), ("LY", None), ("LY-ZZ-0042", None), ("XX", None)],
)
def test_county_of_a_unit_is_its_parent_and_of_the_root_none(code, county):
    assert orgs.county_of(code) == county


def test_only_the_city_root_is_the_city_root():
    assert orgs.is_city_root("LY")
    assert not orgs.is_city_root("LY-XL")
    assert not orgs.is_city_root("XX")


@pytest.mark.parametrize(
    ("ancestor", "code", "inside"),
    [
        ("LY", "LY", True),
        ("LY", "LY-XL", True),
        ("LY", "LY-XL-0042", True),
        ("LY-XL", "LY-XL", True),
        ("LY-XL", "LY-XL-0042", True),
        ("LY-XL", "LY-XLX", False),
        ("LY-XL", "LY-YD-0042", False),
        ("LY-XL", "LY", False),
        ("LY-XL-0042", "LY-XL", False),
        ("LY-XL-0042", "LY-XL-00421", False),
        ("LY", "LY-ZZ", False),
        ("LY", "LY-ZZ-0001", False),
        ("LY-ZZ", "LY-ZZ", False),
        ("XX", "XX", False),
        ("", "LY", False),
        ("LY", "", False),
    ],
)
def test_contains_compares_path_segments_and_unknown_codes_are_outside(ancestor, code, inside):
    assert orgs.contains(ancestor, code) is inside


def _matches(query: dict, code: str) -> bool:
    """What the scope filter selects, evaluated the way MongoDB reads these three shapes."""
    if not query:
        return True
    condition = query["org"]
    if isinstance(condition, str):
        return code == condition
    if "$in" in condition:
        return code in condition["$in"]
    return re.search(condition["$regex"], code) is not None


@pytest.mark.parametrize("ancestor", ["LY-XL", "LY-YD", "LY-XL-0042", "LY-ZZ", "XX", ""])
def test_scope_filter_selects_exactly_what_contains_says(ancestor):
    query = orgs.scope_filter(ancestor)

    selected = {code for code in SAMPLE_CODES if _matches(query, code)}

    assert selected == {code for code in SAMPLE_CODES if orgs.contains(ancestor, code)}


def test_scope_filter_of_the_city_root_is_everything():
    assert orgs.scope_filter("LY", field="member_org") == {}


@pytest.mark.parametrize("ancestor", ["LY-ZZ", "XX", "LY-XL-42", "", None])
def test_scope_filter_of_an_unknown_org_matches_nothing(ancestor):
    assert orgs.scope_filter(ancestor, field="member_org") == {"member_org": {"$in": []}}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('unit_digits = 4\n[counties]\nLY-XL = "x"\n', "missing key 'city'"),
        ('city = "LY"\nunit_digits = 4\n[counties]\nXX-XL = "x"\n', "county 'XX-XL'"),
        ('city = "L-Y"\nunit_digits = 4\n[counties]\n', "city root"),
        ('city = "LY"\nunit_digits = 0\n[counties]\n', "unit_digits"),
    ],
)
def test_a_malformed_tree_file_is_refused_naming_the_problem(tmp_path, text, complaint):
    path = tmp_path / "orgs.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValueError, match=complaint):
        load_tree(path)


def test_a_tree_is_immutable():
    tree = OrgTree(city="LY", counties={"LY-XL": "新罗区"}, unit_digits=4)

    with pytest.raises(AttributeError):
        tree.city = "XX"


def test_contract_patterns_are_spelt_from_the_tree_and_match_exactly_its_codes():
    tree = orgs.load_tree()
    county = re.compile(tree.code_pattern())
    county_or_unit = re.compile(tree.code_pattern(unit=True))
    any_level = re.compile(tree.code_pattern(city=True, unit=True))
    for code in tree.counties:
        assert (
            county.fullmatch(code) and county_or_unit.fullmatch(code) and any_level.fullmatch(code)
        )
        assert county_or_unit.fullmatch(f"{code}-0042") and any_level.fullmatch(f"{code}-0042")
        assert not county.fullmatch(f"{code}-0042")
    assert any_level.fullmatch(tree.city) and not county_or_unit.fullmatch(tree.city)
    for stranger in ("LY-ZZ", "LY-XLX", "LY-XL-42", "LY-XL-00420", "XX", "LY-", "ly-xl"):
        assert not any_level.fullmatch(stranger), stranger
        assert tree.is_known(stranger) is False


@pytest.mark.parametrize(
    "levels",
    [
        {"city": True, "county": False, "unit": True},
        {"county": False, "unit": True},
        {"county": False},
    ],
)
def test_contract_pattern_of_levels_that_are_not_adjacent_refused(levels):
    with pytest.raises(ValueError, match="adjacent"):
        orgs.load_tree().code_pattern(**levels)
