"""Quality inspection pages: supervisors sample, score and decide appeals; agents see only their own
scores and appeal once; CSRF on every form; bad input a clear 4xx."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.metrics import quality
from app.metrics import quality_appeals as appeals
from app.metrics import quality_sampling as sampling
from app.metrics.models import AppealStatus, InspectionStatus, QaAppeal, QaBatch, QaInspection, QaRubricItem
from tests.factories import T0, count, login, make_agent
from tests.metrics.quality_helpers import make_solved_ticket

FULL = {"points_greeting": "15", "points_accuracy": "35", "points_empathy": "25", "points_policy": "25"}
RECENT = datetime.now(UTC) - timedelta(days=1)


@pytest.fixture
def boss(db):
    return make_agent(db, role=Role.supervisor, display_name="王主管")


@pytest.fixture
def agent(db):
    return make_agent(db, display_name="小美")


def _inspection(db, boss, agent, *, scored=False) -> QaInspection:
    ticket = make_solved_ticket(db, agent=agent, solved_at=RECENT)
    batch = sampling.sample(
        db,
        filters=sampling.SampleFilters(agent_id=agent.id),
        size="1",
        mode="latest",
        name="",
        actor=boss,
        now=T0,
    )
    inspection = db.exec(select(QaInspection).where(QaInspection.batch_id == batch.id)).one()
    assert inspection.ticket_id == ticket.id
    if scored:
        marks = {k.removeprefix("points_"): v for k, v in FULL.items()}
        quality.score(db, inspection, marks=marks | {"empathy": "5"}, actor=boss, now=T0)
    return inspection


def test_agents_cannot_use_the_supervisor_pages(client, db, boss, agent):
    inspection = _inspection(db, boss, agent, scored=True)
    appeal = appeals.appeal(db, inspection, agent=agent, reason="语气没有问题", now=T0)
    csrf = login(client, agent)
    for path in (
        "/reports/quality",
        f"/reports/quality/batches/{inspection.batch_id}",
        f"/reports/quality/inspections/{inspection.id}",
        "/reports/quality/rubric",
    ):
        assert client.get(path).status_code == 403, path
    item = quality.rubric(db, now=T0)[0]
    for path, data in (
        ("/reports/quality/batches", {"size": "5"}),
        (f"/reports/quality/inspections/{inspection.id}/score", FULL),
        (f"/reports/quality/appeals/{appeal.id}/resolve", FULL | {"decision": "upheld"}),
        ("/reports/quality/rubric", {"label": "私自加的", "kind": "points", "max_points": "50"}),
        (f"/reports/quality/rubric/{item.id}", {"active": "0"}),
    ):
        assert client.post(path, data=data | {"csrf_token": csrf}).status_code == 403, path
    db.refresh(appeal)
    assert appeal.status == AppealStatus.open and count(db, QaBatch) == 1
    assert count(db, QaRubricItem, is_active=False) == 0


def test_a_supervisor_samples_scores_and_the_agent_sees_it(client, db, boss, agent):
    ticket = make_solved_ticket(db, agent=agent, solved_at=RECENT)
    csrf = login(client, boss)
    page = client.get("/reports/quality")
    assert page.status_code == 200 and 'id="sample-form"' in page.text
    response = client.post(
        "/reports/quality/batches",
        data={"size": "5", "mode": "random", "agent_id": str(agent.id), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    batch_url = response.headers["location"]
    assert re.fullmatch(r"/reports/quality/batches/\d+", batch_url)
    batch_page = client.get(batch_url)
    assert ticket.subject in batch_page.text
    inspection = db.exec(select(QaInspection).where(QaInspection.ticket_id == ticket.id)).one()
    detail = client.get(f"/reports/quality/inspections/{inspection.id}")
    assert (
        detail.status_code == 200 and 'id="score-form"' in detail.text and "请问什么时候发货" in detail.text
    )
    scored = client.post(
        f"/reports/quality/inspections/{inspection.id}/score",
        data=FULL
        | {"points_empathy": "20", "comment_empathy": "可以更耐心", "comment": "不错", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert scored.status_code == 303
    db.refresh(inspection)
    assert (inspection.status, inspection.score) == (InspectionStatus.scored, 95)
    assert "95.00" in client.get("/reports/quality").text
    client.cookies.clear()
    login(client, agent)
    mine = client.get("/reports/me/quality")
    assert mine.status_code == 200 and ticket.subject in mine.text and "95.00" in mine.text
    own = client.get(f"/reports/me/quality/{inspection.id}")
    assert own.status_code == 200 and "可以更耐心" in own.text and 'id="appeal-form"' in own.text


def test_a_fatal_item_through_the_form_scores_zero(client, db, boss, agent):
    inspection = _inspection(db, boss, agent)
    csrf = login(client, boss)
    client.post(
        f"/reports/quality/inspections/{inspection.id}/score",
        data=FULL | {"fatal": "leaked_buyer_data", "csrf_token": csrf},
    )
    db.refresh(inspection)
    assert (inspection.fatal, inspection.score) == (True, 0)


def test_the_agent_appeals_once_and_the_supervisor_decides(client, db, boss, agent):
    inspection = _inspection(db, boss, agent, scored=True)
    csrf = login(client, agent)
    response = client.post(
        f"/reports/me/quality/{inspection.id}/appeal",
        data={"reason": "买家情绪激动，我一直在安抚", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    again = client.post(
        f"/reports/me/quality/{inspection.id}/appeal", data={"reason": "再申诉一次", "csrf_token": csrf}
    )
    assert again.status_code == 409
    client.cookies.clear()
    csrf = login(client, boss)
    appeal = db.exec(select(QaAppeal)).one()
    listed = client.get("/reports/quality")
    assert 'id="open-appeals"' in listed.text and "买家情绪激动" in listed.text
    detail = client.get(f"/reports/quality/inspections/{inspection.id}")
    assert 'id="resolve-form"' in detail.text and 'id="score-form"' not in detail.text
    locked = client.post(
        f"/reports/quality/inspections/{inspection.id}/score", data=FULL | {"csrf_token": csrf}
    )
    assert locked.status_code == 409
    decided = client.post(
        f"/reports/quality/appeals/{appeal.id}/resolve",
        data=FULL | {"decision": "upheld", "resolution": "复核后同意", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    db.refresh(appeal)
    db.refresh(inspection)
    assert (appeal.status, inspection.score) == (AppealStatus.upheld, 100)
    twice = client.post(
        f"/reports/quality/appeals/{appeal.id}/resolve",
        data={"decision": "rejected", "resolution": "x", "csrf_token": csrf},
    )
    assert twice.status_code == 409


def test_an_agent_cannot_see_or_appeal_another_agents_inspection(client, db, boss, agent):
    other = make_agent(db)
    inspection = _inspection(db, boss, other, scored=True)
    csrf = login(client, agent)
    assert client.get(f"/reports/me/quality/{inspection.id}").status_code == 403
    response = client.post(
        f"/reports/me/quality/{inspection.id}/appeal", data={"reason": "替同事申诉", "csrf_token": csrf}
    )
    assert response.status_code == 403
    assert client.get("/reports/me/quality/999999").status_code == 404
    assert quality.appeal_of(db, inspection.id) is None


def test_an_appeal_on_an_unscored_ticket_is_refused(client, db, boss, agent):
    inspection = _inspection(db, boss, agent)
    csrf = login(client, agent)
    page = client.get(f"/reports/me/quality/{inspection.id}")
    assert page.status_code == 200 and 'id="appeal-form"' not in page.text
    response = client.post(
        f"/reports/me/quality/{inspection.id}/appeal", data={"reason": "还没打分", "csrf_token": csrf}
    )
    assert response.status_code == 422 and quality.appeal_of(db, inspection.id) is None


@pytest.mark.parametrize(
    "data",
    [
        {"size": "5", "agent_id": "999999"},
        {"size": "5", "kind": "gossip"},
        {"size": "0"},
        {"size": "5", "start": "2026-11-30", "end": "2026-11-01"},
        {"size": "5", "max_csat": "9"},
        {"size": "5", "mode": "everything"},
    ],
)
def test_bad_sampling_input_is_a_clear_4xx(client, db, boss, agent, data):
    make_solved_ticket(db, agent=agent, solved_at=RECENT)
    csrf = login(client, boss)
    response = client.post("/reports/quality/batches", data=data | {"csrf_token": csrf})
    assert response.status_code == 422 and 'class="error-box"' in response.text
    assert count(db, QaBatch) == 0


def test_bad_scores_and_unknown_rows_are_clear_4xx(client, db, boss, agent):
    inspection = _inspection(db, boss, agent)
    csrf = login(client, boss)
    bad = client.post(
        f"/reports/quality/inspections/{inspection.id}/score",
        data=FULL | {"points_greeting": "99", "csrf_token": csrf},
    )
    assert bad.status_code == 422
    db.refresh(inspection)
    assert inspection.status == InspectionStatus.pending
    assert client.get("/reports/quality/inspections/999999").status_code == 404
    assert client.get("/reports/quality/batches/999999").status_code == 404
    assert (
        client.post("/reports/quality/appeals/999999/resolve", data={"csrf_token": csrf}).status_code == 404
    )
    nothing = client.post(
        "/reports/quality/batches", data={"size": "5", "kind": "revisit", "csrf_token": csrf}
    )
    assert nothing.status_code == 422


def test_the_rubric_page_adds_and_switches_items(client, db, boss):
    csrf = login(client, boss)
    page = client.get("/reports/quality/rubric")
    assert page.status_code == 200 and 'id="rubric-items"' in page.text
    added = client.post(
        "/reports/quality/rubric",
        data={"label": "主动推荐", "kind": "points", "max_points": "10", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert added.status_code == 303
    item = db.exec(select(QaRubricItem).where(QaRubricItem.label == "主动推荐")).one()
    client.post(f"/reports/quality/rubric/{item.id}", data={"active": "0", "csrf_token": csrf})
    db.refresh(item)
    assert item.is_active is False
    assert (
        client.post(
            "/reports/quality/rubric", data={"label": "", "kind": "points", "csrf_token": csrf}
        ).status_code
        == 422
    )


def test_every_form_needs_the_csrf_token(client, db, boss, agent):
    inspection = _inspection(db, boss, agent, scored=True)
    appeal = appeals.appeal(db, inspection, agent=agent, reason="请复核", now=T0)
    item = quality.rubric(db, now=T0)[0]
    login(client, boss)
    for path, data in (
        ("/reports/quality/batches", {"size": "5"}),
        (f"/reports/quality/inspections/{inspection.id}/score", FULL),
        (f"/reports/quality/appeals/{appeal.id}/resolve", FULL | {"decision": "upheld"}),
        ("/reports/quality/rubric", {"label": "x", "kind": "points", "max_points": "5"}),
        (f"/reports/quality/rubric/{item.id}", {"active": "0"}),
        (f"/reports/me/quality/{inspection.id}/appeal", {"reason": "请复核一下"}),
    ):
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data=data | {"csrf_token": "forged"}).status_code == 403, path
    db.refresh(appeal)
    assert appeal.status == AppealStatus.open and count(db, QaBatch) == 1
