from datetime import timedelta

import pytest

from app.accounts.models import Role
from app.customers.models import Customer
from app.integrations.models import Store
from app.orders.lifecycle import Stage
from app.reviews import service
from tests.factories import T0, login, make_agent
from tests.orders.helpers import make_order


def _review(db, rating, text, days=1):
    order = make_order(db, stage=Stage.delivered)
    at = T0 + timedelta(days=days)
    return service.post_review(
        db,
        store=db.get(Store, order.store_id),
        customer=db.get(Customer, order.customer_id),
        order=order,
        rating=rating,
        text=text,
        posted_at=at,
        now=at,
    )


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor, Role.admin])
def test_review_list_renders_for_every_role(client, db, role):
    good = _review(db, 5, "茶香很正")
    login(client, make_agent(db, role=role))
    page = client.get("/reviews")
    assert page.status_code == 200 and f'id="review-{good.id}"' in page.text and "茶香很正" in page.text
    assert f'href="/orders/{good.order_id}"' in page.text and "★★★★★" in page.text


def test_bad_first_and_grade_filter(client, db):
    bad = _review(db, 1, "罐子压扁了", days=1)
    good = _review(db, 5, "很好喝", days=2)
    login(client, make_agent(db))
    newest = client.get("/reviews").text
    assert newest.index(f"review-{good.id}") < newest.index(f"review-{bad.id}")
    worst = client.get("/reviews?bad_first=true").text
    assert worst.index(f"review-{bad.id}") < worst.index(f"review-{good.id}")
    only_bad = client.get("/reviews?grade=bad", headers={"HX-Request": "true"})
    assert only_bad.text.lstrip().startswith('<div id="review-list"')
    assert f"review-{bad.id}" in only_bad.text and f"review-{good.id}" not in only_bad.text
    assert client.get("/reviews?grade=meh").status_code == 422


def test_the_customer_page_shows_the_review(client, db):
    review = _review(db, 2, "物流太慢")
    login(client, make_agent(db))
    page = client.get(f"/customers/{review.customer_id}")
    assert page.status_code == 200 and f'id="review-{review.id}"' in page.text
