"""Identifier patterns match the whole value in ASCII digits: a trailing newline, full-width
digits (３) or Arabic-Indic digits (٣), which ``\\d`` and ``$`` let through, are refused."""

from pathlib import Path

import pytest
from marshmallow import Schema, ValidationError

from services.gateway.schemas import PartnerRequestSchema
from services.mutual_aid.domain.policy import MutualAidPolicy, document_from_text, icd10_category
from shared.contracts.dossiers import (
    CondolenceBatchRequestSchema,
    DossierRequestSchema,
    GrantRequestSchema,
    TransferSchema,
)
from shared.contracts.mutual_aid import (
    DischargeBillSchema,
    EnrollmentMemberSchema,
    EnrollmentRequestSchema,
    PayoutBatchRequestSchema,
)
from shared.identity import InvalidIdentifier, validate_credit_code, validate_id_number
from shared.policy import PolicyError, parse_policy

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")

# (schema, field, a valid value): every identifier-like field a caller sends.
IDENTIFIERS = [
    (PartnerRequestSchema, "code", "H0001"),
    (DischargeBillSchema, "bill_no", "ZY2018-000123"),
    (DischargeBillSchema, "single_disease_code", "K35.8"),
    (EnrollmentRequestSchema, "employer_org", "LY-XL-0042"),
    (EnrollmentMemberSchema, "bank_account", "6222020200112233445"),
    (PayoutBatchRequestSchema, "month", "2018-06"),
    (DossierRequestSchema, "county", "LY-XL"),
    (DossierRequestSchema, "org", "LY-XL-0042"),
    (TransferSchema, "org", "LY-XL-0042"),
    (GrantRequestSchema, "fund", "F2018"),
    (CondolenceBatchRequestSchema, "festival", "2019-spring"),
]
WITH_DIGITS = [case for case in IDENTIFIERS if any(c.isdigit() for c in case[2])]


def field_errors(schema: type[Schema], field: str, value) -> list | dict | None:
    """The field's own errors for ``value`` (None when it loads), as the schema would report."""
    try:
        schema().fields[field].deserialize(value)
    except ValidationError as exc:
        return exc.messages
    return None


@pytest.mark.parametrize("schema, field, valid", IDENTIFIERS)
def test_identifier_patterns_accept_the_plain_value(schema, field, valid):
    assert field_errors(schema, field, valid) is None


@pytest.mark.parametrize("schema, field, valid", IDENTIFIERS)
def test_identifier_with_a_trailing_newline_refused(schema, field, valid):
    assert field_errors(schema, field, valid + "\n")


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full_width", "arabic_indic"])
@pytest.mark.parametrize("schema, field, valid", WITH_DIGITS)
def test_identifier_with_non_ascii_digits_refused(schema, field, valid, digits):
    assert field_errors(schema, field, valid.translate(digits))


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full_width", "arabic_indic"])
def test_diagnosis_code_with_non_ascii_digits_refused(digits):
    assert field_errors(DischargeBillSchema, "diagnoses", ["K35.8".translate(digits)])
    with pytest.raises(ValueError):
        icd10_category("K35".translate(digits))


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full_width", "arabic_indic"])
def test_id_number_and_credit_code_with_non_ascii_digits_refused(digits):
    with pytest.raises(InvalidIdentifier):
        validate_id_number("350802199001011236".translate(digits))
    with pytest.raises(InvalidIdentifier):
        validate_credit_code("91350100M000100Y43".translate(digits))


def test_policy_version_with_a_trailing_newline_refused():
    text = 'version = "mutual_aid/2018-v9\\n"\neffective_from = 2019-01-01\n'
    with pytest.raises(PolicyError, match="version"):
        parse_policy(text.encode(), "test")


def test_policy_number_key_with_non_ascii_digits_refused():
    shipped = Path("config/policy/mutual_aid/2018-v1.toml").read_text(encoding="utf-8")
    assert "\n11 = 2018\n" in shipped
    text = shipped.replace("\n11 = 2018\n", '\n"１１" = 2018\n')
    with pytest.raises(PolicyError, match="whole number"):
        MutualAidPolicy.from_document(document_from_text(text, "test"))
