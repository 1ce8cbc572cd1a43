"""CSAT surveys: the invitation after a solved ticket, its signed link, the buyer's one answer, and the
rate limit of the public page under /s/.

The link carries the survey id signed with HUITOU_SECRET_KEY (itsdangerous, its own salt); how long
it stays open is the survey's `expires_at` (the store's follow-up setting, 7 days by default), so a
supervisor's change of the setting never breaks links already sent. There is no session on the
public page: the answer form carries its own signed token bound to the survey (see `form_token`).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Session, select

from app.config import SUPPORTED_LOCALES, get_settings
from app.customers.models import Customer
from app.errors import Conflict, DomainError, Forbidden, InvalidInput, RateLimited
from app.i18n import N_, gettext
from app.integrations.models import Store
from app.phrasing.models import PhrasingUsage
from app.reviews.models import CsatSurvey, CsatSurveyHit
from app.tickets.models import MessageDirection, Ticket, TicketMessage

LINK_SALT = "huitou.csat.link"
FORM_SALT = "huitou.csat.form"
FORM_MAX_AGE = 6 * 3600  # a form left open longer than this asks the buyer to reload the page
MAX_TOKEN_LENGTH = 200
COMMENT_MAX = 1000
RATINGS = (1, 2, 3, 4, 5)
# The public page's allowance per client: requests, and links that did not check out.
HIT_WINDOW = timedelta(minutes=10)
MAX_HITS = 60
MAX_FAILED = 15
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Buyer-facing, in the survey's language (not the UI's): what the invitation message says.
INVITATIONS = {
    "zh_CN": "亲，{name}您好！这次{store}的服务您还满意吗？花十秒帮我们打个分吧：{url}"
    " 您的每一条意见我们都会认真看，谢谢～",
    "en": "Hi {name}, thank you for contacting {store}. How did we do? Rating us takes ten seconds: {url}"
    " We read every answer.",
}


class BadSurveyLink(DomainError):
    """A link that was altered or never ours."""

    status_code = 400
    code = "bad_link"


class SurveyClosed(DomainError):
    """A link past its time, or to a survey that no longer exists."""

    status_code = 410
    code = "gone"


# --- signing -----------------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=salt)


def survey_token(survey_id: int) -> str:
    return _serializer(LINK_SALT).dumps(survey_id)


def survey_id_from(token: str) -> int:
    """The survey id a link carries; BadSurveyLink when it was tampered with."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise BadSurveyLink(
            N_("This survey link is not valid. Please use the link exactly as you received it.")
        )
    try:
        value = _serializer(LINK_SALT).loads(token)
    except (BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise BadSurveyLink(
            N_("This survey link is not valid. Please use the link exactly as you received it.")
        ) from exc
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise BadSurveyLink(
            N_("This survey link is not valid. Please use the link exactly as you received it.")
        )
    return value


def survey_url(survey: CsatSurvey) -> str:
    return f"{get_settings().base_url.rstrip('/')}/s/{survey_token(survey.id)}"


def form_token(survey_id: int) -> str:
    """The answer form's token: signed, bound to this survey, dated. Without a session there is no
    ambient credential a forged cross-site form could ride on, yet the token proves the answer
    comes from a page we rendered for this very survey, recently (replays of old forms fail)."""
    return _serializer(FORM_SALT).dumps({"s": survey_id, "n": secrets.token_urlsafe(6)})


def check_form_token(token: str, survey_id: int) -> None:
    try:
        value = _serializer(FORM_SALT).loads(token or "", max_age=FORM_MAX_AGE)
    except SignatureExpired as exc:
        raise Forbidden("This page was open for too long. Please reload it and answer again.") from exc
    except (BadSignature, ValueError, UnicodeDecodeError) as exc:
        raise Forbidden(
            "This answer did not come from the survey page. Please reload it and answer again."
        ) from exc
    if not isinstance(value, dict) or value.get("s") != survey_id:
        raise Forbidden("This answer did not come from the survey page. Please reload it and answer again.")


# --- the invitation (a follow-up rule after a solved ticket) -------------------------------------


def get_survey_for_ticket(session: Session, ticket_id: int) -> CsatSurvey | None:
    return session.exec(select(CsatSurvey).where(CsatSurvey.ticket_id == ticket_id)).first()


def last_agent_reply(session: Session, ticket_id: int) -> TicketMessage | None:
    """The ticket's last message typed by a person to the buyer (automatic ones excluded)."""
    query = (
        select(TicketMessage)
        .where(TicketMessage.ticket_id == ticket_id, TicketMessage.direction == MessageDirection.outbound)
        .where(TicketMessage.automated.is_(False), TicketMessage.author_id.is_not(None))
        .order_by(TicketMessage.created_at.desc(), TicketMessage.id.desc())
    )
    return session.exec(query.limit(1)).first()


def normalize_locale(value: str | None) -> str | None:
    text = (value or "").replace("-", "_").strip()
    if text in SUPPORTED_LOCALES:
        return text
    if text.lower().startswith("zh"):
        return "zh_CN"
    if text.lower().startswith("en"):
        return "en"
    return None


def _locale_for(session: Session, ticket_id: int, template_id: int | None) -> str:
    """The language the agent last wrote to the buyer in (the phrasing variant used), else the default."""
    if template_id is not None:
        used = session.exec(
            select(PhrasingUsage.locale)
            .where(PhrasingUsage.ticket_id == ticket_id, PhrasingUsage.template_id == template_id)
            .order_by(PhrasingUsage.used_at.desc(), PhrasingUsage.id.desc())
            .limit(1)
        ).first()
        locale = normalize_locale(used)
        if locale:
            return locale
    return get_settings().default_locale


def invitation_text(survey: CsatSurvey, *, store_name: str, buyer_name: str) -> str:
    template = INVITATIONS.get(survey.locale, INVITATIONS["zh_CN"])
    name = buyer_name or ("" if survey.locale == "zh_CN" else "there")
    return template.format(name=name, store=store_name, url=survey_url(survey))


def invite(
    session: Session, *, ticket: Ticket, store: Store, customer: Customer, days: int, now: datetime
) -> tuple[CsatSurvey, str]:
    """Create the ticket's survey and the invitation text. The agent rated is the ticket's assignee
    (or, unassigned, whoever replied last); the phrasing is that of the last agent reply."""
    if get_survey_for_ticket(session, ticket.id) is not None:
        raise Conflict("Ticket {id} already has a satisfaction survey.", id=ticket.id)
    reply = last_agent_reply(session, ticket.id)
    template_id = reply.template_id if reply is not None else None
    survey = CsatSurvey(
        ticket_id=ticket.id,
        store_id=ticket.store_id or customer.store_id,
        customer_id=customer.id,
        agent_id=ticket.assignee_id or (reply.author_id if reply is not None else None),
        template_id=template_id,
        locale=_locale_for(session, ticket.id, template_id),
        sent_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(survey)
    session.flush()
    text = invitation_text(survey, store_name=store.name, buyer_name=customer.nickname or customer.name)
    return survey, text


def _note(session: Session, ticket_id: int, body: str, now: datetime) -> TicketMessage:
    message = TicketMessage(ticket_id=ticket_id, direction=MessageDirection.note, body=body, created_at=now)
    session.add(message)
    session.flush()
    return message


def note_invitation(
    session: Session, ticket: Ticket, survey: CsatSurvey, *, sent: bool, now: datetime
) -> None:
    """An internal note on the ticket, so the agent sees the survey went out (or must be sent by hand)."""
    if sent:
        body = gettext("Satisfaction survey sent to the buyer: {url}")
    else:
        body = gettext(
            "Satisfaction survey ready, but no outbound channel is connected: send this link by hand: {url}"
        )
    _note(session, ticket.id, body.format(url=survey_url(survey)), now)


# --- the buyer's answer ------------------------------------------------------------------------


def open_survey(session: Session, token: str, *, now: datetime) -> CsatSurvey:
    """The survey behind a link, answered or not; BadSurveyLink / SurveyClosed when it cannot be used."""
    survey = session.get(CsatSurvey, survey_id_from(token))
    if survey is None:
        raise SurveyClosed(N_("This survey is no longer available."))
    if survey.answered_at is None and now >= survey.expires_at:
        raise SurveyClosed(N_("This survey has closed. Thank you all the same!"))
    return survey


def parse_rating(value: object) -> int:
    text = str(value if value is not None else "").strip()
    if text.isascii() and text.isdigit() and len(text) == 1 and int(text) in RATINGS:
        return int(text)
    raise InvalidInput("Please choose a rating from 1 to 5.", fields={"rating": "1–5"})


def clean_comment(value: str | None) -> str:
    text = _CONTROL.sub("", (value or "").replace("\r\n", "\n")).strip()
    if len(text) > COMMENT_MAX:
        raise InvalidInput(
            "A comment has at most {n} characters.",
            fields={"comment": f"at most {COMMENT_MAX}"},
            n=COMMENT_MAX,
        )
    return text


def answer(
    session: Session, survey: CsatSurvey, *, rating: object, comment: str | None, now: datetime
) -> CsatSurvey:
    """Record the one answer. A second answer (also two at once) is a Conflict; nothing is half written."""
    if survey.answered_at is not None:
        raise Conflict("This survey has already been answered. Thank you!")
    if now >= survey.expires_at:
        raise SurveyClosed(N_("This survey has closed. Thank you all the same!"))
    value = parse_rating(rating)
    text = clean_comment(comment)
    # A conditional update: of two answers racing, exactly one finds the survey unanswered.
    result = session.execute(
        sa.update(CsatSurvey)
        .where(CsatSurvey.id == survey.id, CsatSurvey.answered_at.is_(None))
        .values(rating=value, comment=text, answered_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("This survey has already been answered. Thank you!")
    session.refresh(survey)
    body = gettext("The buyer rated this conversation {rating}/5.").format(rating=value)
    if text:
        body += "\n" + text
    _note(session, survey.ticket_id, body, now)
    return survey


# --- the public page's rate limit --------------------------------------------------------------


def record_hit(session: Session, *, client: str, now: datetime) -> CsatSurveyHit:
    """Count this request against the client's allowance; RateLimited when it is used up.

    Written before anything is read, so on SQLite the request takes the write lock up front.
    The caller must commit even when this raises (render the refusal, do not raise through).
    """
    hit = CsatSurveyHit(client=client[:64], hit_at=now)
    session.add(hit)
    session.flush()
    since = now - HIT_WINDOW
    session.execute(sa.delete(CsatSurveyHit).where(CsatSurveyHit.hit_at < since))
    total, failed = session.execute(
        sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((CsatSurveyHit.failed, 1), else_=0)), 0)
        ).where(CsatSurveyHit.client == hit.client, CsatSurveyHit.hit_at >= since)
    ).one()
    if total > MAX_HITS or failed >= MAX_FAILED:
        raise RateLimited("Too many requests from your network. Please wait a few minutes and try again.")
    return hit


def mark_failed(session: Session, hit: CsatSurveyHit) -> None:
    hit.failed = True
    session.add(hit)
    session.flush()
