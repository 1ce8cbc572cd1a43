"""HTML views of the phrasing library: the library page, the editor with its live preview,
switching templates off, import and export; and the desk's routes (suggest, render, copied)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.accounts.deps import CurrentAgent, SupervisorAgent, verify_csrf
from app.accounts.models import Agent
from app.accounts.service import get_all_agents, get_all_teams
from app.db import SessionDep, utc_now
from app.errors import InvalidInput, is_htmx
from app.i18n import N_, gettext
from app.phrasing import access, io, lint, service, stats
from app.phrasing.categories import CATEGORIES
from app.phrasing.models import PhrasingScope, PhrasingTemplate
from app.phrasing.render import MAX_SOURCE_CHARS, TemplateProblem, render_source, split_missing
from app.phrasing.variables import LOCALE_NAMES, LOCALES, VARIABLES, sample_context, ticket_context
from app.tickets import service as tickets
from app.web import form_int, redirect, render

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
PAGE_SIZE = 50
USAGE_DAYS = 30
SCOPE_LABELS = {"global": N_("Whole shop"), "team": N_("Team"), "personal": N_("Personal")}
ACTIVE_CHOICES = {"1": True, "0": False, "": None}


def _common() -> dict[str, Any]:
    return {
        "categories": list(CATEGORIES.values()),
        "categories_by_key": CATEGORIES,
        "scope_labels": SCOPE_LABELS,
        "locales": LOCALES,
        "locale_names": LOCALE_NAMES,
    }


# --- the library -------------------------------------------------------------------------------


def _library(
    session: Any, agent: Agent, *, filters: service.TemplateFilters, active: str, cursor: str | None
) -> dict[str, Any]:
    rows = service.list_templates(session, agent=agent, filters=filters, cursor=cursor, limit=PAGE_SIZE)
    ids = [t.id for t in rows.items]
    now = utc_now()
    usage = {
        u.template_id: u
        for u in stats.usage_summary(
            session, since=now - timedelta(days=USAGE_DAYS), until=now, template_ids=ids
        )
    }
    teams = {t.id: t.name for t in get_all_teams(session)}
    return _common() | {
        "templates": rows.items,
        "next_cursor": rows.next_cursor,
        "filters": filters,
        "active": active,
        "usage": usage,
        "usage_days": USAGE_DAYS,
        "teams": teams,
        "variants": service.variants_for(session, ids),
        "editable": {t.id for t in rows.items if access.can_edit(agent, t)},
        "can_import": agent.role in ("supervisor", "admin"),
    }


@router.get("/phrasing")
def library_page(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    q: str = "",
    category: str = "",
    scope: str = "",
    active: str = "1",
    cursor: str | None = None,
) -> Response:
    active = active if active in ACTIVE_CHOICES else "1"
    filters = service.TemplateFilters(
        category=category if category in CATEGORIES else "",
        scope=scope if scope in SCOPE_LABELS else "",
        q=q[:100],
        active=ACTIVE_CHOICES[active],
    )
    context = _library(session, agent, filters=filters, active=active, cursor=cursor or None)
    return render(request, "phrasing/list.html", context, partial="phrasing/_list.html")


@router.get("/phrasing/export")
def export_library(session: SessionDep, agent: CurrentAgent, format: str = "csv") -> Response:
    now = utc_now()
    stamp = now.strftime("%Y%m%d")
    if format == "json":
        body, media = io.export_json(session, agent=agent, now=now), "application/json"
    else:
        # With a BOM, so Excel opens the Chinese text as UTF-8.
        body, media, format = "\ufeff" + io.export_csv(session, agent=agent), "text/csv", "csv"
    disposition = f'attachment; filename="huitou-phrasing-{stamp}.{format}"'
    return Response(body, media_type=f"{media}; charset=utf-8", headers={"Content-Disposition": disposition})


@router.post("/phrasing/import")
def import_library(
    request: Request, session: SessionDep, agent: SupervisorAgent, file: Annotated[UploadFile, File()]
) -> Response:
    name = (file.filename or "").lower()
    fmt = "json" if name.endswith(".json") or (file.content_type or "").endswith("json") else "csv"
    content = file.file.read(io.MAX_BYTES + 1)
    try:
        result = io.import_library(session, content=content, fmt=fmt, agent=agent, now=utc_now())
    except InvalidInput as exc:
        filters = service.TemplateFilters()
        context = _library(session, agent, filters=filters, active="1", cursor=None)
        context["import_error"] = exc
        return render(request, "phrasing/list.html", context, status_code=422)
    message = gettext("Imported: {created} new, {updated} updated.").format(
        created=result.created, updated=result.updated
    )
    return redirect(request, "/phrasing", flash=message)


# --- the editor --------------------------------------------------------------------------------


class TemplateForm(BaseModel):
    """The template editor's fields as posted (preview, create and update share them)."""

    title: str = Field("", max_length=200)
    category: str = Field("", max_length=40)
    scope: str = Field("", max_length=16)
    team_id: str = Field("", max_length=20)
    shortcut: str = Field("", max_length=40)
    is_active: str = Field("", max_length=4)
    body_zh_CN: str = Field("", max_length=MAX_SOURCE_CHARS * 2)
    body_zh_TW: str = Field("", max_length=MAX_SOURCE_CHARS * 2)
    body_en: str = Field("", max_length=MAX_SOURCE_CHARS * 2)
    template_id: str = Field("", max_length=20)
    preview_ticket_id: str = Field("", max_length=20)

    def input(self) -> service.TemplateInput:
        return service.TemplateInput(
            title=self.title,
            category=self.category,
            variants={"zh_CN": self.body_zh_CN, "zh_TW": self.body_zh_TW, "en": self.body_en},
            scope=self.scope or PhrasingScope.personal.value,
            team_id=form_int(self.team_id),
            shortcut=self.shortcut,
            is_active=bool(self.is_active),
        )


TemplateFormDep = Annotated[TemplateForm, Form()]


def _preview(
    session: Any, agent: Agent, data: service.TemplateInput, ticket_id: int | None
) -> dict[str, Any]:
    """Each language rendered (with sample data, or the chosen ticket's), with its lint issues."""
    now = utc_now()
    ticket = tickets.get_ticket(session, ticket_id) if ticket_id else None
    issues = lint.lint(data.title, data.category, data.variants)
    previews = []
    for locale in LOCALES:
        body = (data.variants.get(locale) or "").strip()
        if not body:
            continue
        entry: dict[str, Any] = {"locale": locale, "issues": [i for i in issues if i.locale == locale]}
        if ticket is not None:
            context = ticket_context(session, ticket, agent=agent, locale=locale, now=now)
        else:
            context = sample_context(locale, now=now, agent=agent)
        try:
            text, missing = render_source(body, context)
            entry |= {"segments": split_missing(text), "missing": missing, "length": len(text)}
        except TemplateProblem as problem:
            entry["problem"] = problem
        previews.append(entry)
    return {
        "previews": previews,
        "general_issues": [i for i in issues if i.locale is None],
        "preview_ticket": ticket,
        "preview_ticket_id": ticket_id or "",
        "missing_ticket": bool(ticket_id) and ticket is None,
        "variables": VARIABLES,
    }


def _form(
    request: Request,
    session: Any,
    agent: Agent,
    data: service.TemplateInput,
    *,
    template: PhrasingTemplate | None,
    error: InvalidInput | None = None,
    ticket_id: int | None = None,
    status_code: int = 200,
) -> Response:
    editable = template is None or access.can_edit(agent, template)
    try:
        current_scope = access.parse_scope(data.scope).value
    except InvalidInput:
        current_scope = PhrasingScope.personal.value
    scope_values = [s.value for s in access.allowed_scopes(agent)]
    if current_scope not in scope_values:
        scope_values.append(current_scope)
    context = (
        _common()
        | _preview(session, agent, data, ticket_id)
        | {
            "template": template,
            "data": data,
            "editable": editable,
            "error": error,
            "field_errors": error.fields if error is not None else {},
            "scope_values": scope_values,
            "current_scope": current_scope,
            "teams": get_all_teams(session),
            "action_url": f"/phrasing/{template.id}" if template else "/phrasing",
            "max_chars": MAX_SOURCE_CHARS,
        }
    )
    if template is not None:
        now = utc_now()
        summary = stats.usage_summary(
            session, since=now - timedelta(days=USAGE_DAYS), until=now, template_ids=[template.id]
        )
        context["usage"] = summary[0] if summary else None
        context["agent_names"] = {a.id: a.display_name for a in get_all_agents(session)}
        context["usage_days"] = USAGE_DAYS
    return render(
        request, "phrasing/form.html", context, partial="phrasing/_form.html", status_code=status_code
    )


@router.get("/phrasing/new")
def new_template(request: Request, session: SessionDep, agent: CurrentAgent, category: str = "") -> Response:
    scopes = access.allowed_scopes(agent)
    data = service.TemplateInput(
        title="",
        category=category if category in CATEGORIES else "",
        variants={},
        scope=scopes[0],
        team_id=agent.team_id,
    )
    return _form(request, session, agent, data, template=None)


@router.post("/phrasing/preview")
def preview(request: Request, session: SessionDep, agent: CurrentAgent, form: TemplateFormDep) -> Response:
    data = form.input()
    ticket_id = form_int(form.preview_ticket_id)
    if is_htmx(request):
        context = _common() | _preview(session, agent, data, ticket_id)
        return render(request, "phrasing/_preview.html", context)
    tid = form_int(form.template_id)
    template = access.require_visible(session, tid, agent) if tid else None
    return _form(request, session, agent, data, template=template, ticket_id=ticket_id)


@router.post("/phrasing")
def create(request: Request, session: SessionDep, agent: CurrentAgent, form: TemplateFormDep) -> Response:
    data = form.input()
    try:
        template = service.create_template(session, data=data, agent=agent, now=utc_now())
    except InvalidInput as exc:
        ticket_id = form_int(form.preview_ticket_id)
        return _form(
            request, session, agent, data, template=None, error=exc, ticket_id=ticket_id, status_code=422
        )
    flash = gettext("Template “{title}” saved.").format(title=template.title)
    return redirect(request, "/phrasing", flash=flash)


# The desk's routes have fixed paths: registered before /phrasing/{template_id} catches them.
from app.phrasing import desk  # noqa: E402 - order matters, see above

router.include_router(desk.router)


@router.get("/phrasing/{template_id}")
def edit_template(request: Request, session: SessionDep, agent: CurrentAgent, template_id: int) -> Response:
    template = access.require_visible(session, template_id, agent)
    return _form(request, session, agent, service.current_input(session, template), template=template)


@router.post("/phrasing/{template_id}")
def update(
    request: Request, session: SessionDep, agent: CurrentAgent, template_id: int, form: TemplateFormDep
) -> Response:
    template = access.require_editable(session, template_id, agent)
    data = form.input()
    changes = {
        k: getattr(data, k)
        for k in ("title", "category", "variants", "scope", "team_id", "shortcut", "is_active")
    }
    try:
        service.update_template(session, template, changes=changes, agent=agent, now=utc_now())
    except InvalidInput as exc:
        session.refresh(template)
        ticket_id = form_int(form.preview_ticket_id)
        return _form(
            request, session, agent, data, template=template, error=exc, ticket_id=ticket_id, status_code=422
        )
    flash = gettext("Template “{title}” saved.").format(title=template.title)
    return redirect(request, "/phrasing", flash=flash)


@router.post("/phrasing/{template_id}/activate")
@router.post("/phrasing/{template_id}/deactivate")
def switch(request: Request, session: SessionDep, agent: CurrentAgent, template_id: int) -> Response:
    template = access.require_editable(session, template_id, agent)
    on = request.url.path.endswith("/activate")
    service.set_active(session, template, active=on, agent=agent, now=utc_now())
    message = (
        gettext("Template “{title}” switched on.") if on else gettext("Template “{title}” switched off.")
    )
    return redirect(request, "/phrasing", flash=message.format(title=template.title))


@router.post("/phrasing/{template_id}/delete")
def delete(request: Request, session: SessionDep, agent: CurrentAgent, template_id: int) -> Response:
    template = access.require_editable(session, template_id, agent)
    title = template.title
    outcome = service.delete_template(session, template, agent=agent, now=utc_now())
    if outcome == "deleted":
        message = gettext("Template “{title}” deleted.")
    else:
        message = gettext("Template “{title}” has been used, so it was switched off instead of deleted.")
    return redirect(request, "/phrasing", flash=message.format(title=title))
