"""The ticket workspace (/tickets/{id}): the thread, the buyer's story beside it, and every action
as an HTMX post (out-of-band partials, inline errors) and as a plain form post (303 back)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.accounts.models import Role
from app.db import utc_now
from app.orders.lifecycle import Stage
from app.reviews import service as reviews
from app.tickets import macros, service
from app.tickets.models import MessageDirection, Ticket, TicketMessage, TicketPriority, TicketStatus
from tests.aftersales.helpers import make_case
from tests.factories import T0, count, login, make_agent, make_customer, make_product, make_store
from tests.orders.helpers import make_order
from tests.presale.helpers import make_inquiry
from tests.tickets.helpers import buyer_says, make_ticket

HX = {"HX-Request": "true"}


def _post(client, token, path, data=None, *, htmx=True):
    headers = HX | {"X-CSRF-Token": token} if htmx else {}
    form = dict(data or {})
    if not htmx:
        form["csrf_token"] = token
    return client.post(path, data=form, headers=headers, follow_redirects=False)


def _write(client, token, ticket, body, **fields):
    """The composer: a reply unless mode="note"."""
    return _post(client, token, f"/tickets/{ticket.id}/messages", {"body": body} | fields)


@pytest.fixture
def world(db):
    store = make_store(db)
    product = make_product(db, store)
    customer = make_customer(db, store, phone="13812345678")
    order = make_order(db, store=store, customer=customer, product=product, stage=Stage.paid)
    ticket = make_ticket(db, customer=customer, subject="付款后安抚", kind="reassurance", order_id=order.id)
    return {"store": store, "product": product, "customer": customer, "order": order, "ticket": ticket}


# --- the page ------------------------------------------------------------------------------------


def test_workspace_shows_thread_story_and_actions(client, db, world):
    ticket, customer, order = world["ticket"], world["customer"], world["order"]
    buyer_says(db, customer, "什么时候发货呀？", now=T0 + timedelta(minutes=5))
    agent = make_agent(db, display_name="小美")
    service.reply(db, ticket, agent=agent, body="亲，今天下午就发～", now=T0 + timedelta(minutes=6))
    past = make_ticket(db, customer=customer, kind="payment_reminder", subject="上次的催付")
    service.solve(db, past, agent=agent, now=T0)
    reviews.post_review(db, store=world["store"], customer=customer, rating=5, text="茶很香", now=T0)
    login(client, agent)
    page = client.get(f"/tickets/{ticket.id}")
    assert page.status_code == 200
    text = page.text
    for part in ('id="ticket-panel"', 'id="thread"', 'id="composer"', 'id="ticket-story"', 'id="presence"'):
        assert part in text, part
    assert "什么时候发货呀？" in text and "亲，今天下午就发～" in text
    assert "message-inbound" in text and "message-outbound" in text and "message-note" in text
    assert f'id="order-lifecycle-{order.id}"' in text and f'action="/orders/{order.id}/advance"' in text
    assert f'action="/orders/{order.id}/cases"' in text  # open a case, through the aftersales route
    assert "上次的催付" in text and f'href="/tickets/{past.id}"' in text
    assert "茶很香" in text
    assert 'id="phrasing-search"' in text and f'hx-get="/phrasing/suggest?ticket_id={ticket.id}"' in text
    assert 'id="composer-insert"' in text and 'id="reply-body"' in text and 'name="template_id"' in text
    assert 'data-copy-target="#reply-body"' in text and 'value="solved"' in text
    assert 'data-shortcut="e"' in text and f'action="/tickets/{ticket.id}/snooze"' in text


def test_agents_see_the_buyer_masked_supervisors_whole(client, db, world):
    ticket = world["ticket"]
    login(client, make_agent(db))
    text = client.get(f"/tickets/{ticket.id}").text
    assert "138****5678" in text and "13812345678" not in text and "文三路" not in text
    client.cookies.clear()
    login(client, make_agent(db, role=Role.supervisor))
    text = client.get(f"/tickets/{ticket.id}").text
    assert "13812345678" in text and "文三路" in text


def test_an_inquiry_ticket_shows_bargaining_with_floor_suggestion_and_the_round_form(client, db, world):
    store, customer, product = world["store"], world["customer"], world["product"]
    inquiry = make_inquiry(db, store, customer, [product])
    ticket = make_ticket(db, customer=customer, kind="bargaining", subject="议价", inquiry_id=inquiry.id)
    login(client, make_agent(db))
    text = client.get(f"/tickets/{ticket.id}").text
    assert 'id="bargaining"' in text and 'id="round-form"' in text
    assert f'hx-post="/inquiries/{inquiry.id}/rounds"' in text
    assert "¥159.00" in text  # the floor price


def test_open_cases_are_shown(client, db, world):
    order = make_order(db, store=world["store"], customer=world["customer"], stage=Stage.delivered)
    case = make_case(db, order=order)
    login(client, make_agent(db))
    text = client.get(f"/tickets/{world['ticket'].id}").text
    assert f'id="case-card-{case.id}"' in text
    # The ticket's (or the first open) case comes with its actions, through the aftersales routes.
    assert f'id="case-actions-{case.id}"' in text and f'hx-post="/cases/{case.id}/move"' in text


def test_the_buyers_other_orders_and_inquiries_load_when_their_section_opens(client, db, world):
    store, customer, product, order = world["store"], world["customer"], world["product"], world["order"]
    older = make_order(db, store=store, customer=customer, product=product, stage=Stage.confirmed)
    focus_inquiry = make_inquiry(db, store, customer, [product])
    other_inquiry = make_inquiry(db, store, customer, [product])
    ticket = world["ticket"]
    ticket.inquiry_id = focus_inquiry.id
    db.add(ticket)
    db.commit()
    login(client, make_agent(db))
    text = client.get(f"/tickets/{ticket.id}").text
    # The ticket's own order and inquiry are on the page; the others are counted, not rendered.
    assert f'id="order-lifecycle-{order.id}"' in text and f'id="order-card-{older.id}"' not in text
    assert f'hx-get="/tickets/{ticket.id}/story/orders"' in text and "其他订单 (1)" in text
    assert f'hx-get="/tickets/{ticket.id}/story/inquiries"' in text and "其他询单 (1)" in text
    assert f'id="inquiry-card-{other_inquiry.id}"' not in text
    orders_part = client.get(f"/tickets/{ticket.id}/story/orders", headers=HX)
    assert orders_part.status_code == 200 and "<html" not in orders_part.text
    assert f'id="order-card-{older.id}"' in orders_part.text
    assert f"order-card-{order.id}" not in orders_part.text
    inquiries_part = client.get(f"/tickets/{ticket.id}/story/inquiries", headers=HX).text
    assert f'id="inquiry-card-{other_inquiry.id}"' in inquiries_part
    assert f"inquiry-card-{focus_inquiry.id}" not in inquiries_part


def test_a_buyer_without_other_orders_gets_no_section_and_an_empty_part(client, db):
    store = make_store(db)
    ticket = make_ticket(db, customer=make_customer(db, store), subject="在吗")
    login(client, make_agent(db))
    text = client.get(f"/tickets/{ticket.id}").text
    assert 'id="story-other-orders"' not in text and 'id="story-other-inquiries"' not in text
    assert "没有其他订单" in client.get(f"/tickets/{ticket.id}/story/orders", headers=HX).text
    assert "没有其他询单" in client.get(f"/tickets/{ticket.id}/story/inquiries", headers=HX).text
    no_buyer = make_ticket(db, subject="系统")
    no_buyer.customer_id = None  # a ticket whose buyer was never known (or was erased)
    db.add(no_buyer)
    db.commit()
    assert "没有其他订单" in client.get(f"/tickets/{no_buyer.id}/story/orders", headers=HX).text


@pytest.mark.parametrize("part", ["orders", "inquiries"])
def test_the_story_parts_need_a_login_and_a_ticket(client, db, world, part):
    url = f"/tickets/{world['ticket'].id}/story/{part}"
    assert client.get(url, follow_redirects=False).status_code in (303, 401)
    login(client, make_agent(db))
    assert client.get(f"/tickets/999999/story/{part}", headers=HX).status_code == 404


def test_an_unknown_ticket_is_404(client, db):
    token = login(client, make_agent(db))
    assert client.get("/tickets/999999").status_code == 404
    assert client.get("/tickets/999999/thread", headers=HX).status_code == 404
    response = _post(client, token, "/tickets/999999/solve")
    assert response.status_code == 404 and "error-box" in response.text


def test_the_workspace_needs_a_login(client, world):
    response = client.get(f"/tickets/{world['ticket'].id}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_page_reads_a_fixed_number_of_queries_whatever_the_buyers_history(client, db, world):
    """No query per order, round, case or message: more history, the same number of queries."""
    agent = make_agent(db)
    login(client, agent)
    url = f"/tickets/{world['ticket'].id}"
    statements: list[str] = []
    customer, store, product = world["customer"], world["store"], world["product"]

    def more_history() -> None:
        order = make_order(db, store=store, customer=customer, product=product, stage=Stage.shipped)
        make_case(db, order=make_order(db, store=store, customer=customer, stage=Stage.delivered))
        make_inquiry(db, store, customer, [product])
        buyer_says(db, customer, f"第{order.id}单呢？")
        service.add_note(db, world["ticket"], agent=agent, body="看一下物流", now=T0)
        past = make_ticket(db, customer=customer, kind="shipping", subject=f"物流 {order.id}")
        service.solve(db, past, agent=agent, now=T0)

    more_history()
    more_history()  # other orders and inquiries beside the ones the page focuses on

    def count_statement(conn, cursor, statement, *args):
        statements.append(statement)

    connection = db.connection()
    sa.event.listen(connection, "before_cursor_execute", count_statement)
    urls = (url, f"{url}/story/orders", f"{url}/story/inquiries")
    try:
        before = {}
        for each in urls:
            statements.clear()
            client.get(each)
            before[each] = list(statements)
        for _ in range(4):
            more_history()
        for each in urls:
            statements.clear()
            assert client.get(each).status_code == 200
            assert len(statements) == len(before[each]), "\n".join(s.split("\n")[0] for s in statements)
        assert len(before[url]) <= 30
    finally:
        sa.event.remove(connection, "before_cursor_execute", count_statement)


# --- reply and note ------------------------------------------------------------------------------


def test_htmx_reply_records_the_message_and_answers_with_out_of_band_partials(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    response = _write(client, token, ticket, "亲，已经在打包啦", channel="manual")
    assert response.status_code == 200 and "<html" not in response.text
    for part in ('id="ticket-panel"', 'id="thread"', 'id="composer"'):
        assert part in response.text, part
    assert response.text.count('hx-swap-oob="true"') == 3
    assert 'id="flash" hx-swap-oob="innerHTML"' in response.text
    assert "亲，已经在打包啦" in response.text
    assert count(db, TicketMessage, ticket_id=ticket.id, direction=MessageDirection.outbound) == 1


def test_an_empty_reply_is_an_inline_error_next_to_the_composer(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    response = _write(client, token, ticket, "   ")
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#composer-error" and "error-box" in response.text
    assert count(db, TicketMessage, ticket_id=ticket.id, direction=MessageDirection.outbound) == 0


def test_a_reply_still_holding_a_missing_variable_is_refused(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    response = _write(client, token, ticket, "亲，单号是【缺少：tracking_number】")
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#composer-error"
    assert count(db, TicketMessage, ticket_id=ticket.id, direction=MessageDirection.outbound) == 0


def test_a_plain_form_reply_redirects_back_to_the_ticket(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    response = _post(client, token, f"/tickets/{ticket.id}/messages", {"body": "好的亲"}, htmx=False)
    assert response.status_code == 303 and response.headers["location"] == f"/tickets/{ticket.id}"
    assert "好的亲" in client.get(f"/tickets/{ticket.id}").text


def test_an_internal_note_is_not_sent(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    response = _write(client, token, ticket, "买家很着急", mode="note")
    assert response.status_code == 200
    assert count(db, TicketMessage, ticket_id=ticket.id, direction=MessageDirection.note, body="买家很着急")
    assert count(db, TicketMessage, ticket_id=ticket.id, direction=MessageDirection.outbound) == 0


def test_an_unknown_mode_is_refused(client, db, world):
    token = login(client, make_agent(db))
    response = _write(client, token, world["ticket"], "hi", mode="shout")
    assert response.status_code == 422


def test_send_and_solve(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    response = _write(client, token, ticket, "好的亲", then="solved")
    assert response.status_code == 200
    db.refresh(ticket)
    assert ticket.status == TicketStatus.solved


def test_a_reply_to_a_solved_ticket_reopens_it(client, db, world):
    ticket = world["ticket"]
    agent = make_agent(db)
    service.solve(db, ticket, agent=agent, now=T0)
    token = login(client, agent)
    assert _write(client, token, ticket, "还有问题吗亲？").status_code == 200
    db.refresh(ticket)
    assert ticket.status == TicketStatus.open


# --- snooze, solve, reopen -------------------------------------------------------------------------


def test_snooze_quick_choices(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    before = utc_now()
    assert _post(client, token, f"/tickets/{ticket.id}/snooze", {"preset": "1h"}).status_code == 200
    db.refresh(ticket)
    assert ticket.status == TicketStatus.snoozed
    assert timedelta(minutes=59) < ticket.snoozed_until - before < timedelta(minutes=61)
    assert _post(client, token, f"/tickets/{ticket.id}/snooze", {"preset": "tomorrow_9"}).status_code == 200
    db.refresh(ticket)
    local = ticket.snoozed_until.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() == before.astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)


def test_snooze_until_is_read_in_the_stores_time_zone(client, db):
    store = make_store(db, timezone="Europe/Berlin")
    ticket = make_ticket(db, customer=make_customer(db, store))
    token = login(client, make_agent(db))
    zone = ZoneInfo("Europe/Berlin")
    local = (utc_now() + timedelta(days=2)).astimezone(zone).replace(second=0, microsecond=0)
    until = local.strftime("%Y-%m-%dT%H:%M")
    response = _post(client, token, f"/tickets/{ticket.id}/snooze", {"until": until})
    assert response.status_code == 200
    db.refresh(ticket)
    assert ticket.snoozed_until == local.replace(tzinfo=zone)


@pytest.mark.parametrize("until", ["2020-01-01T09:00", "not a date", ""])
def test_a_snooze_into_the_past_or_nonsense_is_an_inline_error(client, db, world, until):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    response = _post(client, token, f"/tickets/{ticket.id}/snooze", {"until": until})
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#panel-error"
    db.refresh(ticket)
    assert ticket.status == TicketStatus.open
    plain = _post(client, token, f"/tickets/{ticket.id}/snooze", {"until": until}, htmx=False)
    assert plain.status_code == 422 and "<html" in plain.text


def test_solve_then_reopen(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    response = _post(client, token, f"/tickets/{ticket.id}/solve")
    assert response.status_code == 200 and 'id="ticket-panel"' in response.text
    db.refresh(ticket)
    assert ticket.status == TicketStatus.solved
    assert f'action="/tickets/{ticket.id}/reopen"' in response.text  # the panel now offers reopen
    plain = _post(client, token, f"/tickets/{ticket.id}/reopen", htmx=False)
    assert plain.status_code == 303
    db.refresh(ticket)
    assert ticket.status == TicketStatus.open


# --- assignment, priority, tags, macros -------------------------------------------------------------


def test_take_reassign_and_release(client, db, world):
    ticket = world["ticket"]
    me, colleague = make_agent(db), make_agent(db, display_name="小李")
    token = login(client, me)
    assert _post(client, token, f"/tickets/{ticket.id}/assign", {"assignee": "me"}).status_code == 200
    db.refresh(ticket)
    assert ticket.assignee_id == me.id
    response = _post(client, token, f"/tickets/{ticket.id}/assign", {"assignee": str(colleague.id)})
    assert response.status_code == 200 and "小李" in response.text
    db.refresh(ticket)
    assert ticket.assignee_id == colleague.id
    _post(client, token, f"/tickets/{ticket.id}/assign", {"assignee": ""})
    db.refresh(ticket)
    assert ticket.assignee_id is None


@pytest.mark.parametrize("assignee", ["abc", "999999"])
def test_assigning_to_nobody_known_is_refused_inline(client, db, world, assignee):
    token = login(client, make_agent(db))
    response = _post(client, token, f"/tickets/{world['ticket'].id}/assign", {"assignee": assignee})
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#panel-error"


def test_priority_and_tags(client, db, world):
    ticket = world["ticket"]
    token = login(client, make_agent(db))
    assert _post(client, token, f"/tickets/{ticket.id}/priority", {"priority": "urgent"}).status_code == 200
    assert _post(client, token, f"/tickets/{ticket.id}/priority", {"priority": "asap"}).status_code == 422
    response = _post(client, token, f"/tickets/{ticket.id}/tags", {"tags": "VIP，急件、 复购"})
    assert response.status_code == 200
    db.refresh(ticket)
    assert ticket.priority == TicketPriority.urgent and ticket.tags == ["VIP", "急件", "复购"]
    assert "急件" in response.text


def test_applying_a_macro(client, db, world):
    ticket = world["ticket"]
    supervisor = make_agent(db, role=Role.admin)
    macro = macros.create_macro(
        db, actor=supervisor, name="标记加急", now=T0, set_priority="high", add_tags=["加急"]
    )
    token = login(client, make_agent(db))
    page = client.get(f"/tickets/{ticket.id}").text
    assert f'name="macro_id" value="{macro.id}"' in page
    response = _post(client, token, f"/tickets/{ticket.id}/macro", {"macro_id": str(macro.id)})
    assert response.status_code == 200
    db.refresh(ticket)
    assert ticket.priority == TicketPriority.high and "加急" in ticket.tags
    assert _post(client, token, f"/tickets/{ticket.id}/macro", {"macro_id": ""}).status_code == 422


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("messages", {"body": "hi"}),
        ("snooze", {"preset": "1h"}),
        ("solve", {}),
        ("reopen", {}),
        ("assign", {"assignee": "me"}),
        ("priority", {"priority": "high"}),
        ("tags", {"tags": "x"}),
        ("macro", {"macro_id": "1"}),
    ],
)
def test_every_action_needs_the_csrf_token(client, db, world, path, data):
    ticket = world["ticket"]
    login(client, make_agent(db))
    response = client.post(f"/tickets/{ticket.id}/{path}", data=data, headers=HX)
    assert response.status_code == 403
    db.refresh(ticket)
    assert ticket.status == TicketStatus.open and ticket.assignee_id is None and ticket.tags == []
    assert count(db, Ticket, id=ticket.id, priority="normal") == 1


def test_the_thread_partial_is_a_fragment(client, db, world):
    ticket = world["ticket"]
    buyer_says(db, world["customer"], "在吗？", now=datetime(2026, 11, 11, 3, 0, tzinfo=T0.tzinfo))
    login(client, make_agent(db))
    response = client.get(f"/tickets/{ticket.id}/thread", headers=HX)
    assert response.text.lstrip().startswith('<section id="thread"') and "在吗？" in response.text
