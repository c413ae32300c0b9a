"""The dossiers policy file's schema: unknown keys refused and wrong types named by key path."""

from pathlib import Path

import pytest

from services.dossiers.domain.policy import DossierPolicy
from shared.policy import PolicyError, parse_policy

SHIPPED = (
    Path(__file__).resolve().parents[3] / "config" / "policy" / "dossiers" / "2026-v2.toml"
).read_text(encoding="utf-8")


def parse_variant(old: str, new: str) -> DossierPolicy:
    assert old in SHIPPED, old
    return DossierPolicy.from_document(parse_policy(SHIPPED.replace(old, new, 1).encode(), "v2"))


def test_shipped_dossier_policy_passes_its_schema():
    policy = parse_variant("campaign_days = 30", "campaign_days = 30")
    assert (policy.campaign_days, policy.condolence["national"]) == (30, 300000)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("campaign_days = 30", "campaign_days = 30\ncampaign_dayz = 30", "campaign_dayz"),
        ("grassroots = 1000", "grassroots = 1000\nnone = 0", "condolence_yuan.none"),
        ("{ month = 4, day = 1 }", "{ month = 4, day = 1, hour = 8 }", "campaign_opens[0].hour"),
        ("any_cause = true", "any_cause = true\nanycause = true", "tier_rules[4].anycause"),
    ],
)
def test_dossier_policy_unknown_key_refused_naming_its_path(old, new, key):
    with pytest.raises(PolicyError) as raised:
        parse_variant(old, new)
    assert (raised.value.key, raised.value.problem) == (key, "is not a known key here")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("multiple = 1.5", 'multiple = "1.5"', "tier_rules[1].multiple: must be a number"),
        (
            "below = true\nmin_months",
            "below = 1\nmin_months",
            "tier_rules[0].below: must be true or false",
        ),
        ("campaign_days = 30", "campaign_days = 30.5", "campaign_days: must be a whole number"),
        ("LY-XL = 650", 'LY-XL = "650"', "reference_line_yuan.2018.LY-XL: must be a number"),
        (
            "[condolence_yuan]\nnational = 3000",
            "[condolence_yuan]\nnational = true",
            "condolence_yuan.national: must be a number",
        ),
        (
            'causes = ["accident"',
            'causes = [1, "accident"',
            "tier_rules[2].causes[0]: must be a non-empty string",
        ),
    ],
)
def test_dossier_policy_wrong_type_refused_naming_its_path(old, new, message):
    with pytest.raises(PolicyError) as raised:
        parse_variant(old, new)
    assert str(raised.value).startswith(f"v2: {message}")
