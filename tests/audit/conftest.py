import pytest

from app.presale.rounds import record_round
from tests.factories import T0, make_agent
from tests.presale.helpers import make_inquiry, setup


@pytest.fixture
def pending(db):
    """An agent agreed 150.00 below the floor: the round waits for a supervisor's approval."""
    store, product, customer = setup(db)
    agent = make_agent(db)
    inquiry = make_inquiry(db, store, customer, [product], agent=agent)
    outcome = record_round(
        db,
        inquiry,
        product_id=product.id,
        speaker="agent",
        offered_price="150",
        is_agreed=True,
        agent=agent,
        now=T0,
    )
    outcome.requester = agent
    return outcome
