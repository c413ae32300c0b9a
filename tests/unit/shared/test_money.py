"""Rules of money: fen inside, two-decimal yuan strings at the edge, half-up rounding once."""

from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from shared.money import Money, apply_ratio, format_fen, parse_yuan, yuan_to_fen


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0", 0),
        ("0.05", 5),
        ("0.5", 50),
        ("1", 100),
        ("1234.5", 123450),
        ("1234.50", 123450),
        ("999999999999.99", 99999999999999),
    ],
)
def test_yuan_string_is_parsed_into_fen(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-1",
        "+1",
        "1.234",  # a third decimal would need rounding the caller did not ask for
        "01",
        "1.",
        ".5",
        "1e3",
        "1,000",
        " 1",
        "1 ",
        "1000000000000",  # thirteen integer digits
        "NaN",
        "Infinity",
        "1.50\n",
        "1٢3",  # Arabic-Indic digits, which Decimal would read as 123
        "0.５",  # a full-width digit
    ],
)
def test_yuan_string_that_is_not_a_plain_amount_is_rejected(text):
    with pytest.raises(ValueError, match="non-negative yuan amount"):
        parse_yuan(text)


@pytest.mark.parametrize("value", [1.5, 150, Decimal("1.50"), None])
def test_yuan_that_is_not_a_string_is_rejected(value):
    with pytest.raises(ValueError):
        parse_yuan(value)


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (50, "0.50"),
        (123450, "1234.50"),
        (-5, "-0.05"),
        (-123450, "-1234.50"),
    ],
)
def test_fen_is_formatted_with_exactly_two_decimals(fen, text):
    assert format_fen(fen) == text


@pytest.mark.parametrize("fen", [0, 1, 99, 100, 123456, 99999999999999])
def test_format_and_parse_are_inverse(fen):
    assert parse_yuan(format_fen(fen)) == fen


@pytest.mark.parametrize(
    ("fen", "ratio", "expected"),
    [
        (1000, Decimal("0.6"), 600),
        (101, Decimal("0.5"), 51),  # 50.5 fen rounds half up
        (103, Decimal("0.5"), 52),  # 51.5 fen rounds half up, not to even
        (100, Decimal("0.333"), 33),  # 33.3 fen rounds down
        (100, Decimal("0.335"), 34),  # 33.5 fen rounds up
        (-101, Decimal("0.5"), -51),  # a reversal mirrors its original
        (12345, Decimal("1"), 12345),
        (12345, Decimal("0"), 0),
    ],
)
def test_ratio_is_applied_with_half_up_rounding_to_the_fen(fen, ratio, expected):
    assert apply_ratio(fen, ratio) == expected


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [
        (3000, 300000),
        ("3000", 300000),
        ("0.01", 1),
        ("1.005", 101),  # policy figures finer than a fen round half up
        (Decimal("2.675"), 268),
        (0.1, 10),  # a float from YAML goes through its shortest repr, not its binary value
    ],
)
def test_policy_yuan_figure_is_converted_to_fen(yuan, fen):
    assert yuan_to_fen(yuan) == fen


class PaymentSchema(Schema):
    amount = Money(required=True)
    fee = Money(allow_none=True)


def test_money_field_loads_a_yuan_string_as_fen():
    assert PaymentSchema().load({"amount": "1234.50", "fee": "0.05"}) == {
        "amount": 123450,
        "fee": 5,
    }


@pytest.mark.parametrize("amount", ["1234.567", "-1", 1234.5, 1234, None, "abc"])
def test_money_field_rejects_anything_but_a_yuan_string(amount):
    with pytest.raises(ValidationError) as caught:
        PaymentSchema().load({"amount": amount})

    assert "amount" in caught.value.messages


def test_money_field_dumps_fen_as_a_two_decimal_string():
    assert PaymentSchema().dump({"amount": 123450, "fee": None}) == {
        "amount": "1234.50",
        "fee": None,
    }
