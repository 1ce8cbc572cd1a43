from dataclasses import dataclass
from decimal import Decimal as D

import pytest

from app.errors import InvalidInput
from app.presale.bargaining import (
    agreed_price,
    discount_so_far,
    effective_price,
    parse_concessions,
    suggest_counter,
)


@dataclass
class P:
    list_price: D = D("199.00")
    floor_price: D = D("159.00")
    id: int = 1


@dataclass
class R:
    seq: int
    speaker: str
    offered_price: D
    concessions_value: D = D("0.00")
    is_agreed: bool = False
    product_id: int = 1


def rounds(*offers):
    """('b', '120') / ('a', '180') / ('a', '170', '8', True) …"""
    result = []
    for i, offer in enumerate(offers, 1):
        who, price, *rest = offer
        value = D(rest[0]) if rest else D("0.00")
        agreed = bool(rest[1]) if len(rest) > 1 else False
        result.append(R(i, "buyer" if who == "b" else "agent", D(price), value, agreed))
    return result


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        # no buyer offer yet: stay at the list price
        ((), "199.00"),
        # 1st counter concedes 50% of the gap list→buyer: 199 − 0.5×(199−169) = 184
        ((("b", "169"),), "184.00"),
        # 2nd counter concedes 30% of the remaining gap: 184 − 0.3×(184−170) = 179.8 → 180
        ((("b", "169"), ("a", "184"), ("b", "170")), "180.00"),
        # 3rd concedes 20%: 180 − 0.2×(180−172) = 178.4 → 178
        ((("b", "169"), ("a", "184"), ("b", "170"), ("a", "180"), ("b", "172")), "178.00"),
        # 4th and later concede 10%: 178 − 0.1×(178−172) = 177.4 → 177
        (
            (
                ("b", "169"),
                ("a", "184"),
                ("b", "170"),
                ("a", "180"),
                ("b", "172"),
                ("a", "178"),
                ("b", "172"),
            ),
            "177.00",
        ),
        # never below the floor, however low the buyer goes
        ((("b", "50"),), "159.00"),
        ((("b", "100"), ("a", "160"), ("b", "100")), "159.00"),
        # never above the agent's previous offer (buyer already above it: accept)
        ((("b", "150"), ("a", "175"), ("b", "180")), "175.00"),
        # never below what the buyer already offered (tiny gap)
        ((("b", "198.6"),), "199.00"),
        # an agent below the floor (supervisor override) is not pushed back up
        ((("b", "100"), ("a", "150")), "150.00"),
    ],
)
def test_suggest_counter_concedes_a_shrinking_share_never_below_the_floor(history, expected):
    assert suggest_counter(P(), rounds(*history)) == D(expected)


def test_suggested_concessions_shrink_round_after_round():
    product, history, steps = P(list_price=D("1000"), floor_price=D("100")), [], []
    previous = D("1000")
    for _ in range(4):
        history.append(R(len(history) + 1, "buyer", D("500")))
        counter = suggest_counter(product, history)
        steps.append(previous - counter)
        history.append(R(len(history) + 1, "agent", counter))
        previous = counter
    assert steps == sorted(steps, reverse=True) and steps[0] == D("250")


def test_suggestion_only_looks_at_the_products_own_rounds():
    other = R(1, "buyer", D("10"), product_id=2)
    assert suggest_counter(P(), [other]) == D("199.00")


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ((), "0.00"),
        # latest agent price 179 → 20 off, plus 8 free shipping
        ((("b", "150"), ("a", "179", "8")), "28.00"),
        # buyer concessions do not count; later agent rounds add theirs
        ((("b", "150", "5"), ("a", "185", "8"), ("a", "179", "10")), "38.00"),
        # an agreed price wins over a later agent offer
        ((("a", "170", "0", True), ("a", "180")), "29.00"),
    ],
)
def test_discount_so_far_is_price_cut_plus_agent_concessions(history, expected):
    assert discount_so_far(P(), rounds(*history)) == D(expected)


def test_agreed_price_is_the_latest_agreed_offer():
    assert agreed_price(P(), rounds(("a", "180"))) is None
    assert agreed_price(P(), rounds(("a", "180", "0", True), ("b", "175", "0", True))) == D("175")


def test_effective_price_subtracts_concessions_never_below_zero():
    assert effective_price(D("170"), D("15")) == D("155")
    assert effective_price(D("10"), D("15")) == D("0.00")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([{"kind": "cashback", "value": "5"}], "concessions.0.kind"),
        ([{"kind": "gift", "value": "-1"}], "concessions.0.value"),
        ([{"kind": "gift", "value": "abc"}], "concessions.0.value"),
        ([{"kind": "gift", "value": "1"}, {"kind": "coupon", "value": "1.234"}], "concessions.1.value"),
        (["gift"], "concessions.0"),
    ],
)
def test_bad_concessions_name_the_field(raw, field):
    with pytest.raises(InvalidInput) as exc:
        parse_concessions(raw)
    assert field in exc.value.fields


def test_concessions_are_normalised():
    assert parse_concessions([{"kind": "gift", "value": "15", "note": " 茶宠 "}]) == [
        {"kind": "gift", "value": "15.00", "note": "茶宠"}
    ]
