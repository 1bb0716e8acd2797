"""`Money` (protobuf `google.type.Money` on the wire) and the one charge function.

Amounts are exact: `Money` converts to and from `Decimal` without loss, arithmetic is done in
integer nanos, and floats are refused everywhere. Serverless prices are Money per 1,000,000
tokens; `usage_charge` turns token counts into a charge and a cache saving (API.md §2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Union

from pydantic import ConfigDict, field_validator, model_validator

from .control_plane._base import ControlPlaneModel, Int64

__all__ = [
    "NANOS_PER_UNIT",
    "TOKENS_PER_PRICE",
    "AmountLike",
    "Money",
    "UsageCharge",
    "usage_charge",
]

NANOS_PER_UNIT = 1_000_000_000
"""Nanos in one unit of a currency (`Money.nanos` is in (-1e9, 1e9))."""
TOKENS_PER_PRICE = 1_000_000
"""Serverless prices are per this many tokens."""
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EXACT = Context(prec=60)  # more digits than any int64 units + 9 nanos digits need
_AMOUNT = re.compile(r"^\s*(?P<number>[+-]?[0-9.]+)\s*(?P<currency>[A-Za-z]{3})?\s*$")

AmountLike = Union["Money", Decimal, str, int]
"""What an amount may be given as: Money, Decimal, a decimal string or an int (never a float)."""


def _round_half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator (denominator > 0) rounded to an integer, ties to even."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


class Money(ControlPlaneModel):
    """An amount of money: `{currencyCode, units, nanos}`.

    `units` is the whole part (an int64, a decimal string on the wire) and `nanos` the
    billionths, with the same sign as `units` and `abs(nanos) < 1e9` (the protobuf rule):
    -1.75 USD is `units="-1", nanos=-750000000`. Immutable and hashable.
    """

    model_config = ConfigDict(frozen=True)

    currency_code: str = "USD"
    units: Int64 = "0"
    nanos: int = 0

    @field_validator("units")
    @classmethod
    def _units_int64(cls, value: str) -> str:
        try:
            number = int(value.strip())
        except ValueError:
            raise ValueError(f"units must be a whole number, not {value!r}") from None
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise ValueError(f"units {value} is out of the int64 range")
        return str(number)

    @field_validator("nanos", mode="before")
    @classmethod
    def _nanos_int(cls, value: Any) -> Any:
        if isinstance(value, (float, bool)):
            raise ValueError(f"nanos must be an integer, not {value!r}")
        return value

    @model_validator(mode="after")
    def _protobuf_rule(self) -> Money:
        if not -NANOS_PER_UNIT < self.nanos < NANOS_PER_UNIT:
            raise ValueError(f"nanos {self.nanos} is out of range (-999999999..999999999)")
        units = int(self.units)
        if (units > 0 and self.nanos < 0) or (units < 0 and self.nanos > 0):
            raise ValueError(f"units {units} and nanos {self.nanos} must have the same sign")
        return self

    @classmethod
    def from_nanos(cls, total: int, currency_code: str = "USD") -> Money:
        """The amount `total` billionths of the currency (an int)."""
        if isinstance(total, bool) or not isinstance(total, int):
            raise ValueError(f"an amount in nanos must be an int, not {total!r}")
        units, nanos = divmod(abs(total), NANOS_PER_UNIT)
        sign = -1 if total < 0 else 1
        return cls(currency_code=currency_code, units=str(sign * units), nanos=sign * nanos)

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency_code: str = "USD") -> Money:
        """The exact amount `value` (at most 9 decimal places); floats are refused."""
        if isinstance(value, (float, bool)) or not isinstance(value, (Decimal, str, int)):
            raise ValueError(f"an amount must be a Decimal, str or int, not {value!r}")
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite amount")
        nanos = _EXACT.scaleb(number, 9)
        if nanos != nanos.to_integral_value():
            raise ValueError(f"{value} has more than 9 decimal places")
        return cls.from_nanos(int(nanos), currency_code)

    @classmethod
    def parse(cls, text: str, default_currency: str = "USD") -> Money:
        """An amount as people type it: "12.50", "12.5 USD", "-3 EUR"."""
        match = _AMOUNT.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not an amount (examples: 12.50, 12.5 USD)")
        currency = (match.group("currency") or default_currency).upper()
        return cls.from_decimal(match.group("number"), currency)

    @classmethod
    def coerce(cls, value: AmountLike, currency_code: str = "USD") -> Money:
        """`value` as Money: Money as is, else `from_decimal` (str may name a currency)."""
        if isinstance(value, Money):
            return value
        if isinstance(value, str):
            return cls.parse(value, currency_code)
        return cls.from_decimal(value, currency_code)

    @classmethod
    def zero(cls, currency_code: str = "USD") -> Money:
        """No money."""
        return cls(currency_code=currency_code)

    def to_nanos(self) -> int:
        """The amount in billionths of the currency."""
        return int(self.units) * NANOS_PER_UNIT + self.nanos

    def to_decimal(self) -> Decimal:
        """The exact amount as a Decimal, without trailing zeros ("12.5", "100", "-0.000000001")."""
        number = _EXACT.scaleb(Decimal(self.to_nanos()), -9).normalize(_EXACT)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:  # 1E+2 -> 100
            number = number.quantize(Decimal(1), context=_EXACT)
        return number

    def format(self, places: int = 2) -> str:
        """The amount with at least `places` decimals (more when needed), e.g. "12.50"."""
        number = self.to_decimal()
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        shown = max(places, -exponent)
        return f"{number:.{shown}f}"

    def __str__(self) -> str:
        return f"{self.format()} {self.currency_code}"

    def _same_currency(self, other: Money) -> None:
        if other.currency_code != self.currency_code:
            raise ValueError(
                f"cannot combine {self.currency_code} and {other.currency_code} amounts"
            )

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money.from_nanos(self.to_nanos() + other.to_nanos(), self.currency_code)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money.from_nanos(self.to_nanos() - other.to_nanos(), self.currency_code)

    def __neg__(self) -> Money:
        return Money.from_nanos(-self.to_nanos(), self.currency_code)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.to_nanos() < other.to_nanos()

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.to_nanos() <= other.to_nanos()

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.to_nanos() > other.to_nanos()

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.to_nanos() >= other.to_nanos()


@dataclass(frozen=True)
class UsageCharge:
    """What some usage costs (`charge`) and what the cache saved (`cost_saving`)."""

    charge: Money
    cost_saving: Money


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
    return value


def usage_charge(
    *,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int,
    input_price: Money,
    output_price: Money,
    cached_price: Money | None = None,
) -> UsageCharge:
    """The charge of some usage at prices per 1,000,000 tokens (the one rule, API.md §2).

    `input_tokens` includes the `cached_tokens`, which are billed at `cached_price` (the input
    price when None):

        charge = (input - cached) * input_price + cached * cached_price + output * output_price
        cost_saving = cached * (input_price - cached_price)

    each divided by 1,000,000 and rounded to whole nanos, ties to even, once at the end.
    """
    inputs = _count("input_tokens", input_tokens)
    outputs = _count("output_tokens", output_tokens)
    cached = _count("cached_tokens", cached_tokens)
    if cached > inputs:
        raise ValueError(f"cached_tokens ({cached}) cannot exceed input_tokens ({inputs})")
    cached_price = input_price if cached_price is None else cached_price
    currency = input_price.currency_code
    for price in (output_price, cached_price):
        input_price._same_currency(price)
    input_n, output_n, cached_n = (p.to_nanos() for p in (input_price, output_price, cached_price))
    charge = (inputs - cached) * input_n + cached * cached_n + outputs * output_n
    saving = cached * (input_n - cached_n)
    return UsageCharge(
        charge=Money.from_nanos(_round_half_even(charge, TOKENS_PER_PRICE), currency),
        cost_saving=Money.from_nanos(_round_half_even(saving, TOKENS_PER_PRICE), currency),
    )
