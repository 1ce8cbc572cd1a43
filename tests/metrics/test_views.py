"""The dashboard, drill-down, exports and an agent's own figures over HTTP: roles, filters, content."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

from app.accounts.models import Role
from tests.factories import login, make_agent, make_customer, make_store, make_team
from tests.metrics import helpers as h
from tests.metrics.helpers import local

Q = "start=2026-11-01&end=2026-11-30"
STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


def supervisor(client, db):
    boss = make_agent(db, role=Role.supervisor, display_name="王主管")
    login(client, boss)
    return boss


def answered_ticket(db, agent, customer, day=5, gap=60):
    t = h.ticket(db, customer, at=local(day, 10), assignee=agent)
    h.message(db, t, "inbound", local(day, 10))
    h.message(db, t, "outbound", local(day, 10, gap // 60, gap % 60), author=agent)
    return t


def test_agents_get_403_on_the_dashboard_drill_and_exports(client, db):
    login(client, make_agent(db))
    assert client.get(f"/reports?{Q}").status_code == 403
    assert client.get(f"/reports/drill?kpi=reply_rate&{Q}").status_code == 403
    assert client.get(f"/reports/export/kpis.csv?{Q}").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get("/reports", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_dashboard_shows_each_number_beside_its_formula_and_dash_without_data(client, db):
    supervisor(client, db)
    page = client.get(f"/reports?{Q}")
    assert page.status_code == 200
    card = re.search(r'<article class="kpi-card" id="kpi-reply_rate">(.*?)</article>', page.text, re.S).group(
        1
    )
    assert "—" in card and "0%" not in card
    assert "Buyers who got a human reply" in card or "买家" in card
    assert 'type="application/json" id="metrics-chart-data"' in page.text
    assert '<script src="/static/vendor/echarts-6.1.0.min.js"' in page.text
    assert "<script>" not in page.text


def test_dashboard_figures_agent_table_and_chart_data(client, db):
    supervisor(client, db)
    x = make_agent(db, display_name="小美")
    store = make_store(db)
    answered_ticket(db, x, make_customer(db, store=store), gap=60)
    answered_ticket(db, x, make_customer(db, store=store), gap=120)
    page = client.get(f"/reports?{Q}")
    card = re.search(r'id="kpi-first_response_avg">(.*?)</article>', page.text, re.S).group(1)
    assert "/reports/drill?" in card and "kpi=first_response_avg" in card
    assert re.search(r"1\s*(min|分)", card)  # 90 s
    table = re.search(r'id="metrics-agent-table">(.*?)</table>', page.text, re.S).group(1)
    assert "小美" in table
    data = json.loads(re.search(r'id="metrics-chart-data">(.*?)</script>', page.text, re.S).group(1))
    assert len(data["trends"]["dates"]) == 30
    assert sum(cell[2] for cell in data["heat"]["data"]) == 0.5  # two messages on one of 4 Thursdays
    assert data["funnel"][0]["value"] == 0


def test_htmx_filter_change_returns_the_partial(client, db):
    supervisor(client, db)
    response = client.get(f"/reports?{Q}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="metrics-dashboard"')


def test_bad_filters_are_a_clear_4xx_inline(client, db):
    supervisor(client, db)
    hx = {"HX-Request": "true"}
    for query in (
        "start=2026-11-30&end=2026-11-01",
        "start=2025-01-01&end=2026-11-30",
        "start=2026-13-01",
        "agent=999999",
        "team=999999",
        "store=999999",
        "agent=abc",
        "preset=yesterday-ish",
    ):
        response = client.get(f"/reports?{query}", headers=hx)
        assert response.status_code == 422, query
        assert 'class="error-box"' in response.text, query
        assert response.headers["HX-Retarget"] == "#flash"
    assert client.get("/reports?start=2026-11-30&end=2026-11-01").status_code == 422
    assert client.get(f"/reports/drill?kpi=nonsense&{Q}").status_code == 422
    assert client.get(f"/reports/export/secrets.csv?{Q}").status_code == 422


def test_team_and_agent_filters_narrow_the_figures(client, db):
    supervisor(client, db)
    team = make_team(db)
    x = make_agent(db, team=team.name, display_name="小李")
    y = make_agent(db, display_name="小王")
    customer = make_customer(db)
    answered_ticket(db, x, customer, day=3)
    answered_ticket(db, y, customer, day=4)
    page = client.get(f"/reports?{Q}&team={team.id}")
    table = re.search(r'id="metrics-agent-table">(.*?)</table>', page.text, re.S).group(1)
    assert "小李" in table and "小王" not in table


def test_drill_down_lists_the_tickets_behind_a_number(client, db):
    supervisor(client, db)
    x = make_agent(db)
    store = make_store(db)
    shown = [answered_ticket(db, x, make_customer(db, store=store), day=d) for d in (3, 4, 5)]
    october = h.ticket(db, make_customer(db, store=store), at=local(15, month=10), assignee=x)
    h.message(db, october, "inbound", local(15, month=10))
    page = client.get(f"/reports/drill?kpi=first_response_avg&{Q}")
    assert page.status_code == 200
    for t in shown:
        assert f'href="/tickets/{t.id}"' in page.text
    assert f'href="/tickets/{october.id}"' not in page.text
    by_agent = client.get(f"/reports/drill?kpi=first_response_avg&{Q}&agent={make_agent(db).id}")
    assert "/tickets/" not in by_agent.text
    # credited like the KPI: a ticket assigned to someone else but answered by x is x's
    other = answered_ticket(db, make_agent(db), make_customer(db, store=store), day=6)
    h.message(db, other, "inbound", local(6, 11))
    h.message(db, other, "outbound", local(6, 11, 1), author=x)
    mine = client.get(f"/reports/drill?kpi=reply_rate&{Q}&agent={x.id}")
    assert f'href="/tickets/{other.id}"' in mine.text and f'href="/tickets/{shown[0].id}"' in mine.text


def test_drill_down_paginates_with_a_cursor(client, db):
    from app.metrics import drill
    from app.metrics.base import Scope
    from app.metrics.dialect import Sql

    x = make_agent(db)
    store = make_store(db)
    made = [answered_ticket(db, x, make_customer(db, store=store), day=d) for d in range(1, 6)]
    sql = Sql.for_session(db, h.NOVEMBER)
    first = drill.page(db, kpi="reply_rate", sql=sql, scope=Scope(), limit=2)
    assert [r["id"] for r in first.rows] == [made[4].id, made[3].id] and first.next_cursor
    rest = list(drill.all_rows(db, kpi="reply_rate", sql=sql, scope=Scope(), batch=2))
    assert [r["id"] for r in rest] == [t.id for t in reversed(made)]


def test_csv_export_has_a_bom_the_formulas_and_empty_cells_for_no_value(client, db):
    supervisor(client, db)
    x = make_agent(db, display_name="小美")
    answered_ticket(db, x, make_customer(db), gap=45)
    response = client.get(f"/reports/export/kpis.csv?{Q}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    by_key = {row[0]: row for row in rows[1:]}
    assert by_key["first_response_avg"][2] == "45.0"
    assert by_key["first_response_avg"][3:5] == ["45", "1"]
    assert by_key["csat_avg"][2] == ""  # no surveys: no value, not 0
    assert by_key["reply_rate"][6]  # the formula travels with the number

    agents = list(
        csv.reader(io.StringIO(client.get(f"/reports/export/agents.csv?{Q}").text.lstrip("\ufeff")))
    )
    assert agents[1][1] == "小美"
    for table in ("daily", "heatmap", "funnel", "phrasing"):
        assert client.get(f"/reports/export/{table}.csv?{Q}").status_code == 200
    drill_rows = list(
        csv.reader(
            io.StringIO(client.get(f"/reports/export/drill.csv?kpi=reply_rate&{Q}").text.lstrip("\ufeff"))
        )
    )
    assert len(drill_rows) == 2


def test_csv_cells_that_look_like_formulas_are_neutralised(db):
    from app.metrics.exports import rows_to_csv

    text = "".join(rows_to_csv(["a"], [["=HYPERLINK(1)"], ["-5"], ["@x"]]))
    assert "'=HYPERLINK(1)" in text and "\r\n-5\r\n" in text and "'@x" in text


def test_agents_see_their_own_figures_and_only_theirs(client, db):
    me = make_agent(db, display_name="小美")
    other = make_agent(db)
    customer = make_customer(db)
    answered_ticket(db, me, customer, day=3, gap=30)
    answered_ticket(db, other, customer, day=3, gap=300)
    login(client, me)
    page = client.get(f"/reports/me?{Q}&agent={other.id}")  # the agent filter is ignored
    assert page.status_code == 200
    card = re.search(r'id="my-kpi-first_response_avg">(.*?)</article>', page.text, re.S).group(1)
    assert re.search(r"30\s*(s|秒)", card)
    partial = client.get(f"/reports/me/kpis?{Q}", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and partial.text.lstrip().startswith('<section id="my-kpis"')
    assert client.get("/reports/me/kpis").status_code == 200  # default period: the last 30 days


def test_echarts_is_served_and_its_checksum_recorded(client, db):
    table = (STATIC / "vendor" / "VERSIONS.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| echarts-"))
    name, digest = row.split("|")[1].strip(), row.split("|")[-2].strip()
    assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == digest
    assert (STATIC / "vendor" / "echarts.LICENSE").read_text().startswith("\n") or "Apache License" in (
        STATIC / "vendor" / "echarts.LICENSE"
    ).read_text()
    served = client.get(f"/static/vendor/{name}")
    assert served.status_code == 200 and len(served.content) > 500_000
    assert client.get("/static/charts.js").status_code == 200


def test_api_returns_values_with_formulas_and_null_without_data(client, db):
    from tests.factories import bearer, make_api_key

    key = make_api_key(db)
    x = make_agent(db)
    answered_ticket(db, x, make_customer(db), gap=60)
    response = client.get(
        f"/api/v1/metrics?{Q}&kpi=first_response_avg,csat_avg&by_agent=true", headers=bearer(key)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kpis"]["first_response_avg"]["value"] == "60.0"
    assert body["kpis"]["first_response_avg"]["formula"]
    assert body["kpis"]["csat_avg"]["value"] is None
    assert body["per_agent"][str(x.id)]["first_response_avg"] == "60.0"
    assert client.get(f"/api/v1/metrics?{Q}").status_code == 401
    bad = client.get("/api/v1/metrics?start=2026-11-30&end=2026-11-01", headers=bearer(key))
    assert bad.status_code == 422 and bad.json()["error"] == "invalid"
    assert client.get("/api/v1/metrics?kpi=nope", headers=bearer(key)).status_code == 422
    assert client.get("/api/v1/metrics?store=no-such-store", headers=bearer(key)).status_code == 404


def test_an_agents_figures_say_how_old_they_are_and_when_the_worker_is_behind(client, db):
    from datetime import UTC, datetime, timedelta

    import time_machine

    from app.metrics import rollups

    me = make_agent(db, display_name="小美")
    answered_ticket(db, me, make_customer(db), day=3, gap=30)
    refreshed = datetime.now(UTC).replace(microsecond=0)
    rollups.refresh(db, now=refreshed)
    db.commit()
    login(client, me)
    with time_machine.travel(refreshed + timedelta(seconds=20), tick=False):
        fresh = client.get("/reports/me/kpis", headers={"HX-Request": "true"}).text
    with time_machine.travel(refreshed + rollups.LAG + timedelta(minutes=1), tick=False):
        late = client.get("/reports/me/kpis", headers={"HX-Request": "true"}).text
    assert "每隔几秒刷新" in fresh and "落后或已停止" not in fresh
    assert "huitou dispatch" in late and "落后或已停止" in late
