"""Money is integer euros. Fractions of a euro appear only through prorata and shares, and are rounded
here, in one place (docs/decisions.md, D-ROUNDING)."""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from fractions import Fraction


def _decimal(value: Fraction | int | float) -> Decimal:
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(str(value))


def round_eur(amount: Fraction | int) -> int:
    """An amount line: to the nearest euro, halves up."""
    return int(_decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share_eur(total: int, share: float) -> int:
    """An advance: the share of the total, rounded down so that it never exceeds the share."""
    return int((Decimal(total) * _decimal(share)).quantize(Decimal(1), rounding=ROUND_FLOOR))


def format_eur(amount: int | None) -> str:
    if amount is None:
        return "—"
    return f"{amount:,d} €".replace(",", "\u202f")


def format_share(share: Fraction | float) -> str:
    """A rate the French way: « 80 % », « 33,33 % »."""
    percent = _decimal(share) * 100
    text = f"{percent.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "\u00a0%"
