"""GET /api/v1/followups, the settings pages (supervisors only) and the customer timeline partial."""

from datetime import timedelta

from sqlmodel import select

from app.accounts.models import Role, Scope
from app.audit.service import STOREFRONT
from app.followups import revisits
from app.followups.models import FollowupRule
from app.orders import service as orders
from app.orders.lifecycle import Stage
from tests.factories import T0, bearer, login, make_agent, make_api_key, make_customer, make_store
from tests.followups.helpers import run_at
from tests.orders.helpers import make_order


def test_api_lists_an_orders_follow_ups_with_their_outcome(client, db):
    order = make_order(db)
    other = make_order(db)
    orders.advance(db, order, to=Stage.paid, actor=STOREFRONT, now=T0 + timedelta(minutes=5))
    run_at(db, T0 + timedelta(minutes=31))
    key = make_api_key(db, Scope.read)
    response = client.get(f"/api/v1/followups?order_id={order.id}", headers=bearer(key))
    assert response.status_code == 200, response.text
    items = {i["kind"]: i for i in response.json()["items"]}
    assert set(items) == {"payment_reminder", "reassurance"}
    assert items["payment_reminder"]["status"] == "skipped"
    assert items["payment_reminder"]["outcome"] == "skipped"
    assert items["payment_reminder"]["reason"] == "already paid"
    assert items["reassurance"]["status"] == "done"
    assert all(i["order_id"] == order.id for i in response.json()["items"])
    assert other.id not in {i["order_id"] for i in response.json()["items"]}


def test_api_filters_and_paginates(client, db):
    store = make_store(db)
    customer = make_customer(db, store=store)
    for _ in range(3):
        make_order(db, store=store, customer=customer)
    key = make_api_key(db, Scope.read)
    first = client.get(
        f"/api/v1/followups?customer_id={customer.id}&kind=payment_reminder&status=pending&limit=2",
        headers=bearer(key),
    ).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(
        f"/api/v1/followups?customer_id={customer.id}&limit=2&cursor={first['next_cursor']}",
        headers=bearer(key),
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_api_rejects_bad_filters_and_missing_keys(client, db):
    key = make_api_key(db, Scope.read)
    bad = client.get("/api/v1/followups?status=maybe", headers=bearer(key))
    assert bad.status_code == 422 and bad.json()["error"] == "invalid" and "status" in bad.json()["fields"]
    assert client.get("/api/v1/followups?cursor=garbage", headers=bearer(key)).status_code == 422
    assert client.get("/api/v1/followups").status_code == 401


def test_openapi_documents_the_followups_list(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/followups" in spec["paths"]
    assert "FollowupRead" in spec["components"]["schemas"]


def test_rules_page_is_for_supervisors(client, db):
    login(client, make_agent(db))
    assert client.get("/settings/followups").status_code == 403


def test_supervisor_edits_a_rule_and_bad_input_is_refused(client, db):
    token = login(client, make_agent(db, role=Role.supervisor))
    page = client.get("/settings/followups")
    rule = db.exec(select(FollowupRule).where(FollowupRule.kind == "payment_reminder")).one()
    assert page.status_code == 200 and f'id="rule-{rule.id}"' in page.text
    form = {
        "csrf_token": token,
        "delay_minutes": "45",
        "enabled": "1",
        "action": "task",
        "category": "payment_reminder",
    }
    ok = client.post(f"/settings/followups/rules/{rule.id}", data=form, follow_redirects=False)
    assert ok.status_code == 303
    db.refresh(rule)
    assert rule.delay_minutes == 45
    negative = client.post(f"/settings/followups/rules/{rule.id}", data=form | {"delay_minutes": "-5"})
    assert negative.status_code == 422
    unknown = client.post(f"/settings/followups/rules/{rule.id}", data=form | {"category": "bribe"})
    assert unknown.status_code == 422
    db.refresh(rule)
    assert (rule.delay_minutes, rule.category) == (45, "payment_reminder")


def test_supervisor_adds_a_rule_unknown_trigger_refused(client, db):
    token = login(client, make_agent(db, role=Role.supervisor))
    base = {
        "csrf_token": token,
        "trigger": "order_delivered",
        "kind": "care",
        "delay_minutes": "4320",
        "category": "delivery_care",
        "action": "task",
    }
    assert client.post("/settings/followups/rules", data=base, follow_redirects=False).status_code == 303
    assert client.post("/settings/followups/rules", data=base | {"trigger": "full_moon"}).status_code == 422
    mismatch = client.post("/settings/followups/rules", data=base | {"kind": "payment_reminder"})
    assert mismatch.status_code == 422


def test_quiet_hours_settings_validated(client, db):
    store = make_store(db)
    token = login(client, make_agent(db, role=Role.supervisor))
    url = f"/settings/followups/stores/{store.id}"
    good = {"csrf_token": token, "quiet_start": "21:30", "quiet_end": "09:00", "revisit_cap_days": "21"}
    assert client.post(url, data=good, follow_redirects=False).status_code == 303
    assert client.post(url, data=good | {"quiet_start": "25:00"}).status_code == 422
    assert client.post(url, data=good | {"revisit_cap_days": "0"}).status_code == 422


def test_revisit_plan_pages_create_preview_and_run(client, db):
    store = make_store(db)
    make_customer(db, store=store, marketing_consent=True, vip_level=3)
    token = login(client, make_agent(db, role=Role.supervisor))
    assert client.get("/settings/revisits").status_code == 200
    form = {
        "csrf_token": token,
        "name": "中秋问候",
        "store_id": str(store.id),
        "schedule": "named",
        "named_dates": ["mid_autumn"],
        "offset_days": "0",
        "send_hour": "10",
        "category": "revisit_holiday",
        "action": "task",
        "enabled": "1",
        "seg_min_vip_level": "2",
    }
    created = client.post("/settings/revisits", data=form, follow_redirects=False)
    assert created.status_code == 303
    plan = revisits.list_plans(db)[0]
    page = client.get(f"/settings/revisits/{plan.id}")
    assert page.status_code == 200 and 'id="plan-reach"' in page.text
    partial = client.get(f"/settings/revisits/{plan.id}", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="plan-reach">')
    run = client.post(f"/settings/revisits/{plan.id}/run", data={"csrf_token": token}, follow_redirects=False)
    assert run.status_code == 303
    short = form | {"schedule": "relative", "first_after_days": "30", "repeat_days": "7"}
    refused = client.post("/settings/revisits", data=short)
    assert refused.status_code == 422
    assert len(revisits.list_plans(db)) == 1


def test_customer_timeline_partial_shows_outcomes(client, db):
    order = make_order(db)
    run_at(db, T0 + timedelta(minutes=31))
    login(client, make_agent(db))
    response = client.get(f"/customers/{order.customer_id}/followups")
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<section id="customer-followups-{order.customer_id}">')
    assert "Task created" in response.text or "已创建任务" in response.text
