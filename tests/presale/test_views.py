import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.presale.models import BargainRound, InquiryStatus
from tests.factories import count, login, make_agent
from tests.presale.helpers import make_inquiry, setup

HX = {"HX-Request": "true"}


@pytest.fixture
def world(db):
    store, product, customer = setup(db)
    return {"store": store, "product": product, "customer": customer}


@pytest.mark.parametrize("role", [Role.agent, Role.supervisor, Role.admin])
def test_inquiry_pages_render_for_every_role(client, db, world, role):
    agent = make_agent(db, role=role)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]], agent=agent)
    login(client, agent)
    listing = client.get("/inquiries")
    assert listing.status_code == 200 and f'href="/inquiries/{inquiry.id}"' in listing.text
    assert world["customer"].nickname in listing.text
    page = client.get(f"/inquiries/{inquiry.id}")
    assert page.status_code == 200
    assert 'id="bargaining"' in page.text and 'id="round-form"' in page.text and 'id="lose-form"' in page.text
    assert "¥159.00" in page.text  # the floor price is shown to the agent
    assert world["customer"].phone not in page.text and world["customer"].phone not in listing.text


def test_inquiry_list_filters_by_status_and_mine(client, db, world):
    me, other = make_agent(db), make_agent(db)
    mine = make_inquiry(db, world["store"], world["customer"], [world["product"]], agent=me)
    theirs = make_inquiry(db, world["store"], world["customer"], [world["product"]], agent=other)
    login(client, me)
    text = client.get("/inquiries?mine=1").text
    assert f'href="/inquiries/{mine.id}"' in text and f'href="/inquiries/{theirs.id}"' not in text
    assert f'href="/inquiries/{mine.id}"' not in client.get("/inquiries?status=won").text


def test_htmx_round_post_returns_the_bargaining_partial(client, db, world):
    agent = make_agent(db)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    token = login(client, agent)
    data = {
        "product_id": str(world["product"].id),
        "speaker": "buyer",
        "offered_price": "150",
        "note": "包邮吗？能便宜点吗？",
    }
    response = client.post(f"/inquiries/{inquiry.id}/rounds", data=data, headers=HX | {"X-CSRF-Token": token})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="bargaining">') and "<html" not in response.text
    assert "包邮吗？能便宜点吗？" in response.text and 'id="round-form"' in response.text
    assert "¥175.00" in response.text  # suggested counter: 199 − 50% × (199 − 150) = 174.5 → 175
    assert count(db, BargainRound, inquiry_id=inquiry.id) == 1
    assert inquiry.status == InquiryStatus.bargaining


def test_htmx_round_error_is_inline_and_keeps_the_input(client, db, world):
    agent = make_agent(db)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    token = login(client, agent)
    data = {"product_id": str(world["product"].id), "speaker": "agent", "offered_price": "-3", "note": "试试"}
    response = client.post(f"/inquiries/{inquiry.id}/rounds", data=data, headers=HX | {"X-CSRF-Token": token})
    assert response.status_code == 422
    assert 'id="bargaining"' in response.text and "offered_price" in response.text
    assert 'value="-3"' in response.text and 'value="试试"' in response.text
    assert count(db, BargainRound, inquiry_id=inquiry.id) == 0


def test_agent_round_below_floor_shows_awaiting_approval(client, db, world):
    agent = make_agent(db)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    token = login(client, agent)
    data = {
        "product_id": str(world["product"].id),
        "speaker": "agent",
        "offered_price": "150",
        "is_agreed": "1",
    }
    response = client.post(f"/inquiries/{inquiry.id}/rounds", data=data, headers=HX | {"X-CSRF-Token": token})
    assert response.status_code == 200 and "badge warn" in response.text


def test_plain_form_round_post_redirects(client, db, world):
    agent = make_agent(db)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    token = login(client, agent)
    data = {
        "csrf_token": token,
        "product_id": str(world["product"].id),
        "speaker": "agent",
        "offered_price": "185",
        "free_shipping": "8",
        "gift": "15",
        "gift_note": "茶宠",
    }
    response = client.post(f"/inquiries/{inquiry.id}/rounds", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/inquiries/{inquiry.id}"
    row = db.exec(select(BargainRound)).one()
    assert [c["kind"] for c in row.concessions] == ["free_shipping", "gift"] and row.concessions[1][
        "note"
    ] == "茶宠"


def test_round_form_without_csrf_is_refused(client, db, world):
    agent = make_agent(db)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    login(client, agent)
    data = {"product_id": str(world["product"].id), "speaker": "agent", "offered_price": "185"}
    assert client.post(f"/inquiries/{inquiry.id}/rounds", data=data).status_code == 403


def test_lose_form_closes_the_inquiry_and_hides_the_round_form(client, db, world):
    agent = make_agent(db)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    token = login(client, agent)
    bad = client.post(f"/inquiries/{inquiry.id}/lose", data={"csrf_token": token, "reason": ""})
    assert bad.status_code == 422 and inquiry.status == InquiryStatus.open
    response = client.post(
        f"/inquiries/{inquiry.id}/lose",
        data={"csrf_token": token, "reason": "delivery_time", "note": "等不及"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and inquiry.status == InquiryStatus.lost
    page = client.get(f"/inquiries/{inquiry.id}").text
    assert 'id="round-form"' not in page and "等不及" in page


def test_round_link_redirects_to_its_inquiry(client, db, world):
    from app.presale.rounds import record_round
    from tests.factories import T0

    agent = make_agent(db)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    outcome = record_round(
        db, inquiry, product_id=world["product"].id, speaker="buyer", offered_price="150", agent=agent, now=T0
    )
    login(client, agent)
    response = client.get(f"/inquiries/by-round/{outcome.round.id}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith(f"/inquiries/{inquiry.id}")


def test_inquiry_card_partial_renders_rounds_in_order(db, world):
    from app.presale import service
    from app.presale.rounds import record_round
    from app.web import templates
    from tests.factories import T0

    agent = make_agent(db)
    inquiry = make_inquiry(db, world["store"], world["customer"], [world["product"]])
    for who, price, note in (("buyer", "150", "能便宜点吗？"), ("agent", "175", "送个茶宠吧")):
        record_round(
            db,
            inquiry,
            product_id=world["product"].id,
            speaker=who,
            offered_price=price,
            note=note,
            agent=agent,
            now=T0,
        )
    cards = service.inquiry_cards_for_customer(db, world["customer"].id)
    html = templates.env.get_template("presale/_inquiry_card.html").render(card=cards[0])
    assert html.lstrip().startswith(f'<article id="inquiry-card-{inquiry.id}"')
    assert html.index("能便宜点吗？") < html.index("送个茶宠吧")
