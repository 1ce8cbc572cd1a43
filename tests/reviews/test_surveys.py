"""CSAT surveys: the follow-up rule that sends them, the signed link, the one answer, the rate limit."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlmodel import select

from app.config import get_settings
from app.errors import Conflict, Forbidden, InvalidInput, RateLimited
from app.events import emit
from app.followups import rules
from app.followups.models import Action, FollowupKind, FollowupRule, FollowupStatus, Outcome
from app.reviews import surveys
from app.reviews.models import CsatSurvey
from app.tickets.models import MessageDirection, TicketMessage, TicketStatus
from tests.factories import T0, make_agent, make_customer, make_store
from tests.followups.helpers import followups, one, run_at
from tests.metrics.quality_helpers import make_solved_ticket, make_survey, make_template, record_use

MIN = timedelta(minutes=1)


def _solve(db, ticket, at=T0):
    emit(db, "ticket.solved", now=at, ticket=ticket)


def _linked_survey(text: str) -> int:
    """The survey id a message's /s/ link carries (the token embeds its signing time)."""
    token = re.search(r"/s/([A-Za-z0-9_.\-]+)", text).group(1)
    return surveys.survey_id_from(token)


def _notes(db, ticket):
    query = select(TicketMessage).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.direction == MessageDirection.note
    )
    return [m.body for m in db.exec(query.order_by(TicketMessage.id))]


# --- the follow-up rule ------------------------------------------------------------------------


def test_a_solved_ticket_gets_a_survey_ten_minutes_later(db):
    agent = make_agent(db)
    template = make_template(db)
    ticket = make_solved_ticket(db, agent=agent, template_id=template.id)
    record_use(db, template, ticket, locale="en", at=T0 - 30 * MIN)
    _solve(db, ticket)
    followup = one(db, FollowupKind.csat_survey, ticket_id=ticket.id)
    assert followup.due_at == T0 + 10 * MIN and followup.action == Action.auto
    assert run_at(db, T0 + 9 * MIN) == 0
    run_at(db, T0 + 10 * MIN)
    db.refresh(followup)
    assert (followup.status, followup.outcome) == (FollowupStatus.done, Outcome.queued)
    survey = surveys.get_survey_for_ticket(db, ticket.id)
    assert survey.agent_id == agent.id and survey.template_id == template.id
    assert survey.customer_id == ticket.customer_id and survey.store_id == ticket.store_id
    assert survey.locale == "en"
    assert survey.sent_at == T0 + 10 * MIN and survey.expires_at == T0 + 10 * MIN + timedelta(days=7)
    assert followup.message.startswith("Hi ")
    assert _linked_survey(followup.message) == survey.id
    assert any(_linked_survey(note) == survey.id for note in _notes(db, ticket) if "/s/" in note)


def test_the_invitation_goes_out_through_the_outbound_channel(db):
    from app.integrations import outbound
    from app.integrations.models import OutboxMessage

    outbound.create_subscription(
        db, url="https://shop.example.cn/hooks", event_types=["message.outbound"], now=T0
    )
    ticket = make_solved_ticket(db)
    _solve(db, ticket)
    run_at(db, T0 + 10 * MIN)
    followup = one(db, FollowupKind.csat_survey, ticket_id=ticket.id)
    assert followup.outcome == Outcome.sent
    message = db.exec(select(OutboxMessage).where(OutboxMessage.event_type == "message.outbound")).one()
    assert message.payload["kind"] == "csat_survey"
    assert message.payload["idempotency_key"] == f"followup-{followup.id}"
    assert "/s/" in message.payload["text"] and "亲" in message.payload["text"]


def test_an_unassigned_ticket_rates_whoever_replied_last_and_phrasing_is_optional(db):
    agent = make_agent(db)
    ticket = make_solved_ticket(db, agent=agent)
    ticket.assignee_id = None
    db.add(ticket)
    _solve(db, ticket)
    run_at(db, T0 + 10 * MIN)
    survey = surveys.get_survey_for_ticket(db, ticket.id)
    assert survey.agent_id == agent.id and survey.template_id is None and survey.locale == "zh_CN"


def test_a_ticket_reopened_before_the_survey_is_skipped_then_surveyed_when_solved_again(db):
    ticket = make_solved_ticket(db)
    _solve(db, ticket)
    ticket.status, ticket.solved_at = TicketStatus.open, None
    db.add(ticket)
    run_at(db, T0 + 10 * MIN)
    first = one(db, FollowupKind.csat_survey, ticket_id=ticket.id)
    assert (first.status, first.reason) == (FollowupStatus.skipped, "ticket reopened")
    assert surveys.get_survey_for_ticket(db, ticket.id) is None
    later = T0 + timedelta(hours=2)
    ticket.status, ticket.solved_at = TicketStatus.solved, later
    db.add(ticket)
    _solve(db, ticket, at=later)
    run_at(db, later + 10 * MIN)
    assert surveys.get_survey_for_ticket(db, ticket.id) is not None


def test_one_survey_per_ticket_even_when_solved_twice(db):
    ticket = make_solved_ticket(db)
    _solve(db, ticket)
    run_at(db, T0 + 10 * MIN)
    later = T0 + timedelta(hours=3)
    ticket.solved_at = later
    db.add(ticket)
    _solve(db, ticket, at=later)
    run_at(db, later + 10 * MIN)
    rows = db.exec(select(CsatSurvey).where(CsatSurvey.ticket_id == ticket.id)).all()
    assert len(rows) == 1
    first, second = followups(db, kind=FollowupKind.csat_survey, ticket_id=ticket.id)
    assert first.status == FollowupStatus.done
    assert (second.status, second.reason) == (FollowupStatus.skipped, "survey already sent")


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no_reply", "no agent reply to rate"),
        ("opted_out", "opted out"),
        ("rule_off", "rule switched off"),
    ],
)
def test_the_survey_is_skipped_when_its_conditions_fail(db, setup, reason):
    customer = make_customer(db)
    ticket = make_solved_ticket(db, customer=customer, reply=setup != "no_reply")
    if setup == "opted_out":
        customer.opted_out_at = T0 - timedelta(days=1)
        db.add(customer)
    _solve(db, ticket)
    if setup == "rule_off":
        rule = db.exec(select(FollowupRule).where(FollowupRule.kind == FollowupKind.csat_survey)).one()
        rule.enabled = False
        db.add(rule)
    run_at(db, T0 + 10 * MIN)
    followup = one(db, FollowupKind.csat_survey, ticket_id=ticket.id)
    assert (followup.status, followup.reason) == (FollowupStatus.skipped, reason)
    assert surveys.get_survey_for_ticket(db, ticket.id) is None


def test_a_ticket_solved_at_night_sends_its_survey_after_quiet_hours(db):
    night = datetime(2026, 11, 11, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    ticket = make_solved_ticket(db, solved_at=night)
    _solve(db, ticket, at=night)
    followup = one(db, FollowupKind.csat_survey, ticket_id=ticket.id)
    assert followup.due_at == datetime(2026, 11, 12, 0, 0, tzinfo=UTC)  # 08:00 local


def test_the_store_setting_decides_how_long_the_link_stays_open(db):
    store = make_store(db)
    rules.update_settings(
        db, store, quiet_start="22:00", quiet_end="08:00", revisit_cap_days="14", csat_expiry_days="3", now=T0
    )
    assert rules.settings_for(db, store).csat_expiry_days == 3
    ticket = make_solved_ticket(db, customer=make_customer(db, store=store))
    _solve(db, ticket)
    run_at(db, T0 + 10 * MIN)
    survey = surveys.get_survey_for_ticket(db, ticket.id)
    assert survey.expires_at - survey.sent_at == timedelta(days=3)


@pytest.mark.parametrize("days", ["0", "61", "x", "1.5"])
def test_a_bad_survey_setting_is_refused(db, days):
    with pytest.raises(InvalidInput) as err:
        rules.update_settings(
            db,
            make_store(db),
            quiet_start="22:00",
            quiet_end="08:00",
            revisit_cap_days="14",
            csat_expiry_days=days,
            now=T0,
        )
    assert "csat_expiry_days" in err.value.fields


def test_the_survey_rule_is_a_default_and_stays_an_automatic_message(db):
    kinds = {r.kind for r in rules.list_rules(db, now=T0)}
    assert FollowupKind.csat_survey in kinds
    rule = db.exec(select(FollowupRule).where(FollowupRule.kind == FollowupKind.csat_survey)).one()
    assert rule.category == rules.SURVEY_CATEGORY and not rule.once
    with pytest.raises(InvalidInput) as err:
        rules.update_rule(db, rule, now=T0, delay_minutes="30", enabled=True, action="task", category="")
    assert "action" in err.value.fields
    rules.update_rule(db, rule, now=T0, delay_minutes="30", enabled=True, action="auto", category="lost_lead")
    assert (rule.delay_minutes, rule.category) == (30, rules.SURVEY_CATEGORY)
    with pytest.raises(InvalidInput):
        rules.create_rule(
            db,
            trigger="order_paid",
            kind="csat_survey",
            delay_minutes="5",
            category="",
            action="auto",
            now=T0,
        )
    added = rules.create_rule(
        db, trigger="ticket_solved", kind="csat_survey", delay_minutes="5", category="", action="auto", now=T0
    )
    assert added.category == rules.SURVEY_CATEGORY and "survey_not_sent" in added.conditions


# --- the signed link -----------------------------------------------------------------------------


def test_a_link_carries_the_survey_id_and_refuses_tampering(db):
    token = surveys.survey_token(42)
    assert surveys.survey_id_from(token) == 42
    head, _, signature = token.rpartition(".")
    # The first character of the signature (the last one may hold unused padding bits).
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other_id = surveys.survey_token(43).split(".")[0]
    for bad in (
        f"{head}.{flipped}",
        f"{other_id}.{token.split('.', 1)[1]}",
        token[1:],
        "",
        "x" * 300,
        "not-a-token",
    ):
        with pytest.raises(surveys.BadSurveyLink):
            surveys.survey_id_from(bad)


def test_a_link_signed_with_another_salt_or_key_is_refused():
    key = get_settings().secret_key
    for serializer in (
        URLSafeTimedSerializer(key, salt="huitou.session"),
        URLSafeTimedSerializer("another-secret-key-of-some-length-000000", salt=surveys.LINK_SALT),
    ):
        with pytest.raises(surveys.BadSurveyLink):
            surveys.survey_id_from(serializer.dumps(42))
    for payload in ("42", 0, -1, True, {"s": 1}):
        token = URLSafeTimedSerializer(key, salt=surveys.LINK_SALT).dumps(payload)
        with pytest.raises(surveys.BadSurveyLink):
            surveys.survey_id_from(token)


def test_an_expired_or_vanished_survey_is_closed(db):
    survey = make_survey(db, make_solved_ticket(db))
    token = surveys.survey_token(survey.id)
    assert surveys.open_survey(db, token, now=T0 + timedelta(days=6)).id == survey.id
    with pytest.raises(surveys.SurveyClosed):
        surveys.open_survey(db, token, now=T0 + timedelta(days=7))
    with pytest.raises(surveys.SurveyClosed):
        surveys.open_survey(db, surveys.survey_token(survey.id + 1000), now=T0)


def test_the_form_token_is_bound_to_its_survey():
    token = surveys.form_token(7)
    surveys.check_form_token(token, 7)
    for bad, survey_id in ((token, 8), ("", 7), (token + "x", 7), (surveys.survey_token(7), 7)):
        with pytest.raises(Forbidden):
            surveys.check_form_token(bad, survey_id)


def test_a_form_left_open_too_long_asks_for_a_reload():
    import time_machine

    with time_machine.travel(datetime.now(UTC) - timedelta(seconds=surveys.FORM_MAX_AGE + 60)):
        token = surveys.form_token(7)
    with pytest.raises(Forbidden) as err:
        surveys.check_form_token(token, 7)
    assert "too long" in err.value.message


# --- the answer ----------------------------------------------------------------------------------


def test_an_answer_is_recorded_once_with_a_note_on_the_ticket(db):
    ticket = make_solved_ticket(db)
    survey = make_survey(db, ticket)
    surveys.answer(db, survey, rating="4", comment="  发货很快，谢谢小美\r\n ", now=T0 + MIN)
    assert (survey.rating, survey.comment, survey.answered_at) == (4, "发货很快，谢谢小美", T0 + MIN)
    assert any("4/5" in note and "发货很快" in note for note in _notes(db, ticket))
    with pytest.raises(Conflict):
        surveys.answer(db, survey, rating="5", comment="", now=T0 + 2 * MIN)
    db.refresh(survey)
    assert survey.rating == 4


def test_a_stale_copy_of_the_survey_cannot_answer_twice(db):
    survey = make_survey(db, make_solved_ticket(db))
    surveys.answer(db, survey, rating=5, comment="", now=T0 + MIN)
    stale = CsatSurvey(**{**survey.model_dump(), "answered_at": None, "rating": None})
    with pytest.raises(Conflict):
        surveys.answer(db, stale, rating=1, comment="", now=T0 + 2 * MIN)
    db.refresh(survey)
    assert survey.rating == 5


@pytest.mark.parametrize("rating", ["0", "6", "", "x", "4.5", "５", "-1", "10", None])
def test_a_rating_outside_one_to_five_is_refused(db, rating):
    survey = make_survey(db, make_solved_ticket(db))
    with pytest.raises(InvalidInput) as err:
        surveys.answer(db, survey, rating=rating, comment="", now=T0 + MIN)
    assert "rating" in err.value.fields
    db.refresh(survey)
    assert survey.answered_at is None


def test_a_long_comment_is_refused_and_an_expired_survey_takes_no_answer(db):
    survey = make_survey(db, make_solved_ticket(db))
    with pytest.raises(InvalidInput):
        surveys.answer(db, survey, rating=3, comment="好" * (surveys.COMMENT_MAX + 1), now=T0 + MIN)
    with pytest.raises(surveys.SurveyClosed):
        surveys.answer(db, survey, rating=3, comment="", now=T0 + timedelta(days=8))
    db.refresh(survey)
    assert survey.answered_at is None


# --- the rate limit ------------------------------------------------------------------------------


def test_a_client_is_limited_and_others_are_not(db):
    for i in range(surveys.MAX_HITS):
        surveys.record_hit(db, client="10.0.0.1", now=T0 + i * timedelta(seconds=1))
    with pytest.raises(RateLimited):
        surveys.record_hit(db, client="10.0.0.1", now=T0 + MIN)
    surveys.record_hit(db, client="10.0.0.2", now=T0 + MIN)
    # Out of the window, the allowance is back.
    surveys.record_hit(db, client="10.0.0.1", now=T0 + surveys.HIT_WINDOW + 2 * MIN)


def test_bad_links_use_up_a_smaller_allowance(db):
    for i in range(surveys.MAX_FAILED):
        hit = surveys.record_hit(db, client="10.0.0.3", now=T0 + i * timedelta(seconds=1))
        surveys.mark_failed(db, hit)
    with pytest.raises(RateLimited):
        surveys.record_hit(db, client="10.0.0.3", now=T0 + MIN)
