"""Macros: a template plus ticket changes, applied whole; managed by the team's supervisor."""

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.errors import Forbidden, InvalidInput
from app.phrasing.models import PhrasingTemplate, PhrasingVariant
from app.tickets import macros
from app.tickets.models import Macro, MessageDirection, TicketMessage, TicketPriority, TicketStatus
from tests.factories import T0, count, make_agent, make_team
from tests.tickets.helpers import make_ticket


def _template(db, body="亲，感谢您的耐心等待，问题已经为您处理好了。"):
    template = PhrasingTemplate(title="处理完毕", category="bad_review_reply", created_at=T0, updated_at=T0)
    db.add(template)
    db.flush()
    db.add(PhrasingVariant(template_id=template.id, locale="zh_CN", body=body))
    db.flush()
    return template


def _setup(db):
    team = make_team(db)
    supervisor = make_agent(db, team=team.id, role=Role.supervisor)
    agent = make_agent(db, team=team.id)
    return team, supervisor, agent


def test_applying_a_macro_replies_and_changes_the_ticket(db):
    team, supervisor, agent = _setup(db)
    macro = macros.create_macro(
        db,
        actor=supervisor,
        team_id=team.id,
        name="差评已处理",
        template_id=_template(db).id,
        set_status="solved",
        set_priority="high",
        add_tags=["差评", " 已回访 "],
        assign_to="me",
        now=T0,
    )
    assert macro.add_tags == ["差评", "已回访"]
    ticket = make_ticket(db, kind="bad_review")
    macros.apply_macro(
        db, ticket, macro_id=macro.id, agent=agent, now=T0, body="亲，已经为您补发，抱歉给您添麻烦了"
    )
    sent = db.exec(select(TicketMessage).where(TicketMessage.direction == MessageDirection.outbound)).one()
    assert sent.body == "亲，已经为您补发，抱歉给您添麻烦了" and sent.template_id == macro.template_id
    assert ticket.status == TicketStatus.solved
    assert ticket.priority == TicketPriority.high and ticket.priority_rank == 2
    assert ticket.tags == ["差评", "已回访"] and ticket.assignee_id == agent.id


def test_a_macro_without_an_edited_body_renders_its_template(db):
    team, supervisor, agent = _setup(db)
    template = _template(db)
    macro = macros.create_macro(
        db, actor=supervisor, team_id=team.id, name="回复", template_id=template.id, now=T0
    )
    ticket = make_ticket(db, kind="bad_review")
    macros.apply_macro(db, ticket, macro_id=macro.id, agent=agent, now=T0)
    sent = db.exec(select(TicketMessage).where(TicketMessage.direction == MessageDirection.outbound)).one()
    assert sent.body.startswith("亲，感谢您的耐心等待")


def test_a_macro_that_only_changes_the_ticket_sends_nothing(db):
    team, supervisor, agent = _setup(db)
    macro = macros.create_macro(
        db, actor=supervisor, team_id=team.id, name="转回队列", set_status="pending", assign_to="none", now=T0
    )
    ticket = make_ticket(db)
    ticket.assignee_id = agent.id
    macros.apply_macro(db, ticket, macro_id=macro.id, agent=agent, now=T0)
    assert ticket.status == TicketStatus.pending and ticket.assignee_id is None
    assert count(db, TicketMessage, direction="outbound") == 0


def test_a_macro_assigning_to_an_inactive_agent_changes_nothing(db):
    from app.accounts.service import update_agent

    team, supervisor, agent = _setup(db)
    leaver = make_agent(db, team=team.id)
    macro = macros.create_macro(
        db,
        actor=supervisor,
        team_id=team.id,
        name="给小李",
        set_status="solved",
        assign_to=str(leaver.id),
        now=T0,
    )
    update_agent(db, leaver, is_active=False)
    ticket = make_ticket(db)
    with pytest.raises(InvalidInput):
        macros.apply_macro(db, ticket, macro_id=macro.id, agent=agent, now=T0, body="好的")
    assert ticket.status == TicketStatus.open and count(db, TicketMessage, direction="outbound") == 0


def test_agents_see_their_teams_and_shared_macros_only(db):
    team, supervisor, agent = _setup(db)
    admin = make_agent(db, role=Role.admin)
    ours = macros.create_macro(
        db, actor=supervisor, team_id=team.id, name="ours", set_status="pending", now=T0
    )
    shared = macros.create_macro(db, actor=admin, team_id=None, name="shared", set_status="pending", now=T0)
    other_team = make_team(db)
    theirs = macros.create_macro(
        db, actor=admin, team_id=other_team.id, name="theirs", set_status="pending", now=T0
    )
    assert {m.id for m in macros.list_macros(db, agent=agent)} == {ours.id, shared.id}
    with pytest.raises(InvalidInput):
        macros.apply_macro(db, make_ticket(db), macro_id=theirs.id, agent=agent, now=T0)
    macros.update_macro(db, ours, actor=supervisor, now=T0, is_active=False)
    assert {m.id for m in macros.list_macros(db, agent=agent)} == {shared.id}


def test_only_supervisors_of_the_team_manage_its_macros(db):
    team, supervisor, agent = _setup(db)
    with pytest.raises(Forbidden):
        macros.create_macro(db, actor=agent, team_id=team.id, name="x", set_status="solved", now=T0)
    with pytest.raises(Forbidden):
        macros.create_macro(db, actor=supervisor, team_id=None, name="x", set_status="solved", now=T0)
    macro = macros.create_macro(db, actor=supervisor, team_id=team.id, name="x", set_status="solved", now=T0)
    macros.update_macro(db, macro, actor=supervisor, now=T0, name="结案", add_tags="已处理，好评")
    assert (macro.name, macro.add_tags) == ("结案", ["已处理", "好评"])
    macros.delete_macro(db, macro, actor=supervisor, now=T0)
    assert count(db, Macro, id=macro.id) == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": " "}, "name"),
        ({"set_status": "snoozed"}, "set_status"),
        ({"set_priority": "asap"}, "priority"),
        ({"assign_to": "somebody"}, "assign_to"),
        ({"template_id": 10**9}, "template_id"),
        ({"set_status": None}, "template_id"),
    ],
)
def test_bad_macros_are_refused(db, values, field):
    team, supervisor, _ = _setup(db)
    fields = {"name": "宏", "set_status": "solved"} | values
    with pytest.raises(InvalidInput) as err:
        macros.create_macro(db, actor=supervisor, team_id=team.id, now=T0, **fields)
    assert field in err.value.fields
    assert count(db, Macro) == 0
