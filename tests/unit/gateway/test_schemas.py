"""The gateway's own schemas: partner codes are whole-string ASCII matches."""

import pytest

from services.gateway.schemas import PartnerRequestSchema, is_partner_code
from shared.errors import ApiError, validated


@pytest.mark.parametrize("code", ["H0001", "AB", "Z" + "9" * 15])
def test_partner_codes_of_the_pattern_are_accepted(code):
    assert is_partner_code(code)
    body = {"code": code, "kind": "hospital", "name": "x", "level": 3}
    assert validated(PartnerRequestSchema(), body)["code"] == code


@pytest.mark.parametrize(
    "code", ["H0001\n", "h0001", "H", "H" * 17, "H０001", "H0001 ", "0H01", "H-01"]
)
def test_partner_code_outside_the_pattern_refused(code):
    assert not is_partner_code(code)
    with pytest.raises(ApiError) as raised:
        validated(
            PartnerRequestSchema(), {"code": code, "kind": "hospital", "name": "x", "level": 3}
        )
    assert list(raised.value.fields) == ["code"]
