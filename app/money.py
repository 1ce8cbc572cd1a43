"""Money in the API and forms: Decimal with at most two places, never negative, a known currency."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from babel.numbers import list_currencies
from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from app.errors import InvalidInput

_CURRENCIES = frozenset(list_currencies())
TWO_PLACES = Decimal("0.01")


def parse_money(value: Any, *, field: str = "amount") -> Decimal:
    """A non-negative amount with at most two decimal places, from a string, int or Decimal."""
    if isinstance(value, float | bool):
        raise InvalidInput(
            '{field} must be a decimal string such as "12.50".', fields={field: "decimal string"}, field=field
        )
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(
            "{field} is not an amount of money.", fields={field: "not a number"}, field=field
        ) from exc
    if not amount.is_finite():
        raise InvalidInput("{field} is not an amount of money.", fields={field: "not a number"}, field=field)
    if abs(amount) >= Decimal("10000000000"):
        raise InvalidInput(
            "{field} has at most two decimal places and is below 10,000,000,000.",
            fields={field: "too large"},
            field=field,
        )
    if amount < 0:
        raise InvalidInput("{field} cannot be negative.", fields={field: "must be ≥ 0"}, field=field)
    if amount != amount.quantize(TWO_PLACES) or amount >= Decimal("10000000000"):
        raise InvalidInput(
            "{field} has at most two decimal places and is below 10,000,000,000.",
            fields={field: "at most 2 decimal places"},
            field=field,
        )
    return amount.quantize(TWO_PLACES)


def parse_currency(value: Any, *, field: str = "currency") -> str:
    code = str(value).strip().upper()
    if code not in _CURRENCIES:
        raise InvalidInput(
            "{code} is not an ISO 4217 currency code.", fields={field: "unknown currency"}, code=code
        )
    return code


def _money_validator(value: Any) -> Decimal:
    try:
        return parse_money(value)
    except InvalidInput as exc:
        raise ValueError(exc.english().replace("amount ", "", 1)) from exc


def _currency_validator(value: Any) -> str:
    try:
        return parse_currency(value)
    except InvalidInput as exc:
        raise ValueError(exc.english()) from exc


# JSON: a decimal string in and out ("12.50"), so no client ever sends money through a float.
MoneyField = Annotated[
    Decimal,
    BeforeValidator(_money_validator),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,10}(\.\d{1,2})?$", "examples": ["199.00"]}),
]
Currency = Annotated[
    str,
    AfterValidator(_currency_validator),
    Field(min_length=3, max_length=3, examples=["CNY"]),
]
