"""Chinese identifiers: resident ID numbers and unified social credit codes, checked and masked;
the whole-value pattern validator every identifier field uses."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from marshmallow import ValidationError, fields, validate

ID_NUMBER_LENGTH = 18
CREDIT_CODE_LENGTH = 18
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

_SHANGHAI = ZoneInfo("Asia/Shanghai")

# [0-9] rather than \d: \d also matches full-width and other Unicode digits.
_ID_NUMBER_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]")
# GB 11643-1999: weight of position i is 2^(17-i) mod 11; the check character is indexed by
# the weighted sum mod 11.
_ID_NUMBER_WEIGHTS = tuple(pow(2, 17 - position, 11) for position in range(17))
_ID_NUMBER_CHECK_CHARACTERS = "10X98765432"

# GB 32100-2015 leaves out I, O, S, V and Z so codes cannot be misread as 1, 0, 5, U and 2.
_CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_VALUES = {character: value for value, character in enumerate(_CREDIT_CODE_CHARSET)}
_CREDIT_CODE_WEIGHTS = tuple(pow(3, position, 31) for position in range(17))

_MASKED_MIDDLE_OF_ID_NUMBER = "*" * 8


class InvalidIdentifier(ValueError):
    """An ID number or credit code that breaks its standard; the message never repeats it."""


def validate_id_number(text: str, *, today: date | None = None) -> str:
    """Return the 18-character resident ID number with an upper-case check character.

    ``today`` defaults to the current date in Asia/Shanghai; birth dates after it are refused.
    """
    if not isinstance(text, str):
        raise InvalidIdentifier("ID number must be a string")
    if len(text) != ID_NUMBER_LENGTH:
        raise InvalidIdentifier(
            f"ID number must be {ID_NUMBER_LENGTH} characters, got {len(text)}"
            " (15-digit first-generation numbers are not accepted)"
        )
    if not _ID_NUMBER_SHAPE.fullmatch(text):
        raise InvalidIdentifier("ID number must be 17 digits followed by a digit or X")
    id_number = text.upper()
    if id_number[0] == "0":
        raise InvalidIdentifier("ID number region code (characters 1-6) cannot start with 0")
    if today is None:
        today = datetime.now(_SHANGHAI).date()
    _check_birth_date(id_number[6:14], today)
    if id_number[17] != _id_number_check_character(id_number[:17]):
        raise InvalidIdentifier("ID number check digit (character 18) does not match")
    return id_number


def _check_birth_date(yyyymmdd: str, today: date) -> None:
    try:
        birth = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise InvalidIdentifier(
            "ID number birth date (characters 7-14) is not a real calendar date"
        ) from None
    if birth < EARLIEST_BIRTH_DATE:
        raise InvalidIdentifier("ID number birth date (characters 7-14) is before 1900")
    if birth > today:
        raise InvalidIdentifier("ID number birth date (characters 7-14) is in the future")


def _id_number_check_character(first_17_digits: str) -> str:
    weighted_sum = sum(
        int(digit) * weight
        for digit, weight in zip(first_17_digits, _ID_NUMBER_WEIGHTS, strict=True)
    )
    return _ID_NUMBER_CHECK_CHARACTERS[weighted_sum % 11]


def make_id_number(region6: str, birth: date, seq3: int) -> str:
    """Build a valid ID number for tests, benchmarks and synthetic data generators.

    ``seq3`` is the three-digit sequence within region and birth date; its parity is the sex
    (odd male, even female). The result carries the correct check character, but the birth date
    is not compared with today, so generators can also build numbers that validation refuses.
    """
    if not re.fullmatch(r"[1-9][0-9]{5}", region6):
        raise ValueError("region6 must be six digits not starting with 0")
    if not 0 <= seq3 <= 999:
        raise ValueError("seq3 must be between 0 and 999")
    first_17_digits = f"{region6}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq3:03d}"
    return first_17_digits + _id_number_check_character(first_17_digits)


def validate_credit_code(text: str) -> str:
    """Return the 18-character unified social credit code in upper case."""
    if not isinstance(text, str):
        raise InvalidIdentifier("credit code must be a string")
    if len(text) != CREDIT_CODE_LENGTH:
        raise InvalidIdentifier(
            f"credit code must be {CREDIT_CODE_LENGTH} characters, got {len(text)}"
        )
    # Only ASCII may be upper-cased: some letters (the ligature "ﬀ") upper-case to two.
    credit_code = text.upper() if text.isascii() else text
    if any(character not in _CREDIT_CODE_VALUES for character in credit_code):
        raise InvalidIdentifier(
            "credit code may only contain digits and the letters A-H J-N P-R T U W-Y"
        )
    if not credit_code[2:8].isdigit():
        raise InvalidIdentifier(
            "credit code administrative division (characters 3-8) must be digits"
        )
    if credit_code[17] != _credit_code_check_character(credit_code[:17]):
        raise InvalidIdentifier("credit code check character (character 18) does not match")
    return credit_code


def make_credit_code(first_17_characters: str) -> str:
    """Build a valid credit code for tests, benchmarks and synthetic data: the 17 characters
    (from the GB 32100 character set) followed by their check character."""
    if len(first_17_characters) != CREDIT_CODE_LENGTH - 1:
        raise ValueError("give the first 17 characters of a credit code")
    return first_17_characters + _credit_code_check_character(first_17_characters)


def _credit_code_check_character(first_17_characters: str) -> str:
    weighted_sum = sum(
        _CREDIT_CODE_VALUES[character] * weight
        for character, weight in zip(first_17_characters, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    # GB 32100 defines the check value as 31 - (sum mod 31), where 31 stands for 0.
    return _CREDIT_CODE_CHARSET[-weighted_sum % 31]


def mask_id_number(id_number: str) -> str:
    """Show an ID number as region code and last four only: ``350802********1234``."""
    if not isinstance(id_number, str) or len(id_number) != ID_NUMBER_LENGTH:
        raise InvalidIdentifier(f"only an {ID_NUMBER_LENGTH}-character ID number can be masked")
    return id_number[:6] + _MASKED_MIDDLE_OF_ID_NUMBER + id_number[-4:]


def mask_name(name: str) -> str:
    """Mask a personal name for public lists: ``张三明`` → ``张*明``, ``张三`` → ``张*``."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


class IdNumber(fields.String):
    """Marshmallow field: a validated ID number in, always the masked form out.

    Roles allowed a full view must serialize the clear number with a plain ``String`` field,
    so that full views are explicit where they happen (and audited there).
    """

    def __init__(self, **kwargs):
        # What the OpenAPI document states (apispec reads metadata): the shape and a region
        # code not starting with 0 as a pattern; the format names the GB 11643 check digit and
        # birth date, which no pattern can say.
        published = {"pattern": "^[1-9][0-9]{16}[0-9Xx]$", "format": "gb11643"}
        super().__init__(**{**kwargs, "metadata": {**published, **kwargs.get("metadata", {})}})

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else mask_id_number(value)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return validate_id_number(text)
        except InvalidIdentifier as exc:
            raise ValidationError(str(exc)) from exc


class CreditCode(fields.String):
    """Marshmallow field: a validated, upper-cased unified social credit code."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return validate_credit_code(text)
        except InvalidIdentifier as exc:
            raise ValidationError(str(exc)) from exc


class WholeMatch(validate.Regexp):
    """Marshmallow validator: the pattern must match the whole value. ``validate.Regexp`` uses
    ``re.match``, whose ``$`` also matches before a final newline (``"H0001\\n"``). Identifier
    patterns spell digits ``[0-9]``: ``\\d`` also takes full-width and Arabic-Indic digits.
    The pattern is still the one OpenAPI publishes."""

    def __call__(self, value):
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value
