"""The public survey page (/s/{token}): no login, phone-first, in the survey's language with a switch.

Every refusal is a friendly page with its status (400 tampered, 403 stale form, 409 answered twice,
410 closed, 422 bad rating with the form again, 429 too many requests), rendered rather than raised
so the request's rate-limit record is committed with it. No session cookie is set here.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.config import SUPPORTED_LOCALES, get_settings
from app.db import SessionDep, utc_now
from app.errors import DomainError, Forbidden
from app.i18n import LOCALE_LABELS, N_, current_locale
from app.reviews import surveys
from app.reviews.models import CsatSurvey
from app.web import templates

router = APIRouter(include_in_schema=False)

RATING_LABELS = {
    1: N_("Very dissatisfied"),
    2: N_("Dissatisfied"),
    3: N_("Okay"),
    4: N_("Satisfied"),
    5: N_("Very satisfied"),
}
HEADERS = {
    # The page holds a signed link and a form token: never cached, never leaked in a Referer.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _locale(lang: str | None, survey: CsatSurvey | None) -> str:
    chosen = surveys.normalize_locale(lang) if lang else None
    if chosen:
        return chosen
    if survey is not None and survey.locale in SUPPORTED_LOCALES:
        return survey.locale
    return current_locale.get()


def _page(
    request: Request, name: str, context: dict[str, Any], *, locale: str, status: int = 200
) -> HTMLResponse:
    """Rendered in the survey's language (not the visitor's session: there is none)."""
    reset = current_locale.set(locale)
    try:
        base = {
            "request": request,
            "locale": locale,
            "locale_labels": LOCALE_LABELS,
            "path": request.url.path,
            "rating_labels": RATING_LABELS,
        }
        response = templates.TemplateResponse(
            request, name, base | context, status_code=status, headers=HEADERS | {"Content-Language": locale}
        )
    finally:
        current_locale.reset(reset)
    return response


def _problem(request: Request, exc: DomainError, *, locale: str) -> HTMLResponse:
    reset = current_locale.set(locale)
    try:
        detail = exc.localized()
    finally:
        current_locale.reset(reset)
    headers = {"Retry-After": "600"} if exc.status_code == 429 else {}
    response = _page(
        request,
        "surveys/problem.html",
        {"status": exc.status_code, "detail": detail},
        locale=locale,
        status=exc.status_code,
    )
    response.headers.update(headers)
    return response


def _form(
    request: Request,
    survey: CsatSurvey,
    *,
    locale: str,
    status: int = 200,
    error: str = "",
    rating: str = "",
    comment: str = "",
) -> HTMLResponse:
    context = {
        "survey": survey,
        "form_token": surveys.form_token(survey.id),
        "error": error,
        "chosen": rating,
        "comment": comment,
        "comment_max": surveys.COMMENT_MAX,
    }
    return _page(request, "surveys/survey.html", context, locale=locale, status=status)


def _same_origin(request: Request) -> bool:
    """A browser names the page that sent a form; a form from another site is refused."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return True
    allowed = {urlsplit(get_settings().base_url).netloc, request.headers.get("host", "")}
    return urlsplit(origin).netloc in allowed


@router.get("/s/{token}")
def survey_page(request: Request, session: SessionDep, token: str, lang: str | None = None) -> Response:
    now = utc_now()
    locale = _locale(lang, None)
    try:
        hit = surveys.record_hit(session, client=_client(request), now=now)
    except DomainError as exc:
        return _problem(request, exc, locale=locale)
    try:
        survey = surveys.open_survey(session, token, now=now)
    except DomainError as exc:
        if isinstance(exc, surveys.BadSurveyLink):
            surveys.mark_failed(session, hit)
        return _problem(request, exc, locale=locale)
    locale = _locale(lang, survey)
    if survey.answered_at is not None:
        return _page(request, "surveys/thanks.html", {"survey": survey}, locale=locale)
    return _form(request, survey, locale=locale)


@router.post("/s/{token}")
def survey_answer(
    request: Request,
    session: SessionDep,
    token: str,
    rating: Annotated[str, Form(max_length=8)] = "",
    comment: Annotated[str, Form(max_length=20_000)] = "",
    form_token: Annotated[str, Form(max_length=400)] = "",
    lang: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    now = utc_now()
    locale = _locale(lang, None)
    try:
        hit = surveys.record_hit(session, client=_client(request), now=now)
    except DomainError as exc:
        return _problem(request, exc, locale=locale)
    try:
        survey = surveys.open_survey(session, token, now=now)
    except DomainError as exc:
        if isinstance(exc, surveys.BadSurveyLink):
            surveys.mark_failed(session, hit)
        return _problem(request, exc, locale=locale)
    locale = _locale(lang, survey)
    try:
        if not _same_origin(request):
            raise Forbidden(
                "This answer did not come from the survey page. Please reload it and answer again."
            )
        surveys.check_form_token(form_token, survey.id)
        surveys.answer(session, survey, rating=rating, comment=comment, now=now)
    except DomainError as exc:
        if exc.status_code == 422:
            reset = current_locale.set(locale)
            try:
                error = exc.localized()
            finally:
                current_locale.reset(reset)
            return _form(
                request, survey, locale=locale, status=422, error=error, rating=rating, comment=comment[:2000]
            )
        return _problem(request, exc, locale=locale)
    # Post/redirect/get: a reload of the thank-you page does not post again.
    query = f"?lang={locale}" if lang else ""
    return RedirectResponse(f"/s/{token}{query}", status_code=303, headers=HEADERS)
