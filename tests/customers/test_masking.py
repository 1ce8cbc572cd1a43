from types import SimpleNamespace

import pytest

from app.accounts.models import Role, Scope
from app.customers.masking import customer_view, mask_phone
from tests.factories import make_customer


@pytest.mark.parametrize(
    ("viewer", "masked"),
    [
        (SimpleNamespace(role=Role.agent), True),
        (SimpleNamespace(role=Role.supervisor), False),
        (SimpleNamespace(role=Role.admin), False),
        (SimpleNamespace(scope=Scope.read), True),
        (SimpleNamespace(scope=Scope.write), True),
        (SimpleNamespace(scope=Scope.admin), False),
    ],
)
def test_customer_view_masks_phone_email_and_street_for_agents_and_small_keys(db, viewer, masked):
    view = customer_view(make_customer(db, email="wangfang@example.cn"), viewer)
    assert view.masked is masked
    if masked:
        assert view.phone == "138****5678"
        assert view.email == "w***@example.cn"
        assert (view.province, view.city, view.district, view.street) == ("浙江省", "杭州市", "", "****")
        assert view.address == "浙江省杭州市"
    else:
        assert view.phone == "13812345678" and view.email == "wangfang@example.cn"
        assert view.address == "浙江省杭州市西湖区文三路 100 号 5 幢 301"


def test_customer_view_of_an_erased_customer_with_empty_fields_does_not_break(db, now):
    customer = make_customer(db, phone="", email="", street="", district="", name="", erased_at=now)
    view = customer_view(customer, SimpleNamespace(role=Role.agent))
    assert view.phone == "" and view.email == "" and view.street == "" and view.erased_at == now


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("+8613812345678", "+86****5678"), ("12345", "*2345"), ("", "")],
)
def test_mask_phone_keeps_only_the_ends(phone, masked):
    assert mask_phone(phone) == masked
