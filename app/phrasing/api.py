"""JSON API of the phrasing library (/api/v1/phrasing). API keys act for the shop: they see and
write global and team templates, never an agent's personal ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.accounts.deps import ReadKey, WriteKey
from app.db import SessionDep, utc_now
from app.errors import InvalidInput
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from app.phrasing import access, io, service, stats
from app.phrasing.models import PhrasingTemplate
from app.phrasing.schemas import TemplateCreate, TemplateRead, TemplateUpdate, TemplateUsageRead

router = APIRouter(prefix="/api/v1", tags=["phrasing"])
ERRORS = {
    401: {"description": "No or unknown API key"},
    403: {"description": "The key's scope is too small"},
    422: {"description": "Invalid input (the linter's findings name the field); `fields` names each"},
}
NOT_FOUND = {404: {"description": "No such template"}}


def _read(session: SessionDep, templates: list[PhrasingTemplate]) -> list[TemplateRead]:
    texts = service.variants_for(session, [t.id for t in templates])
    return [
        TemplateRead(
            id=t.id,
            title=t.title,
            category=t.category,
            scope=str(t.scope),
            team_id=t.team_id,
            shortcut=t.shortcut,
            is_active=t.is_active,
            is_starter=t.is_starter,
            variants=texts.get(t.id, {}),
            created_at=t.created_at,
            updated_at=t.updated_at,
        )
        for t in templates
    ]


@router.get("/phrasing", response_model=Page[TemplateRead], responses=ERRORS, summary="List templates")
def list_templates(
    session: SessionDep,
    key: ReadKey,
    category: Annotated[str, Query(max_length=40)] = "",
    scope: Annotated[Literal["", "global", "team"], Query()] = "",
    q: Annotated[str, Query(description="Title, text or shortcut contains", max_length=100)] = "",
    active: bool | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[TemplateRead]:
    filters = service.TemplateFilters(category=category, scope=scope, q=q, active=active)
    rows = service.list_templates(session, agent=None, filters=filters, cursor=cursor, limit=limit)
    return Page[TemplateRead](items=_read(session, rows.items), next_cursor=rows.next_cursor)


@router.get(
    "/phrasing/export",
    responses=ERRORS | {200: {"content": {"text/csv": {}, "application/json": {}}}},
    summary="Export the library as CSV (one row per template and language) or JSON",
)
def export_library(session: SessionDep, key: ReadKey, format: Literal["csv", "json"] = "json") -> Response:
    if format == "csv":
        return Response(io.export_csv(session, agent=None), media_type="text/csv; charset=utf-8")
    return Response(io.export_json(session, agent=None, now=utc_now()), media_type="application/json")


@router.get(
    "/phrasing/usage",
    response_model=list[TemplateUsageRead],
    responses=ERRORS,
    summary="Uses per template in a window, by agent, with outcomes and the effectiveness rate",
)
def usage(
    session: SessionDep,
    key: ReadKey,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[TemplateUsageRead]:
    now = utc_now()
    until = until or now
    since = since or until - timedelta(days=30)
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidInput("since and until need a time zone.", fields={"since": "aware datetime"})
    rows = stats.usage_summary(session, since=since, until=until)
    return [
        TemplateUsageRead(
            template_id=r.template_id,
            title=r.title,
            category=r.category,
            is_active=r.is_active,
            uses=r.uses,
            sent=r.sent,
            copied=r.copied,
            by_agent=r.by_agent,
            outcomes=r.outcomes,
            measured_by=r.measured_by,
            rate=r.rate,
        )
        for r in rows
    ]


@router.get(
    "/phrasing/{template_id}",
    response_model=TemplateRead,
    responses=ERRORS | NOT_FOUND,
    summary="Read a template",
)
def read_template(template_id: int, session: SessionDep, key: ReadKey) -> TemplateRead:
    return _read(session, [access.require_visible(session, template_id, None)])[0]


@router.post(
    "/phrasing",
    response_model=TemplateRead,
    status_code=201,
    responses=ERRORS,
    summary="Create a template (checked by the linter before it is saved)",
)
def create_template(body: TemplateCreate, session: SessionDep, key: WriteKey) -> TemplateRead:
    data = service.TemplateInput(**body.model_dump())
    template = service.create_template(session, data=data, agent=None, now=utc_now())
    return _read(session, [template])[0]


@router.patch(
    "/phrasing/{template_id}",
    response_model=TemplateRead,
    responses=ERRORS | NOT_FOUND,
    summary="Change a template (only the fields sent)",
)
def update_template(
    template_id: int, body: TemplateUpdate, session: SessionDep, key: WriteKey
) -> TemplateRead:
    template = access.require_visible(session, template_id, None)
    changes = body.model_dump(exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None and k != "team_id"]
    if nulls:
        raise InvalidInput("{field} cannot be null.", fields={k: "not null" for k in nulls}, field=nulls[0])
    service.update_template(session, template, changes=changes, agent=None, now=utc_now())
    return _read(session, [template])[0]
