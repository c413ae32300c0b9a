"""The dossier rules refuse with domain errors, and the door answers them as API.md says."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.dossiers.domain.errors import FundInsufficient
from services.dossiers.domain.policy import DossierPolicy
from shared.domain_errors import DomainError
from shared.errors import answer
from shared.policy import PolicyStore

ROOT = Path(__file__).resolve().parents[3]


def test_a_county_without_a_reference_line_is_a_rule_violation_naming_the_county():
    store = PolicyStore.for_service(ROOT / "config" / "policy", "dossiers")
    policy = DossierPolicy.from_document(store.by_version("dossiers/2018-v1"))
    with pytest.raises(DomainError) as refused:
        policy.reference_line("LY-QQ", 2018)
    answered = answer(refused.value)
    assert (answered.status, answered.code, list(answered.fields)) == (
        422,
        "rule_violation",
        ["county"],
    )


def test_a_fund_that_cannot_pay_is_answered_fund_insufficient_naming_the_field():
    answered = answer(
        FundInsufficient("基金 F 2019 年余额 0.00 元，不足以支付 1.00 元。", "amount")
    )
    assert (answered.status, answered.code, list(answered.fields)) == (
        422,
        "fund_insufficient",
        ["amount"],
    )
