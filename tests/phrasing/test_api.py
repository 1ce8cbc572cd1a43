from app.accounts.models import Scope
from app.phrasing import stats
from tests.factories import T0, bearer, make_agent, make_api_key, make_team
from tests.phrasing.helpers import make_template, make_ticket

BODY = {
    "title": "发货通知",
    "category": "shipping_notice",
    "scope": "global",
    "shortcut": "/fh",
    "variants": {"zh_CN": "亲，订单 {{ order_number }} 已发出，{{ carrier }} {{ tracking_number }}"},
}


def test_the_api_needs_a_key(client):
    assert client.get("/api/v1/phrasing").status_code == 401


def test_list_with_filters_and_cursor_never_shows_personal_templates(client, db):
    made = [make_template(db, title=f"催付 {i}") for i in range(3)]
    make_template(db, title="议价", category="bargaining", variants={"zh_CN": "实在价"})
    make_template(db, title="私人", scope="personal", agent=make_agent(db))
    key = bearer(make_api_key(db, scope=Scope.read))
    first = client.get("/api/v1/phrasing?category=payment_reminder&limit=2", headers=key).json()
    assert [t["id"] for t in first["items"]] == [made[2].id, made[1].id]
    assert first["items"][0]["variants"]["zh_CN"].startswith("亲，订单")
    rest = client.get(
        f"/api/v1/phrasing?category=payment_reminder&cursor={first['next_cursor']}", headers=key
    ).json()
    assert [t["id"] for t in rest["items"]] == [made[0].id] and rest["next_cursor"] is None
    everything = client.get("/api/v1/phrasing?active=true", headers=key).json()["items"]
    assert "私人" not in {t["title"] for t in everything}
    assert client.get("/api/v1/phrasing?q=议价", headers=key).json()["items"][0]["title"] == "议价"
    assert client.get("/api/v1/phrasing?category=nope", headers=key).status_code == 422


def test_read_one_and_not_found(client, db):
    template = make_template(db, title="催付")
    private = make_template(db, scope="personal", agent=make_agent(db))
    key = bearer(make_api_key(db, scope=Scope.read))
    assert client.get(f"/api/v1/phrasing/{template.id}", headers=key).json()["title"] == "催付"
    assert client.get(f"/api/v1/phrasing/{private.id}", headers=key).status_code == 404
    assert client.get("/api/v1/phrasing/999999", headers=key).status_code == 404


def test_create_needs_write_scope_and_passes_the_linter(client, db):
    read, write = bearer(make_api_key(db, scope=Scope.read)), bearer(make_api_key(db, scope=Scope.write))
    db.commit()
    assert client.post("/api/v1/phrasing", json=BODY, headers=read).status_code == 403
    created = client.post("/api/v1/phrasing", json=BODY, headers=write)
    assert created.status_code == 201 and created.json()["shortcut"] == "/fh"
    clash = client.post("/api/v1/phrasing", json=BODY | {"title": "另一个"}, headers=write)
    assert clash.status_code == 422 and "shortcut" in clash.json()["fields"]
    reward = client.post(
        "/api/v1/phrasing", json=BODY | {"shortcut": "", "variants": {"zh_CN": "五星好评返现"}}, headers=write
    )
    assert reward.status_code == 422 and "variants.zh_CN" in reward.json()["fields"]
    syntax = client.post(
        "/api/v1/phrasing", json=BODY | {"shortcut": "", "variants": {"en": "{{ x"}}, headers=write
    )
    assert syntax.status_code == 422
    personal = client.post("/api/v1/phrasing", json=BODY | {"scope": "personal"}, headers=write)
    assert personal.status_code == 422
    team = make_team(db)
    db.commit()
    for_team = client.post(
        "/api/v1/phrasing",
        json=BODY | {"scope": "team", "team_id": team.id, "shortcut": "/t1"},
        headers=write,
    )
    assert for_team.status_code == 201 and for_team.json()["team_id"] == team.id


def test_update_changes_only_what_is_sent(client, db):
    template = make_template(db, title="催付", shortcut="/cf")
    write = bearer(make_api_key(db, scope=Scope.write))
    response = client.patch(f"/api/v1/phrasing/{template.id}", json={"is_active": False}, headers=write)
    assert response.status_code == 200
    body = response.json()
    assert body["is_active"] is False and body["title"] == "催付" and body["shortcut"] == "/cf"
    assert (
        client.patch(f"/api/v1/phrasing/{template.id}", json={"title": None}, headers=write).status_code
        == 422
    )
    bad = client.patch(
        f"/api/v1/phrasing/{template.id}", json={"variants": {"zh_CN": "全网第一"}}, headers=write
    )
    assert bad.status_code == 422


def test_export_and_usage(client, db):
    template = make_template(db, title="催付", shortcut="/cf")
    agent = make_agent(db)
    stats.record_usage(
        db,
        template_id=template.id,
        agent=agent,
        ticket=make_ticket(db),
        action="sent",
        locale="zh_CN",
        now=T0,
    )
    key = bearer(make_api_key(db, scope=Scope.read))
    exported = client.get("/api/v1/phrasing/export", headers=key).json()
    assert exported["templates"][0]["shortcut"] == "/cf"
    csv_text = client.get("/api/v1/phrasing/export?format=csv", headers=key).text
    assert csv_text.startswith("title,category,scope")
    usage = client.get(
        "/api/v1/phrasing/usage?since=2026-11-01T00:00:00Z&until=2026-11-30T00:00:00Z", headers=key
    ).json()
    row = next(r for r in usage if r["template_id"] == template.id)
    assert row["uses"] == 1 and row["by_agent"] == {str(agent.id): 1} and row["rate"] == 0.0
    assert client.get("/api/v1/phrasing/usage?since=2026-11-01T00:00:00", headers=key).status_code == 422
