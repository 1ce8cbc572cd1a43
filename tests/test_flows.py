"""Cross-domain flows wired through app.events: what one domain does, another follows up."""

from datetime import timedelta

from app.accounts.models import Role
from app.audit.service import Actor
from app.followups.models import FollowupKind
from app.presale import service as presale
from tests.factories import login, make_agent
from tests.followups.helpers import one, run_at
from tests.presale.helpers import make_inquiry, setup


def test_a_lost_inquiry_gets_one_polite_follow_up_task_two_days_later(db, now):
    store, product, customer = setup(db)
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product], agent=agent, now=now)
    presale.mark_lost(db, inquiry, reason="price", actor=Actor.agent(agent), now=now)
    followup = one(db, FollowupKind.lost_lead, customer_id=customer.id)
    assert followup.due_at == now + timedelta(days=2)
    run_at(db, now + timedelta(days=2, minutes=1))
    db.refresh(followup)
    assert followup.status == "done" and followup.outcome == "task_created"


def test_the_customer_page_shows_the_follow_up_timeline(client, db, now):
    store, product, customer = setup(db)
    agent = make_agent(db, role=Role.agent)
    inquiry = make_inquiry(db, store, customer, [product], agent=agent, now=now)
    presale.mark_lost(db, inquiry, reason="no_reply", actor=Actor.agent(agent), now=now)
    login(client, agent)
    page = client.get(f"/customers/{customer.id}")
    assert page.status_code == 200
    assert f'id="customer-followups-{customer.id}"' in page.text
