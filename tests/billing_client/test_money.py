"""`Money`: exact conversion to and from Decimal, the protobuf sign and range rules, parsing,
arithmetic in nanos; and the one charge rule (`usage_charge`)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from pydantic import ValidationError

from tensormesh.types import Money, usage_charge
from tensormesh.types.billing import ServerlessPricing

INT64_MAX = 2**63 - 1
NANOS_EDGES = [0, 1, 999_999_999, 500_000_000, 100_000_000, 10]
UNITS_EDGES = [0, 1, 12, 10**9, INT64_MAX - 1, INT64_MAX]


def random_nanos_totals(count: int) -> list[int]:
    """Amounts in nanos: edges of units and nanos, both signs, and random ones (fixed seed)."""
    rng = random.Random(20261121)
    values = {u * 10**9 + n for u in UNITS_EDGES[:-1] for n in NANOS_EDGES}
    values |= {INT64_MAX * 10**9 + 999_999_999, INT64_MAX * 10**9}
    values |= {rng.randrange(-(10**20), 10**20) for _ in range(count)}
    values |= {rng.randrange(-(10**10), 10**10) for _ in range(count)}
    return sorted(values | {-value for value in values})


def reference_decimal(total: int) -> Decimal:
    """The value of `total` nanos, computed independently of Money (string arithmetic)."""
    sign = "-" if total < 0 else ""
    digits = str(abs(total)).rjust(10, "0")
    return Decimal(f"{sign}{digits[:-9]}.{digits[-9:]}")


def test_round_trips_are_exact() -> None:
    for total in random_nanos_totals(400):
        check_round_trip(total)


def check_round_trip(total: int) -> None:
    money = Money.from_nanos(total)
    assert money.to_nanos() == total
    assert money.to_decimal() == reference_decimal(total)
    assert Money.from_decimal(money.to_decimal()) == money
    assert Money.from_decimal(str(money.to_decimal())) == money
    assert Money.from_decimal(money.format()) == money
    assert Money.model_validate(money.to_wire()) == money
    units, nanos = int(money.units), money.nanos
    assert abs(nanos) < 10**9
    assert units * nanos >= 0  # the same sign (or zero)
    assert units * 10**9 + nanos == total


def test_wire_shape() -> None:
    money = Money.from_decimal("-1.75", "EUR")
    assert money.to_wire() == {"currencyCode": "EUR", "units": "-1", "nanos": -750_000_000}
    assert Money.model_validate({"units": 3, "nanos": 5}).to_decimal() == Decimal("3.000000005")
    assert Money.model_validate({}).to_decimal() == 0
    assert Money.model_validate({}).currency_code == "USD"


@pytest.mark.parametrize(
    ("text", "expected", "currency"),
    [
        ("12.50", "12.5", "USD"),
        ("12.5 USD", "12.5", "USD"),
        ("3 eur", "3", "EUR"),
        (" 0.000000001 ", "0.000000001", "USD"),
        ("-2.25", "-2.25", "USD"),
        ("100", "100", "USD"),
        (".5", "0.5", "USD"),
    ],
)
def test_parse(text: str, expected: str, currency: str) -> None:
    money = Money.parse(text)
    assert money.to_decimal() == Decimal(expected)
    assert money.currency_code == currency


@pytest.mark.parametrize(
    "text", ["", "abc", "12,50", "1.2.3", "1e3", "12.5 US", "NaN", "Infinity", "0.0000000001"]
)
def test_parse_refuses_what_is_not_an_exact_amount(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every refusal is a ValueError
        Money.parse(text)


@pytest.mark.parametrize("value", [1.5, 0.1, True, None, [1]])
def test_from_decimal_refuses_floats_and_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="must be a Decimal, str or int"):
        Money.from_decimal(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"units": "1", "nanos": -1},
        {"units": "-1", "nanos": 1},
        {"units": "0", "nanos": 1_000_000_000},
        {"units": "0", "nanos": -1_000_000_000},
        {"units": "1.5"},
        {"units": str(2**63)},
        {"units": 1.5},
        {"nanos": 0.5},
    ],
)
def test_invalid_wire_money_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Money.model_validate(fields)


def test_units_beyond_int64_are_refused_from_decimal() -> None:
    with pytest.raises(ValueError, match="int64"):
        Money.from_decimal(Decimal(2**63))


def test_arithmetic_and_order_are_exact() -> None:
    tenth = Money.from_decimal("0.1")
    total = Money.zero()
    for _ in range(10):
        total = total + tenth
    assert total == Money.from_decimal(1)
    assert total - Money.from_decimal("1.25") == Money.from_decimal("-0.25")
    assert -tenth == Money.from_decimal("-0.1")
    assert tenth < total
    assert total >= tenth
    with pytest.raises(ValueError, match="cannot combine"):
        _ = tenth + Money.from_decimal("1", "EUR")


def test_money_is_hashable_and_immutable() -> None:
    money = Money.from_decimal("2")
    assert {money, Money.from_decimal("2.0")} == {money}
    with pytest.raises(ValidationError):
        money.nanos = 3


def test_format() -> None:
    assert Money.from_decimal("12.5").format() == "12.50"
    assert Money.from_decimal("100").format() == "100.00"
    assert Money.from_decimal("0.00027").format() == "0.00027"
    assert Money.from_decimal("-0.000000001").format() == "-0.000000001"
    assert str(Money.from_decimal("3", "EUR")) == "3.00 EUR"


def prices(inp: str, out: str, cached: str | None) -> dict[str, Money | None]:
    return {
        "input_price": Money.parse(inp),
        "output_price": Money.parse(out),
        "cached_price": None if cached is None else Money.parse(cached),
    }


def test_charge_rule() -> None:
    result = usage_charge(
        input_tokens=1000, output_tokens=500, cached_tokens=400, **prices("0.10", "0.40", "0.025")
    )
    # (600 * 0.10 + 400 * 0.025 + 500 * 0.40) / 1e6 = 270 / 1e6
    assert result.charge.to_decimal() == Decimal("0.00027")
    # 400 * (0.10 - 0.025) / 1e6
    assert result.cost_saving.to_decimal() == Decimal("0.00003")


def test_charge_rounds_half_even_once_at_the_end() -> None:
    nano = prices("0.000000001", "0.000000001", "0.000000001")  # 1 nano per 1M tokens

    def charged(inputs: int, outputs: int = 0, cached: int = 0) -> int:
        result = usage_charge(
            input_tokens=inputs, output_tokens=outputs, cached_tokens=cached, **nano
        )
        return result.charge.to_nanos()

    assert charged(1) == 0
    assert charged(500_000) == 0  # 0.5 -> 0 (even)
    assert charged(1_500_000) == 2  # 1.5 -> 2 (even)
    assert charged(2_500_000) == 2  # 2.5 -> 2 (even)
    assert charged(2_600_000) == 3
    # Rounded once: three parts of 0.4 nanos make 1.2 -> 1 (not 0 + 0 + 0).
    assert charged(800_000, outputs=400_000, cached=400_000) == 1


def test_charge_agrees_with_decimal_arithmetic_on_random_usage() -> None:
    rng = random.Random(7)
    for _ in range(300):
        inp, out, cached_price = (Decimal(rng.randrange(0, 10**10)) / 10**9 for _ in range(3))
        input_tokens = rng.randrange(0, 10**7)
        cached = rng.randrange(0, input_tokens + 1)
        output_tokens = rng.randrange(0, 10**7)
        exact = (
            (input_tokens - cached) * inp + cached * cached_price + output_tokens * out
        ) / 10**6
        expected = exact.quantize(Decimal("1e-9"), rounding="ROUND_HALF_EVEN")
        result = usage_charge(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_tokens=cached,
            input_price=Money.from_decimal(inp),
            output_price=Money.from_decimal(out),
            cached_price=Money.from_decimal(cached_price),
        )
        assert result.charge.to_decimal() == expected


def test_a_missing_cached_price_is_the_input_price() -> None:
    result = usage_charge(
        input_tokens=10**6, output_tokens=0, cached_tokens=10**6, **prices("2", "0", None)
    )
    assert result.charge.to_decimal() == 2
    assert result.cost_saving.to_decimal() == 0


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        ({"input_tokens": 5, "output_tokens": 0, "cached_tokens": 6}, "cannot exceed"),
        ({"input_tokens": -1, "output_tokens": 0, "cached_tokens": 0}, "input_tokens"),
        ({"input_tokens": 1, "output_tokens": 1.5, "cached_tokens": 0}, "output_tokens"),
    ],
)
def test_charge_refuses_impossible_usage(tokens: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        usage_charge(**tokens, **prices("1", "1", "1"))  # type: ignore[arg-type]


def test_charge_refuses_mixed_currencies() -> None:
    with pytest.raises(ValueError, match="cannot combine"):
        usage_charge(
            input_tokens=1,
            output_tokens=1,
            cached_tokens=0,
            input_price=Money.parse("1 USD"),
            output_price=Money.parse("1 EUR"),
        )


def test_pricing_charge_uses_the_rule_and_zero_for_missing_prices() -> None:
    pricing = ServerlessPricing.model_validate(
        {
            "model": "m",
            "inputTokenPrice": {"currencyCode": "EUR", "units": "1"},
            "cachedTokenPrice": {"currencyCode": "EUR", "nanos": 250_000_000},
        }
    )
    result = pricing.charge(input_tokens=3_000_000, output_tokens=10**6, cached_tokens=10**6)
    assert result.charge == Money.parse("2.25 EUR")  # 2M at 1 + 1M at 0.25, output free
    assert result.cost_saving == Money.parse("0.75 EUR")
    free = ServerlessPricing(model="free").charge(
        input_tokens=10, output_tokens=10, cached_tokens=0
    )
    assert free.charge.to_nanos() == 0
