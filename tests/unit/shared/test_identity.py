"""Rules of GB 11643-1999 ID numbers and GB 32100-2015 credit codes, masking and their fields."""

from datetime import date, timedelta

import pytest
from marshmallow import Schema, ValidationError

from shared.identity import (
    CreditCode,
    IdNumber,
    InvalidIdentifier,
    make_id_number,
    mask_id_number,
    mask_name,
    validate_credit_code,
    validate_id_number,
)

TODAY = date(2026, 6, 15)

# The example printed in GB 11643-1999 itself (Beijing Chaoyang, born 1949-12-31, female).
# By hand: digits 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 times weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5
# 8 4 2 sum to 167; 167 mod 11 = 2, and position 2 of "10X98765432" is X.
STANDARD_EXAMPLE_ID_NUMBER = "11010519491231002X"
# By hand: 3 5 0 8 0 2 1 9 9 0 0 1 0 1 1 2 3 weighted as above sum to 215; 215 mod 11 = 6 → "6".
HAND_CHECKED_ID_NUMBER = "350802199001011236"

# By hand: character values 9 1 3 5 0 1 0 0 M=21 0 0 0 1 0 0 Y=30 4 times weights 3^i mod 31
# (1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28) sum to 1640; 1640 mod 31 = 28; 31 - 28 = 3.
HAND_CHECKED_CREDIT_CODE = "91350100M000100Y43"


def _message_of(call, *args, **kwargs) -> str:
    with pytest.raises(InvalidIdentifier) as caught:
        call(*args, **kwargs)
    return str(caught.value)


@pytest.mark.parametrize("id_number", [STANDARD_EXAMPLE_ID_NUMBER, HAND_CHECKED_ID_NUMBER])
def test_hand_checked_id_numbers_are_valid(id_number):
    assert validate_id_number(id_number, today=TODAY) == id_number


@pytest.mark.parametrize(
    ("region", "birth", "sequence"),
    [
        ("350802", date(1990, 1, 1), 123),
        ("350821", date(1965, 2, 28), 1),
        ("350881", date(2000, 2, 29), 998),
        ("110105", date(1900, 1, 1), 0),
        ("650102", date(2026, 6, 15), 999),
    ],
)
def test_generated_id_numbers_are_valid(region, birth, sequence):
    id_number = make_id_number(region, birth, sequence)

    assert validate_id_number(id_number, today=TODAY) == id_number


def test_every_sequence_of_a_day_yields_a_valid_id_number():
    for sequence in range(1000):
        id_number = make_id_number("350802", date(1985, 6, 15), sequence)
        assert validate_id_number(id_number, today=TODAY) == id_number


def test_make_id_number_lays_out_region_birth_date_and_sequence():
    assert make_id_number("350802", date(1990, 1, 1), 123) == HAND_CHECKED_ID_NUMBER
    assert make_id_number("110105", date(1949, 12, 31), 2) == STANDARD_EXAMPLE_ID_NUMBER


def test_check_digit_x_is_accepted():
    assert validate_id_number("35080219850615000X", today=TODAY) == "35080219850615000X"


def test_check_digit_lowercase_x_is_returned_upper_case():
    assert validate_id_number("35080219850615000x", today=TODAY) == "35080219850615000X"


@pytest.mark.parametrize("length", [0, 15, 17, 19])
def test_id_number_of_wrong_length_is_rejected(length):
    text = (HAND_CHECKED_ID_NUMBER * 2)[:length]

    message = _message_of(validate_id_number, text, today=TODAY)

    assert "18 characters" in message
    assert f"got {length}" in message


@pytest.mark.parametrize(
    "text",
    [
        "35080219900101123A",  # a letter other than X in the check position
        "3508021990010112X6",  # X anywhere but the last position
        "350802 99001011236",
        "３５０８０２199001011236",  # full-width digits
        "350802١٩٩0010112３6",  # Arabic-Indic digits, which str.isdigit accepts
    ],
)
def test_id_number_with_characters_other_than_digits_and_final_x_is_rejected(text):
    assert "17 digits followed by a digit or X" in _message_of(validate_id_number, text)


def test_id_number_region_starting_with_zero_is_rejected():
    # The check digit is right (sum 197, 197 mod 11 = 10 → "2"), so only the region rule fails.
    message = _message_of(validate_id_number, "012345199001011232", today=TODAY)

    assert "cannot start with 0" in message


@pytest.mark.parametrize(
    "id_number",
    [
        "350802190002291232",  # 1900 was not a leap year
        "35080220230229123X",  # nor was 2023
        "350802199013011233",  # month 13
        "350802199001001230",  # day 0
    ],
)
def test_id_number_birth_date_must_be_a_real_date(id_number):
    assert "not a real calendar date" in _message_of(validate_id_number, id_number, today=TODAY)


def test_id_number_birth_date_on_29_february_of_a_leap_year_is_accepted():
    id_number = make_id_number("350802", date(2000, 2, 29), 123)

    assert validate_id_number(id_number, today=TODAY) == id_number


def test_id_number_born_on_1900_01_01_is_accepted():
    id_number = make_id_number("350802", date(1900, 1, 1), 123)

    assert validate_id_number(id_number, today=TODAY) == id_number


@pytest.mark.parametrize(
    "id_number",
    [
        make_id_number("350802", date(1899, 12, 31), 123),
        # The second example of GB 11643-1999 (Shantou, 1880): its check digit is right.
        "440524188001010014",
    ],
)
def test_id_number_born_before_1900_is_rejected(id_number):
    assert "before 1900" in _message_of(validate_id_number, id_number, today=TODAY)


def test_id_number_born_today_is_accepted():
    id_number = make_id_number("350802", TODAY, 123)

    assert validate_id_number(id_number, today=TODAY) == id_number


def test_id_number_born_tomorrow_is_rejected():
    id_number = make_id_number("350802", TODAY + timedelta(days=1), 123)

    assert "in the future" in _message_of(validate_id_number, id_number, today=TODAY)


def test_id_number_future_is_judged_against_todays_date_by_default():
    far_future = make_id_number("350802", date(2999, 1, 1), 123)

    assert "in the future" in _message_of(validate_id_number, far_future)


@pytest.mark.parametrize("wrong_check", ["0", "5", "7", "X"])
def test_id_number_with_wrong_check_digit_is_rejected(wrong_check):
    id_number = HAND_CHECKED_ID_NUMBER[:17] + wrong_check

    assert "check digit" in _message_of(validate_id_number, id_number, today=TODAY)


@pytest.mark.parametrize("position", [1, 2, 3, 4, 5, 14, 15, 16])
def test_id_number_check_digit_catches_any_single_digit_change(position):
    original = HAND_CHECKED_ID_NUMBER
    for replacement in "0123456789":
        if replacement == original[position]:
            continue
        changed = original[:position] + replacement + original[position + 1 :]
        assert "check digit" in _message_of(validate_id_number, changed, today=TODAY)


@pytest.mark.parametrize(
    "text",
    [
        "3508021990010112",
        "35080219900101123A",
        "012345199001011232",
        "350802199013011233",
        "350802202606161231",
        "350802199001011230",
    ],
)
def test_id_number_error_never_repeats_the_number(text):
    message = _message_of(validate_id_number, text, today=TODAY)

    assert text not in message
    assert text[:17] not in message


def test_id_number_that_is_not_a_string_is_rejected():
    assert "must be a string" in _message_of(validate_id_number, 350802199001011236)


def test_invalid_identifier_is_a_value_error():
    assert issubclass(InvalidIdentifier, ValueError)


@pytest.mark.parametrize(
    ("region", "sequence"),
    [("050802", 1), ("35080", 1), ("35080A", 1), ("350802", -1), ("350802", 1000)],
)
def test_make_id_number_refuses_parts_that_cannot_form_a_number(region, sequence):
    with pytest.raises(ValueError):
        make_id_number(region, date(1990, 1, 1), sequence)


def test_make_id_number_sequence_parity_is_the_sex():
    male = make_id_number("350802", date(1990, 1, 1), 123)
    female = make_id_number("350802", date(1990, 1, 1), 124)

    assert int(male[16]) % 2 == 1
    assert int(female[16]) % 2 == 0


@pytest.mark.parametrize(
    "credit_code",
    [
        HAND_CHECKED_CREDIT_CODE,
        "91440300708461136T",
        "91110000600037341L",
    ],
)
def test_known_credit_codes_are_valid(credit_code):
    assert validate_credit_code(credit_code) == credit_code


def test_credit_code_check_value_31_is_written_0():
    # The hand-checked code with its first character 9 → C (value 12) adds 3 to the sum: 1643 is
    # 53 * 31, so the check value 31 - 0 = 31 must be written as "0".
    assert validate_credit_code("C1350100M000100Y40") == "C1350100M000100Y40"


def test_credit_code_lowercase_is_returned_upper_case():
    assert validate_credit_code("91350100m000100y43") == HAND_CHECKED_CREDIT_CODE


def test_credit_code_accepts_exactly_one_check_character_per_prefix():
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for prefix in ["91350100M000100Y4", "12350800MB0123456", "52350802X00000000"]:
        accepted = []
        for check in charset:
            try:
                validate_credit_code(prefix + check)
            except InvalidIdentifier:
                continue
            accepted.append(check)
        assert len(accepted) == 1, prefix


@pytest.mark.parametrize("length", [0, 9, 17, 19])
def test_credit_code_of_wrong_length_is_rejected(length):
    message = _message_of(validate_credit_code, (HAND_CHECKED_CREDIT_CODE * 2)[:length])

    assert "18 characters" in message
    assert f"got {length}" in message


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_credit_code_letters_outside_the_charset_are_rejected(letter):
    credit_code = HAND_CHECKED_CREDIT_CODE[:8] + letter + HAND_CHECKED_CREDIT_CODE[9:]

    assert "A-H J-N P-R T U W-Y" in _message_of(validate_credit_code, credit_code)


@pytest.mark.parametrize(
    "credit_code",
    [
        "91350100M000100Y4-",
        "91350100M000100Y4 ",
        "９1350100M000100Y43",  # full-width digit
        # "ﬀ" upper-cases to "FF": blindly upper-cased, these 18 characters would become the
        # valid 91350100M000100FFM followed by a 19th character.
        "91350100M000100ﬀM3",
    ],
)
def test_credit_code_characters_outside_the_ascii_charset_are_rejected(credit_code):
    with pytest.raises(InvalidIdentifier):
        validate_credit_code(credit_code)


def test_credit_code_administrative_division_must_be_digits():
    # The check character is right for the changed prefix (sum 1830 = 59 * 31 + 1 → 30 = "Y"),
    # so only the division rule fails.
    message = _message_of(validate_credit_code, "9135A100M000100Y4Y")

    assert "administrative division" in message


@pytest.mark.parametrize("wrong_check", ["0", "4", "X", "Y"])
def test_credit_code_with_wrong_check_character_is_rejected(wrong_check):
    credit_code = HAND_CHECKED_CREDIT_CODE[:17] + wrong_check

    message = _message_of(validate_credit_code, credit_code)

    assert "check character" in message
    assert credit_code not in message


def test_id_number_is_masked_to_region_and_last_four():
    assert mask_id_number("350802199001011234") == "350802********1234"


@pytest.mark.parametrize("value", ["", "3508021990010112", 350802199001011236])
def test_mask_id_number_refuses_what_is_not_an_id_number(value):
    with pytest.raises(InvalidIdentifier):
        mask_id_number(value)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("张三", "张*"),
        ("张", "张"),
        ("欧阳娜娜", "欧**娜"),
        ("买买提·艾力", "买****力"),
        ("", ""),
    ],
)
def test_name_is_masked_keeping_first_and_last_character(name, masked):
    assert mask_name(name) == masked


class MemberSchema(Schema):
    id_number = IdNumber(required=True)
    employer = CreditCode(allow_none=True)


def test_id_number_field_loads_a_valid_number_normalized():
    loaded = MemberSchema().load(
        {"id_number": "35080219850615000x", "employer": "91350100m000100y43"}
    )

    assert loaded == {"id_number": "35080219850615000X", "employer": HAND_CHECKED_CREDIT_CODE}


def test_id_number_field_reports_the_rule_that_failed():
    with pytest.raises(ValidationError) as caught:
        MemberSchema().load({"id_number": HAND_CHECKED_ID_NUMBER[:17] + "0"})

    assert caught.value.messages == {
        "id_number": ["ID number check digit (character 18) does not match"]
    }


def test_credit_code_field_reports_the_rule_that_failed():
    with pytest.raises(ValidationError) as caught:
        MemberSchema().load({"id_number": HAND_CHECKED_ID_NUMBER, "employer": "91350100"})

    assert caught.value.messages == {"employer": ["credit code must be 18 characters, got 8"]}


def test_identifier_fields_refuse_values_that_are_not_strings():
    with pytest.raises(ValidationError) as caught:
        MemberSchema().load({"id_number": 350802199001011236, "employer": 91350100})

    assert set(caught.value.messages) == {"id_number", "employer"}


def test_id_number_field_dumps_only_the_masked_number():
    dumped = MemberSchema().dump(
        {"id_number": HAND_CHECKED_ID_NUMBER, "employer": HAND_CHECKED_CREDIT_CODE}
    )

    assert dumped == {"id_number": "350802********1236", "employer": HAND_CHECKED_CREDIT_CODE}


def test_identifier_fields_dump_none_as_none():
    assert MemberSchema().dump({"id_number": None, "employer": None}) == {
        "id_number": None,
        "employer": None,
    }
