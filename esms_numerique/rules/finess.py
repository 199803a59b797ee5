"""FINESS numbers: shape, department prefix and check key (E-FINESS).

The 9th character is a Luhn check digit over the whole number (SPEC §5). For Corsica the public
algorithm is unconfirmed: the platform replaces 2A by 21 and 2B by 22 before the check, and a Corsican
number that fails is left to the ARS instead of refused (docs/decisions.md, D-FINESS-CORSICA).
"""

from __future__ import annotations

import re
from enum import StrEnum

from stdnum import luhn

FINESS_SHAPE = re.compile(r"^(?:\d{2}|2[AB])\d{7}$")
CORSICA_DIGITS = {"2A": "21", "2B": "22"}


class KeyStatus(StrEnum):
    VALID = "valid"
    MALFORMED = "malformed"
    BAD_KEY = "bad_key"
    CORSICA_UNCONFIRMED = "corsica_unconfirmed"


def normalize(finess: str) -> str:
    return finess.strip().upper().replace(" ", "")


def check_key(finess: str) -> KeyStatus:
    number = normalize(finess)
    if not FINESS_SHAPE.match(number):
        return KeyStatus.MALFORMED
    corsican = number[:2] in CORSICA_DIGITS
    digits = CORSICA_DIGITS.get(number[:2], number[:2]) + number[2:]
    if _luhn_valid(digits):
        return KeyStatus.VALID
    return KeyStatus.CORSICA_UNCONFIRMED if corsican else KeyStatus.BAD_KEY


# A digit's contribution when doubled (Luhn): 0 2 4 6 8 1 3 5 7 9.
_DOUBLED = tuple(sum(divmod(2 * digit, 10)) for digit in range(10))


def _luhn_valid(digits: str) -> bool:
    """stdnum.luhn.is_valid for a string of digits, without its generic alphabet (E-FINESS runs once per ESSMS)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        total += _DOUBLED[digit] if position % 2 else digit
    return total % 10 == 0


def with_key(first_eight: str) -> str:
    """Completes eight characters with their check key (used by demo data and tests)."""
    head = normalize(first_eight)
    digits = CORSICA_DIGITS.get(head[:2], head[:2]) + head[2:]
    return head + luhn.calc_check_digit(digits)
