"""Template rendering: a full page, or the partial when htmx asks; redirects; formatting filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale
from babel.dates import TIMEDELTA_UNITS, format_timedelta
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_currency
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app import __version__
from app.config import get_settings
from app.errors import is_htmx
from app.i18n import LOCALE_LABELS, N_, current_locale, gettext, ngettext

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=jinja2.select_autoescape(("html", "xml")),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
    # In production templates only change with a deploy (which restarts the server): no stat()
    # of every included template on every render (about 5 % of a ticket page's time).
    auto_reload=get_settings().environment != "production",
)
templates = Jinja2Templates(env=_env)
templates.env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.env.globals["_"] = gettext
templates.env.globals["app_version"] = __version__
templates.env.globals["locale_labels"] = LOCALE_LABELS


@lru_cache(maxsize=8)
def babel_locale(code: str) -> Locale:
    # Parsing a locale name scans Babel's locale list (about a millisecond): once per name,
    # not once per date or amount on a page.
    return Locale.parse(code)


def format_money(amount: Decimal | None, currency: str = "CNY") -> str:
    if amount is None:
        return "—"
    return _format_money(amount, currency, current_locale.get())


@lru_cache(maxsize=4096)
def _format_money(amount: Decimal, currency: str, locale: str) -> str:
    # Prices and order totals repeat across the pages agents keep reloading: once per value.
    return format_currency(amount, currency, locale=babel_locale(locale))


def format_time(value: datetime | None, tz: str | None = None, fmt: str = "medium") -> str:
    if value is None:
        return "—"
    return _format_time(value, tz or get_settings().default_timezone, fmt, current_locale.get())


@lru_cache(maxsize=4096)
def _format_time(value: datetime, tz: str, fmt: str, locale: str) -> str:
    # Fifty agents polling the same queues format the same timestamps over and over: ~13 µs each
    # in Babel, a few hundred per queue page.
    return babel_format_datetime(value.astimezone(ZoneInfo(tz)), format=fmt, locale=babel_locale(locale))


def format_duration(delta: timedelta, threshold: float = 1.5) -> str:
    """A duration rounded to its largest fitting unit ('5 hours', '2 days'), in the request's
    locale: Babel's format_timedelta, whose text depends only on the unit and the rounded count —
    which are worked out here as Babel does, so each text is formatted once per locale."""
    delta = abs(delta)
    seconds = delta.days * 86400 + delta.seconds  # whole seconds, as Babel counts
    for unit, per_unit in TIMEDELTA_UNITS:
        value = seconds / per_unit
        if value >= threshold or unit == "second":
            if unit == "second" and value > 0:
                value = max(1, value)
            return _duration_text(unit, int(round(value)), current_locale.get())
    raise AssertionError("TIMEDELTA_UNITS ends with seconds")


@lru_cache(maxsize=1024)
def _duration_text(unit: str, count: int, locale: str) -> str:
    per_unit = dict(TIMEDELTA_UNITS)[unit]
    # An infinite threshold with this unit as the granularity: Babel prints `count` of `unit`.
    delta = timedelta(seconds=count * per_unit)
    return format_timedelta(delta, threshold=float("inf"), granularity=unit, locale=babel_locale(locale))


def role_label(role: Any) -> str:
    labels = {"agent": gettext("Agent"), "supervisor": gettext("Supervisor"), "admin": gettext("Admin")}
    return labels.get(str(getattr(role, "value", role)), str(role))


def actor_label(actor_type: Any) -> str:
    labels = {
        "agent": gettext("Agent"),
        "storefront": gettext("Storefront"),
        "system": gettext("System"),
        "api_key": gettext("API key"),
    }
    return labels.get(str(getattr(actor_type, "value", actor_type)), str(actor_type))


def stage_label(stage: Any) -> str:
    from app.orders.lifecycle import STAGE_LABELS, Stage

    return gettext(STAGE_LABELS[Stage(stage)])


templates.env.filters["money"] = format_money
templates.env.globals["actor_label"] = actor_label
templates.env.globals["stage_label"] = stage_label
templates.env.globals["role_label"] = role_label
templates.env.filters["localtime"] = format_time


def _context(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    session = getattr(request.state, "session", None)
    base = {
        "request": request,
        "agent": getattr(request.state, "agent", None),
        "csrf_token": session.csrf_token if session is not None else "",
        "locale": current_locale.get(),
        "flash": session.pop("flash", None) if session is not None else None,
    }
    base.update(context)
    return base


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    partial: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page, or — for an htmx request when a partial is named — just that fragment."""
    name = partial if (partial and is_htmx(request)) else template
    response = templates.TemplateResponse(
        request, name, _context(request, context or {}), status_code=status_code, headers=headers
    )
    response.headers["Vary"] = "HX-Request"
    return response


def redirect(request: Request, url: str, *, flash: str | None = None) -> Response:
    """After a successful POST: a 303 for plain forms, HX-Redirect for htmx."""
    if flash:
        session = getattr(request.state, "session", None)
        if session is not None:
            session["flash"] = flash
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def render_error(request: Request, *, status: int, detail: str, fields: dict[str, str]) -> HTMLResponse:
    if is_htmx(request):
        # Swapped into the page's error area; htmx is configured to swap 4xx/5xx responses.
        return render(
            request,
            "components/_error.html",
            {"status": status, "detail": detail, "fields": fields},
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    return render(
        request,
        "errors/error.html",
        {"status": status, "detail": detail, "fields": fields},
        status_code=status,
    )


# --- navigation ------------------------------------------------------------------------------
# (path, English msgid, least role). An entry shows once its domain has registered the page.
NAV = (
    ("/", N_("Queues"), "agent"),
    ("/customers", N_("Customers"), "agent"),
    ("/orders", N_("Orders"), "agent"),
    ("/inquiries", N_("Inquiries"), "agent"),
    ("/cases", N_("After-sales"), "agent"),
    ("/reviews", N_("Reviews"), "agent"),
    ("/catalog", N_("Catalog"), "agent"),
    ("/approvals", N_("Approvals"), "supervisor"),
    ("/phrasing", N_("Phrasing"), "agent"),
    ("/reports", N_("Metrics"), "supervisor"),
    ("/reports/me/targets", N_("My targets"), "agent"),
    ("/settings", N_("Settings"), "agent"),
)
SETTINGS_LINKS = (
    ("/settings/accounts", N_("Agents, teams and API keys"), "admin"),
    ("/settings/stores", N_("Stores"), "admin"),
    ("/settings/webhooks", N_("Webhooks"), "admin"),
    ("/settings/followups", N_("Follow-up rules"), "supervisor"),
    ("/settings/revisits", N_("Revisit plans"), "supervisor"),
    ("/settings/desk", N_("Desk: assignment, queues and macros"), "supervisor"),
    ("/settings/sla", N_("SLA policies"), "supervisor"),
    ("/settings/audit", N_("Audit log"), "supervisor"),
)
_RANK = {"agent": 1, "supervisor": 2, "admin": 3}


def _registered_paths(request: Request) -> set[str]:
    return getattr(request.app.state, "page_paths", set())


def _links(request: Request, agent: Any, entries: tuple[tuple[str, str, str], ...]) -> list[dict[str, Any]]:
    paths = _registered_paths(request)
    rank = _RANK.get(str(getattr(agent, "role", "agent")), 1)
    current = request.url.path
    return [
        {
            "path": path,
            "label": gettext(label),
            "active": current == path or (path != "/" and current.startswith(path + "/")),
        }
        for path, label, least in entries
        if path in paths and rank >= _RANK[least]
    ]


def nav_items(request: Request, agent: Any) -> list[dict[str, Any]]:
    return _links(request, agent, NAV)


def settings_links(request: Request, agent: Any) -> list[dict[str, Any]]:
    return _links(request, agent, SETTINGS_LINKS)


templates.env.globals["nav_items"] = nav_items
templates.env.globals["settings_links"] = settings_links


def form_int(value: str | None) -> int | None:
    """A form or query field that should hold a whole number: the number, or None.

    str.isdigit() accepts "²" and other digits int() refuses; this does not.
    """
    text = (value or "").strip()
    if not text or len(text) > 18 or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
