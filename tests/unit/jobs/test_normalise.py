"""Skill and occupation names as matching compares them: width, case, separators, traditional
characters and the policy's synonyms."""

import pytest

from services.jobs.domain.normalise import _TRADITIONAL, basic_form, canonical, canonical_set
from tests.unit.jobs.profiles import POLICY


@pytest.fixture(scope="module")
def synonyms():
    return POLICY.synonyms


@pytest.mark.parametrize(
    ("written", "compared"),
    [
        ("电焊工", "电焊工"),
        ("ＣＡＤ制图", "cad制图"),  # full-width Latin letters
        ("Ｃ１驾照", "c1驾照"),  # full-width digits
        ("叉车 司机", "叉车司机"),  # a space inside
        ("叉车　司机", "叉车司机"),  # an ideographic (full-width) space
        ("电·焊", "电焊"),
        ("電銲工", "电焊工"),  # traditional, and the variant 銲 of 焊
        ("會計", "会计"),
        ("倉庫管理員", "仓库管理员"),
        ("駕駛員", "驾驶员"),
        ("識圖", "识图"),
        ("  厨师  ", "厨师"),
        ("Excel", "excel"),
    ],
)
def test_basic_form_folds_width_case_separators_and_traditional_characters(written, compared):
    assert basic_form(written) == compared


def test_the_traditional_table_pairs_single_characters():
    pairs = [(_TRADITIONAL[i], _TRADITIONAL[i + 1]) for i in range(0, len(_TRADITIONAL), 2)]
    assert len(_TRADITIONAL) % 2 == 0
    # Every pair maps one character to one character, and no simplified character is itself
    # rewritten (the table is applied once).
    sources = {t for t, s in pairs if t != s}
    assert not sources & {s for _, s in pairs}


@pytest.mark.parametrize(
    ("written", "compared"),
    [
        ("焊工", "电焊工"),
        ("电焊工", "电焊工"),
        ("電焊員", "电焊工"),  # traditional and a synonym at once
        ("焊 工", "电焊工"),
        ("叉车工", "叉车司机"),
        ("Office", "办公软件"),
        ("ＥＸＣＥＬ", "办公软件"),
        ("仓库管理员", "仓管员"),
        ("木工", "木工"),  # no synonym: compared as written
    ],
)
def test_synonyms_from_the_policy_map_to_the_name_matching_uses(synonyms, written, compared):
    assert canonical(written, synonyms) == compared


def test_a_welder_and_an_electric_welder_meet(synonyms):
    assert canonical_set(["焊工"], synonyms) == canonical_set(["电焊工"], synonyms)


def test_empty_names_are_dropped(synonyms):
    assert canonical_set([" ", "焊工", "·"], synonyms) == frozenset({"电焊工"})
