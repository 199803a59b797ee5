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


def problem(finess: str) -> str | None:
    """What is wrong with a FINESS number, in French, or None when its shape and key are right (E-FINESS). Says
    which character is wrong: « 35500A001 » has a letter where only Corsica's 2A/2B may have one, « 12345 » five
    characters, « 350000023 » a key that should be 2."""
    number = normalize(finess)
    shape = "n'a pas la forme d'un numéro FINESS"
    if not number:
        return f"{shape} : il est vide"
    if len(number) != 9:
        return f"{shape} : {len(number)} caractère{'s' if len(number) > 1 else ''} au lieu de 9"
    head, tail = number[:2], number[2:]
    if not (head.isdigit() or head in CORSICA_DIGITS):
        return (
            f"{shape} : il commence par « {head} », au lieu de deux chiffres (le département) ou de 2A ou 2B pour "
            "la Corse"
        )
    for position, char in enumerate(tail, start=3):
        if not char.isdigit():
            return (
                f"{shape} : « {char} » en {position}e position, où seul un chiffre est permis (une lettre ne se trouve "
                "qu'en 2e position, dans 2A ou 2B pour la Corse)"
            )
    status = check_key(number)
    if status == KeyStatus.BAD_KEY:
        expected = luhn.calc_check_digit(number[:8])
        return f"a une clé de contrôle fausse (9e chiffre {number[8]} ; la clé de {number[:8]} est {expected})"
    return None


def with_key(first_eight: str) -> str:
    """Completes eight characters with their check key (used by demo data and tests)."""
    head = normalize(first_eight)
    digits = CORSICA_DIGITS.get(head[:2], head[:2]) + head[2:]
    return head + luhn.calc_check_digit(digits)
