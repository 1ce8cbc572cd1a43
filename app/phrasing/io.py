"""Export and import of the phrasing library, as CSV (one row per template and language, for
spreadsheets) or JSON (one object per template with its texts).

An import is all or nothing: every row is checked first (category, scope, team, shortcut clashes,
the linter) and the errors name their rows; only a clean file is applied. A template in the file
matches an existing one by scope and shortcut, else by scope and title, and updates it.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from app.accounts.models import Agent, Team
from app.errors import DomainError, InvalidInput
from app.i18n import N_, gettext
from app.phrasing import access, lint, service
from app.phrasing.models import PhrasingScope, PhrasingTemplate

CSV_COLUMNS = ("title", "category", "scope", "team", "shortcut", "is_active", "locale", "body")
REQUIRED_COLUMNS = ("title", "category", "locale", "body")
MAX_BYTES = 2_000_000
MAX_TEMPLATES = 1_000
MAX_REPORTED = 20
# A spreadsheet runs a cell that starts with these as a formula; exported cells get a quote first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --- export ------------------------------------------------------------------------------------


def export_items(session: Session, *, agent: Agent | None) -> list[dict[str, Any]]:
    """Every template `agent` can see (switched-off ones too), with its texts."""
    query = select(PhrasingTemplate).where(access.visible_condition(agent))
    templates = list(session.exec(query.order_by(PhrasingTemplate.category, PhrasingTemplate.id)))
    teams = {t.id: t.name for t in session.exec(select(Team))}
    texts = service.variants_for(session, [t.id for t in templates])
    return [
        {
            "title": t.title,
            "category": t.category,
            "scope": PhrasingScope(t.scope).value,
            "team": teams.get(t.team_id, "") if t.team_id else "",
            "shortcut": t.shortcut,
            "is_active": bool(t.is_active),
            "variants": texts.get(t.id, {}),
        }
        for t in templates
    ]


def export_json(session: Session, *, agent: Agent | None, now: datetime) -> str:
    payload = {"format": "huitou-phrasing", "version": 1, "exported_at": now.isoformat(), "templates": []}
    payload["templates"] = export_items(session, agent=agent)
    return json.dumps(payload, ensure_ascii=False, indent=2)


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def _uncell(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_START) else value


def export_csv(session: Session, *, agent: Agent | None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for item in export_items(session, agent=agent):
        for locale, body in item["variants"].items():
            writer.writerow(
                [
                    _cell(item["title"]),
                    item["category"],
                    item["scope"],
                    _cell(item["team"]),
                    item["shortcut"],
                    "1" if item["is_active"] else "0",
                    locale,
                    _cell(body),
                ]
            )
    return out.getvalue()


# --- import ------------------------------------------------------------------------------------


@dataclass
class Item:
    row: str  # how errors name it: "row 3" (CSV) or "template 2" (JSON)
    title: str = ""
    category: str = ""
    scope: str = "global"
    team: str = ""
    shortcut: str = ""
    is_active: bool = True
    variants: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


class ImportFailed(InvalidInput):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        shown = problems[:MAX_REPORTED]
        fields: dict[str, str] = {}
        for row, message in shown:
            fields.setdefault(row, message)
        super().__init__(
            N_("Nothing was imported: {count} problem(s) in the file. Fix them and import again."),
            fields=fields,
            count=len(problems),
        )
        self.problems = shown


def _decode(content: bytes) -> str:
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            "The file is larger than {max} MB.", fields={"file": "too large"}, max=MAX_BYTES // 1_000_000
        )
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in Chinese saves CSV as GBK
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput("The file is not UTF-8 or GBK text.", fields={"file": "encoding"})


def _flag(value: Any) -> bool:
    return str(value).strip().lower() not in ("0", "false", "no", "off", "否")


def parse_csv(text: str) -> list[Item]:
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InvalidInput(
            "The CSV needs the columns {columns}.",
            fields={"file": ", ".join(missing)},
            columns=", ".join(CSV_COLUMNS),
        )
    items: dict[tuple[str, ...], Item] = {}
    seen: set[tuple[tuple[str, ...], str]] = set()
    problems: list[tuple[str, str]] = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): _uncell(str(v or "")) for k, v in raw.items() if k is not None}
        key = tuple(row.get(c, "").strip() for c in ("scope", "team", "shortcut", "title", "category"))
        if not any(key) and not row.get("body", "").strip():
            continue  # an empty line
        locale = row.get("locale", "").strip()
        if (key, locale) in seen:
            message = gettext("A second {locale} text for the same template.").format(locale=locale or "—")
            problems.append((f"row {number}", message))
            continue
        seen.add((key, locale))
        item = items.get(key)
        if item is None:
            item = items[key] = Item(
                row=f"row {number}",
                title=row.get("title", "").strip(),
                category=row.get("category", "").strip(),
                scope=row.get("scope", "").strip() or "global",
                team=row.get("team", "").strip(),
                shortcut=row.get("shortcut", "").strip(),
                is_active=_flag(row.get("is_active", "1") or "1"),
            )
        item.variants[locale] = row.get("body", "")
    if problems:
        raise ImportFailed(problems)
    return list(items.values())


def parse_json(text: str) -> list[Item]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "The file is not valid JSON (line {line}).", fields={"file": "invalid JSON"}, line=exc.lineno
        ) from exc
    entries = data.get("templates") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InvalidInput('The JSON needs a "templates" list.', fields={"file": "templates"})
    items: list[Item] = []
    problems: list[tuple[str, str]] = []
    for number, entry in enumerate(entries, start=1):
        label = f"template {number}"
        variants = entry.get("variants") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(variants, dict):
            problems.append(
                (label, gettext("Each template needs a title, a category and its texts (variants)."))
            )
            continue
        items.append(
            Item(
                row=label,
                title=str(entry.get("title") or "").strip(),
                category=str(entry.get("category") or "").strip(),
                scope=str(entry.get("scope") or "global").strip(),
                team=str(entry.get("team") or "").strip(),
                shortcut=str(entry.get("shortcut") or "").strip(),
                is_active=_flag(entry.get("is_active", True)),
                variants={str(k): str(v or "") for k, v in variants.items()},
            )
        )
    if problems:
        raise ImportFailed(problems)
    return items


def _match(session: Session, item: service.TemplateInput, owner_id: int | None) -> PhrasingTemplate | None:
    scope = access.parse_scope(item.scope)
    query = select(PhrasingTemplate).where(PhrasingTemplate.scope == scope)
    if scope == PhrasingScope.team:
        query = query.where(PhrasingTemplate.team_id == item.team_id)
    elif scope == PhrasingScope.personal:
        query = query.where(PhrasingTemplate.owner_id == owner_id)
    if item.shortcut:
        found = session.exec(query.where(PhrasingTemplate.shortcut == item.shortcut).limit(1)).first()
        if found is not None:
            return found
    return session.exec(query.where(PhrasingTemplate.title == item.title.strip()).limit(1)).first()


def _prepare(
    session: Session, item: Item, *, agent: Agent | None, teams: dict[str, int]
) -> tuple[service.TemplateInput, PhrasingTemplate | None]:
    scope = access.parse_scope(item.scope)
    team_id = None
    if scope == PhrasingScope.team:
        if item.team not in teams:
            raise InvalidInput("There is no team {team}.", team=item.team or "(empty)")
        team_id = teams[item.team]
    data = service.TemplateInput(
        title=item.title,
        category=item.category,
        variants=item.variants,
        scope=scope,
        team_id=team_id,
        shortcut=access.normalize_shortcut(item.shortcut),
        is_active=item.is_active,
    )
    owner_id = agent.id if agent is not None and scope == PhrasingScope.personal else None
    if not access.can_write(agent, scope, team_id=team_id, owner_id=owner_id):
        raise InvalidInput("You may not write {scope} templates.", scope=scope.value)
    issues = lint.errors(lint.lint(data.title, data.category, data.variants))
    if issues:
        raise InvalidInput(issues[0].message, **issues[0].params)
    existing = _match(session, data, owner_id)
    if existing is not None and not access.can_edit(agent, existing):
        raise InvalidInput("It would change “{title}”, which you may not edit.", title=existing.title)
    if data.is_active:
        access.check_shortcut(
            session,
            data.shortcut,
            scope=scope,
            team_id=team_id,
            owner_id=owner_id,
            exclude_id=existing.id if existing is not None else None,
        )
    return data, existing


def import_library(
    session: Session, *, content: bytes, fmt: str, agent: Agent | None, now: datetime
) -> ImportResult:
    """Check every template in the file, then create or update them all (or raise, writing nothing)."""
    text = _decode(content)
    fmt = (fmt or "").lower().strip(".")
    if fmt not in ("csv", "json"):
        raise InvalidInput("Import a .csv or .json file.", fields={"file": "csv | json"})
    items = parse_csv(text) if fmt == "csv" else parse_json(text)
    if not items:
        raise InvalidInput("The file holds no templates.", fields={"file": "empty"})
    if len(items) > MAX_TEMPLATES:
        raise InvalidInput(
            "At most {max} templates per import.", fields={"file": "too many"}, max=MAX_TEMPLATES
        )
    teams = {t.name: t.id for t in session.exec(select(Team))}
    prepared: list[tuple[Item, service.TemplateInput, PhrasingTemplate | None]] = []
    problems: list[tuple[str, str]] = []
    shortcuts: dict[tuple[str, int | None, str], str] = {}
    for item in items:
        try:
            data, existing = _prepare(session, item, agent=agent, teams=teams)
        except DomainError as exc:
            problems.append((item.row, exc.localized()))
            continue
        key = (PhrasingScope(data.scope).value, data.team_id, data.shortcut)
        if data.shortcut and data.is_active and key in shortcuts:
            message = gettext("{shortcut} is also used by {row} of this file.")
            problems.append((item.row, message.format(shortcut=data.shortcut, row=shortcuts[key])))
            continue
        shortcuts[key] = item.row
        prepared.append((item, data, existing))
    if problems:
        raise ImportFailed(problems)
    result = ImportResult()
    with session.begin_nested():  # all or nothing, also when the caller keeps its transaction
        for item, data, existing in prepared:
            try:
                if existing is None:
                    service.create_template(session, data=data, agent=agent, now=now)
                    result.created += 1
                else:
                    changes = {
                        k: getattr(data, k)
                        for k in (
                            "title",
                            "category",
                            "variants",
                            "scope",
                            "team_id",
                            "shortcut",
                            "is_active",
                        )
                    }
                    service.update_template(session, existing, changes=changes, agent=agent, now=now)
                    result.updated += 1
            except DomainError as exc:
                raise ImportFailed([(item.row, exc.localized())]) from exc
    return result
