"""Bargaining arithmetic, pure: concessions, the effective price, the suggested counter-offer and
the discount given so far. Rounds are anything with speaker, offered_price, concessions_value,
is_agreed, product_id and seq (BargainRound rows, or plain objects in tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.errors import InvalidInput
from app.money import parse_money
from app.presale.models import Speaker

CONCESSION_KINDS = ("free_shipping", "gift", "coupon")
# The share of the remaining gap the agent concedes in its 1st, 2nd, 3rd and later counters.
CONCESSION_SHARES = (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"), Decimal("0.1"))
ZERO = Decimal("0.00")
STEP = Decimal("1")  # suggestions are whole yuan


def parse_concessions(raw: Iterable[Any] | None) -> list[dict[str, str]]:
    """Validate concessions ([{kind, value, note}]) into JSON-safe dicts; the field names the index."""
    result: list[dict[str, str]] = []
    for index, item in enumerate(raw or []):
        field = f"concessions.{index}"
        data = item if isinstance(item, dict) else getattr(item, "model_dump", lambda: None)()
        if not isinstance(data, dict):
            raise InvalidInput(
                "Each concession needs a kind and a value.", fields={field: "object with kind and value"}
            )
        kind = str(data.get("kind") or "").strip()
        if kind not in CONCESSION_KINDS:
            raise InvalidInput(
                "A concession is free_shipping, gift or coupon, not {kind}.",
                fields={f"{field}.kind": "free_shipping | gift | coupon"},
                kind=kind or "—",
            )
        value = parse_money(data.get("value", "0"), field=f"{field}.value")
        note = str(data.get("note") or "").strip()[:200]
        result.append({"kind": kind, "value": f"{value:.2f}", "note": note})
    if len(result) > 10:
        raise InvalidInput("At most 10 concessions per round.", fields={"concessions": "at most 10"})
    return result


def concessions_total(concessions: Iterable[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(c.get("value", "0"))) for c in concessions), ZERO)


def effective_price(offered_price: Decimal, concessions_value: Decimal) -> Decimal:
    """What the shop really gives up to: the price minus what the concessions are worth."""
    return max(ZERO, offered_price - concessions_value)


def _for_product(product: Any, rounds: Iterable[Any]) -> list[Any]:
    pid = getattr(product, "id", None)
    chosen = [r for r in rounds if pid is None or getattr(r, "product_id", pid) == pid]
    return sorted(chosen, key=lambda r: r.seq)


def _round_to_step(amount: Decimal) -> Decimal:
    return (amount / STEP).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * STEP


def suggest_counter(product: Any, rounds: Sequence[Any]) -> Decimal:
    """The agent's next counter-offer for `product`.

    Concede 50%, 30%, 20%, then 10% of the gap between the agent's last offer (or the list price)
    and the buyer's last offer, in whole yuan; never below the floor, never below what the buyer
    already offered, never above the agent's previous offer.
    """
    mine = _for_product(product, rounds)
    agent_rounds = [r for r in mine if Speaker(r.speaker) == Speaker.agent]
    buyer_rounds = [r for r in mine if Speaker(r.speaker) == Speaker.buyer]
    previous = agent_rounds[-1].offered_price if agent_rounds else product.list_price
    if not buyer_rounds:
        return previous.quantize(Decimal("0.01"))
    buyer_last = buyer_rounds[-1].offered_price
    if buyer_last >= previous:
        return previous.quantize(Decimal("0.01"))
    share = CONCESSION_SHARES[min(len(agent_rounds), len(CONCESSION_SHARES) - 1)]
    counter = _round_to_step(previous - (previous - buyer_last) * share)
    lower = max(product.floor_price, buyer_last)
    return min(previous, max(lower, counter)).quantize(Decimal("0.01"))


def latest_price(product: Any, rounds: Sequence[Any]) -> Decimal:
    """The latest agreed price, else the agent's latest offer, else the list price."""
    mine = _for_product(product, rounds)
    agreed = [r for r in mine if r.is_agreed]
    if agreed:
        return agreed[-1].offered_price
    agent_rounds = [r for r in mine if Speaker(r.speaker) == Speaker.agent]
    return agent_rounds[-1].offered_price if agent_rounds else product.list_price


def agreed_price(product: Any, rounds: Sequence[Any]) -> Decimal | None:
    agreed = [r for r in _for_product(product, rounds) if r.is_agreed]
    return agreed[-1].offered_price if agreed else None


def discount_so_far(product: Any, rounds: Sequence[Any]) -> Decimal:
    """List price − the latest agreed (or agent) price + Σ the agent rounds' concessions."""
    mine = _for_product(product, rounds)
    given = sum((r.concessions_value for r in mine if Speaker(r.speaker) == Speaker.agent), ZERO)
    return max(ZERO, product.list_price - latest_price(product, rounds) + given).quantize(Decimal("0.01"))
