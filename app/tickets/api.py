"""JSON API of the tickets domain (/api/v1): list, read (with the conversation), post a reply or a
note, open a ticket. The buyer's phone, email and street are masked unless the key is admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlmodel import Session, select

from app.accounts.deps import ReadKey, WriteKey
from app.accounts.models import Agent, ApiKey
from app.customers.masking import customer_view
from app.customers.models import Customer
from app.db import SessionDep, utc_now
from app.errors import InvalidInput
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from app.tickets import service
from app.tickets.models import Ticket, TicketKind, TicketStatus
from app.tickets.schemas import (
    TicketCreate,
    TicketDetail,
    TicketMessageCreate,
    TicketMessageRead,
    TicketRead,
)

router = APIRouter(prefix="/api/v1", tags=["tickets"])
ERRORS = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The key's scope is too small"},
    422: {"description": "Invalid input; `fields` names each bad field"},
}
NOT_FOUND = {404: {"description": "No such ticket"}}


@router.get(
    "/tickets", response_model=Page[TicketRead], responses=ERRORS, summary="List tickets, newest first"
)
def list_tickets(
    session: SessionDep,
    key: ReadKey,
    status: TicketStatus | None = None,
    kind: TicketKind | None = None,
    assignee_id: Annotated[int | None, Query(ge=1)] = None,
    customer_id: Annotated[int | None, Query(ge=1)] = None,
    order_id: Annotated[int | None, Query(ge=1)] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[TicketRead]:
    query = select(Ticket)
    for column, value in (
        (Ticket.status, status),
        (Ticket.kind, kind),
        (Ticket.assignee_id, assignee_id),
        (Ticket.customer_id, customer_id),
        (Ticket.order_id, order_id),
    ):
        if value is not None:
            query = query.where(column == value)
    rows = paginate(session, query, Ticket.id, cursor=cursor, limit=limit)
    return Page[TicketRead](items=[TicketRead.of(t) for t in rows.items], next_cursor=rows.next_cursor)


def _detail(session: Session, ticket: Ticket, key: ApiKey) -> TicketDetail:
    customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    return TicketDetail(
        **TicketRead.of(ticket).model_dump(),
        customer=customer_view(customer, key) if customer is not None else None,
        messages=[TicketMessageRead.of(m) for m in service.messages_of(session, ticket.id)],
    )


@router.get(
    "/tickets/{ticket_id}",
    response_model=TicketDetail,
    responses=ERRORS | NOT_FOUND,
    summary="Read a ticket with its messages and customer",
)
def read_ticket(ticket_id: int, session: SessionDep, key: ReadKey) -> TicketDetail:
    return _detail(session, service.require_ticket(session, ticket_id), key)


def _author(session: Session, agent_id: int | None) -> Agent | None:
    if agent_id is None:
        return None
    agent = session.get(Agent, agent_id)
    if agent is None or not agent.is_active:
        raise InvalidInput(
            "agent_id must be an active agent.", fields={"agent_id": "unknown or inactive agent"}
        )
    return agent


@router.post(
    "/tickets/{ticket_id}/messages",
    response_model=TicketMessageRead,
    status_code=201,
    responses=ERRORS | NOT_FOUND,
    summary="Reply to the buyer or add an internal note",
)
def post_message(
    ticket_id: int, body: TicketMessageCreate, session: SessionDep, key: WriteKey
) -> TicketMessageRead:
    ticket = service.require_ticket(session, ticket_id)
    agent = _author(session, body.agent_id)
    now = utc_now()
    if body.type == "note":
        message = service.add_note(session, ticket, agent=agent, body=body.body, now=now)
    else:
        message = service.reply(
            session,
            ticket,
            agent=agent,
            body=body.body,
            now=now,
            channel=body.channel,
            then_status=body.then_status,
            automated=body.automated,
        )
    return TicketMessageRead.of(message)


@router.post(
    "/tickets",
    response_model=TicketRead,
    status_code=201,
    responses=ERRORS
    | {200: {"description": "The customer's active ticket of this kind took the body as a note"}},
    summary="Open a ticket for a customer",
)
def create_ticket(body: TicketCreate, session: SessionDep, key: WriteKey, response: Response) -> TicketRead:
    ticket, created = service.open_ticket(session, now=utc_now(), **body.model_dump())
    if not created:
        response.status_code = 200
    return TicketRead.of(ticket)
