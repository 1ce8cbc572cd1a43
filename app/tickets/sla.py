"""SLA clocks of a ticket: response and resolution targets per priority, and the one `due_at` the
queue orders by (the earliest deadline still open)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.tickets.models import Ticket, TicketPriority

# The default targets, in calendar time, until the metrics issue adds per-team policies (with
# business hours). First response and each next response share a target; resolution is 4× it.
DEFAULT_RESPONSE_TARGETS: dict[TicketPriority, timedelta] = {
    TicketPriority.urgent: timedelta(minutes=15),
    TicketPriority.high: timedelta(hours=1),
    TicketPriority.normal: timedelta(hours=4),
    TicketPriority.low: timedelta(hours=24),
}
RESOLUTION_FACTOR = 4


def response_target(priority: TicketPriority | str) -> timedelta:
    return DEFAULT_RESPONSE_TARGETS[TicketPriority(priority)]


def resolution_target(priority: TicketPriority | str) -> timedelta:
    return response_target(priority) * RESOLUTION_FACTOR


def start_clocks(ticket: Ticket, *, now: datetime, deadline: datetime | None = None) -> None:
    """A new ticket: first response and resolution targets from `now`. A task's own deadline (an
    after-sales clock) is a resolution deadline too: the earlier of the two holds."""
    ticket.first_response_due_at = now + response_target(ticket.priority)
    resolution = now + resolution_target(ticket.priority)
    ticket.resolution_due_at = min(resolution, deadline) if deadline is not None else resolution
    refresh_due(ticket)


def buyer_waiting(ticket: Ticket, *, now: datetime) -> None:
    """A buyer message arrived: the next-response clock starts, unless an earlier unanswered
    message already started it."""
    if ticket.next_response_due_at is None:
        ticket.next_response_due_at = now + response_target(ticket.priority)
    refresh_due(ticket)


def answered(ticket: Ticket, *, now: datetime) -> None:
    """A person replied: the first response is met (once) and nobody waits for a next one."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    ticket.next_response_due_at = None
    refresh_due(ticket)


def restart_resolution(ticket: Ticket, *, now: datetime) -> None:
    """A reopened ticket gets a fresh resolution target."""
    ticket.resolution_due_at = now + resolution_target(ticket.priority)
    refresh_due(ticket)


def priority_changed(ticket: Ticket) -> None:
    """Response targets follow the new priority from their anchors (created / last buyer message).
    The resolution deadline only ever tightens: it may be a task's own deadline, never loosened."""
    target = response_target(ticket.priority)
    if ticket.first_response_at is None:
        ticket.first_response_due_at = ticket.created_at + target
    if ticket.next_response_due_at is not None and ticket.last_inbound_at is not None:
        ticket.next_response_due_at = ticket.last_inbound_at + target
    tighter = ticket.created_at + resolution_target(ticket.priority)
    if ticket.resolution_due_at is None or tighter < ticket.resolution_due_at:
        ticket.resolution_due_at = tighter
    refresh_due(ticket)


def tighten_deadline(ticket: Ticket, deadline: datetime) -> None:
    """A task brought its own deadline (an after-sales clock) to an existing ticket."""
    if ticket.resolution_due_at is None or deadline < ticket.resolution_due_at:
        ticket.resolution_due_at = deadline
    refresh_due(ticket)


def open_deadlines(ticket: Ticket) -> list[datetime]:
    deadlines = []
    if ticket.first_response_at is None and ticket.first_response_due_at is not None:
        deadlines.append(ticket.first_response_due_at)
    if ticket.next_response_due_at is not None:
        deadlines.append(ticket.next_response_due_at)
    if ticket.resolution_due_at is not None:
        deadlines.append(ticket.resolution_due_at)
    return deadlines


def refresh_due(ticket: Ticket) -> None:
    deadlines = open_deadlines(ticket)
    ticket.due_at = min(deadlines) if deadlines else None
