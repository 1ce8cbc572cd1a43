"""The `huitou` command line (Typer). Its commands and arguments are a contract (DESIGN.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from app.db import utc_now

cli = typer.Typer(
    help="Huitou (回头) — customer-service desk for e-commerce after-sales.", no_args_is_help=True
)
api_key_cli = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
cli.add_typer(api_key_cli, name="api-key")
store_cli = typer.Typer(help="Storefronts and their webhook signing secrets.", no_args_is_help=True)
cli.add_typer(store_cli, name="store")
webhooks_cli = typer.Typer(help="The inbound webhook inbox.", no_args_is_help=True)
cli.add_typer(webhooks_cli, name="webhooks")

err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes.")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development).")] = False,
) -> None:
    """Run the web server (uvicorn)."""
    import uvicorn

    from app.config import SettingsError, get_settings

    try:
        get_settings()
    except SettingsError as exc:
        _fail(str(exc))
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        access_log=False,
        proxy_headers=True,
        log_level="warning",
    )


@cli.command()
def migrate(revision: Annotated[str, typer.Option(help="Target revision.")] = "head") -> None:
    """Apply database migrations (Alembic)."""
    from app.migrations import upgrade

    upgrade(revision=revision)
    typer.echo(f"database at revision {revision}")
    if revision == "head":  # a fresh install starts with the starter phrasing library
        from app.db import session_scope
        from app.phrasing.starter import load_if_empty

        with session_scope() as session:
            if loaded := load_if_empty(session, now=utc_now()):
                typer.echo(f"phrasing library: {loaded} starter templates added")


@cli.command()
def dispatch(
    once: Annotated[bool, typer.Option("--once", help="Handle what is due now, then exit.")] = False,
    interval: Annotated[float, typer.Option(min=0.5, max=3600, help="Seconds between cycles.")] = 5.0,
) -> None:
    """Run the background worker: automatic confirmation, follow-ups, outbound deliveries."""
    from app.config import SettingsError, get_settings

    try:
        settings = get_settings()  # before importing the app: a bad setting is named, not a traceback
    except SettingsError as exc:
        _fail(str(exc))
    if settings.dispatch_nice and hasattr(os, "nice"):
        # The requests of `huitou serve` get the CPU first. Set before any thread starts: on Linux
        # the nice value is a thread's, and threads inherit it from the one that starts them.
        os.nice(settings.dispatch_nice)
    from app.dispatch import run_forever, run_once
    from app.main import configure_process, freeze_heap

    configure_process(settings)
    if once:
        for job, count in run_once(utc_now()).items():
            typer.echo(f"{job}: {count}")
        return
    freeze_heap()
    run_forever(utc_now, interval)


@cli.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password: Annotated[str, typer.Option(help="At least 8 characters.")],
    role: Annotated[str, typer.Option(help="agent | supervisor | admin")] = "agent",
    team: Annotated[str | None, typer.Option(help="Team name; created if it does not exist.")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the desk.")] = None,
) -> None:
    """Create an agent, supervisor or admin."""
    from app.accounts import service
    from app.db import session_scope
    from app.errors import DomainError

    now = utc_now()
    try:
        with session_scope() as session:
            if team and service.get_team_by_name(session, team) is None:
                service.create_team(session, name=team, now=now)
            agent = service.create_agent(
                session,
                username=username,
                password=password,
                role=role,
                team=team,
                display_name=display_name,
                now=now,
            )
            typer.echo(f"created {agent.role} {agent.username} (id {agent.id})")
    except DomainError as exc:
        _fail(exc.english())


@api_key_cli.command("create")
def api_key_create(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    scope: Annotated[str, typer.Option(help="read | write | admin")] = "read",
) -> None:
    """Create an API key; the key alone is printed on the last line."""
    from app.accounts import service
    from app.db import session_scope
    from app.errors import DomainError

    try:
        with session_scope() as session:
            created = service.create_api_key(session, name=name, scope=scope, now=utc_now())
            err.print(f"API key {created.key.id} ({created.key.scope}) created; it is shown once:")
    except DomainError as exc:
        _fail(exc.english())
    typer.echo(created.secret)


@api_key_cli.command("list")
def api_key_list() -> None:
    """List API keys (never their secrets)."""
    from app.accounts import service
    from app.db import session_scope

    table = Table("id", "name", "prefix", "scope", "created", "last used", "revoked")
    with session_scope(write=False) as session:
        for key in service.get_all_api_keys(session):
            table.add_row(
                str(key.id),
                key.name,
                f"hk_{key.prefix}_…",
                key.scope,
                key.created_at.isoformat(timespec="seconds"),
                key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "—",
                key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "—",
            )
    Console().print(table)


@api_key_cli.command("revoke")
def api_key_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `huitou api-key list`).")],
) -> None:
    """Revoke an API key at once."""
    from app.accounts import service
    from app.db import session_scope
    from app.errors import DomainError

    try:
        with session_scope() as session:
            key = service.require_api_key(session, key_id)
            service.revoke_api_key(session, key, now=utc_now())
    except DomainError as exc:
        _fail(exc.english())
    typer.echo(f"revoked API key {key_id}")


@cli.command("seed-demo")
def seed_demo(
    customers: Annotated[int, typer.Option(min=0, max=10_000_000, help="Buyers to create.")] = 200,
    orders: Annotated[int, typer.Option(min=0, max=50_000_000, help="Orders to create.")] = 600,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 42,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when demo data exists.")] = False,
    tickets: Annotated[
        int | None,
        typer.Option(min=0, max=100_000_000, help="Tickets in all (the demo desk's own, topped up in bulk)."),
    ] = None,
    open_tickets: Annotated[
        int | None, typer.Option(min=0, max=100_000_000, help="Of the tickets, open ones (default: 5%).")
    ] = None,
    messages: Annotated[
        int | None,
        typer.Option(min=0, max=500_000_000, help="Ticket messages in all (default: 2.5 per ticket)."),
    ] = None,
) -> None:
    """Fill the database with realistic, deterministic demo data (Chinese buyers via Faker zh_CN).

    Sizes: the reference dataset of the benchmarks is `--customers 250000 --orders 1000000
    --tickets 2000000 --open-tickets 100000 --messages 5000000`."""
    from app.demo import DemoSizeError, DemoSizes, has_demo_data, seed_all

    if orders and not customers:
        _fail("--orders needs at least one customer (--customers)")
    if tickets is None and (open_tickets is not None or messages is not None):
        _fail("--open-tickets and --messages size the desk: give --tickets too")
    if tickets is not None:
        open_tickets = tickets // 20 if open_tickets is None else open_tickets
        messages = tickets * 5 // 2 if messages is None else messages
        if open_tickets > tickets:
            _fail("--open-tickets cannot exceed --tickets")
        if messages < tickets:
            _fail("every ticket has at least one message: --messages must be at least --tickets")
        if tickets and not customers:
            _fail("--tickets needs at least one customer (--customers)")
    if if_empty and has_demo_data():
        typer.echo("demo data already present; nothing to do")
        return
    sizes = DemoSizes(
        customers=customers, orders=orders, tickets=tickets, open_tickets=open_tickets, messages=messages
    )
    try:
        seed_all(sizes, seed=seed, now=utc_now())
    except DemoSizeError as exc:
        _fail(f"{exc} (nothing was written)")


@store_cli.command("add")
def store_add(
    slug: Annotated[str, typer.Option(help="Short name used in the webhook URL.")],
    platform: Annotated[str, typer.Option(help="shopify | woocommerce | standard")],
    secret: Annotated[
        str | None, typer.Option(help="The signing secret (whsec_… for standard); generated when omitted.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Asia/Shanghai",
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "CNY",
) -> None:
    """Add a store; its webhook URL is printed, and a generated secret alone on the last line."""
    from app.config import get_settings
    from app.db import session_scope
    from app.errors import DomainError
    from app.integrations import service

    try:
        with session_scope() as session:
            store, plain = service.create_store_with_secret(
                session,
                slug=slug,
                platform=platform,
                name=name,
                timezone=timezone,
                currency=currency,
                secret=secret,
                now=utc_now(),
            )
            base = get_settings().base_url.rstrip("/")
            url = f"{base}/webhooks/{store.platform}/{store.slug}"
            err.print(f"store {store.slug} ({store.platform}) created; webhooks: {url}")
    except DomainError as exc:
        _fail(exc.english())
    if not secret:
        err.print("signing secret (shown once):")
        typer.echo(plain)


@webhooks_cli.command("replay")
def webhooks_replay(
    message_id: Annotated[
        int | None, typer.Option("--id", help="The inbox delivery to process again.")
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed delivery.")] = False,
) -> None:
    """Process stored deliveries again (after a fix, or when retries ran out)."""
    from app.db import session_scope
    from app.errors import DomainError
    from app.integrations import inbox
    from app.integrations.models import InboxStatus

    if (message_id is None) == (not failed):
        _fail("give either --id N or --failed")
    if message_id is not None:
        ids = [message_id]
    else:
        with session_scope(write=False) as session:
            ids = inbox.failed_ids(session)
    outcome = {"processed": 0, "failed": 0}
    for target in ids:
        try:
            with session_scope() as session:
                message = inbox.replay(session, inbox.require_message(session, target), now=utc_now())
                ok = message.status != InboxStatus.failed
                outcome["processed" if ok else "failed"] += 1
                typer.echo(f"{message.id} {message.topic}: {message.status} {message.error or message.note}")
        except DomainError as exc:
            if message_id is not None:
                _fail(exc.english())
            outcome["failed"] += 1
            typer.echo(f"{target}: {exc.english()}")
    typer.echo(f"replayed {len(ids)}: {outcome['processed']} processed, {outcome['failed']} failed")
    if message_id is not None and outcome["failed"]:
        raise typer.Exit(1)


@cli.command()
def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write.")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing file.")] = False,
) -> None:
    """Write a consistent backup of the database (SQLite online backup, or pg_dump)."""
    from app.backup import BackupError
    from app.backup import backup as run_backup
    from app.config import get_settings

    try:
        result = run_backup(get_settings().database_url, path, overwrite=overwrite)
    except BackupError as exc:
        _fail(str(exc))
    typer.echo(f"{result.engine} backup written to {result.path} ({result.size} bytes)")


@cli.command()
def restore(
    path: Annotated[Path, typer.Argument(help="A file written by `huitou backup`.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: the database's contents are replaced.")
    ] = False,
) -> None:
    """Replace the database's contents with a backup. Stop the server and workers first."""
    from app.backup import BackupError
    from app.backup import restore as run_restore
    from app.config import get_settings

    if not yes:
        _fail("restore replaces everything in the database; run it again with --yes to go ahead.")
    try:
        engine = run_restore(get_settings().database_url, path)
    except BackupError as exc:
        _fail(str(exc))
    typer.echo(f"{engine} database restored from {path}; run `huitou migrate` if the backup is older")


@cli.command("metrics-rollup")
def metrics_rollup(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Forget the rollup and compute every day again.")
    ] = False,
) -> None:
    """Bring the metrics' daily rollup up to date now (`huitou dispatch` also does, a bit each cycle)."""
    from app.db import session_scope
    from app.metrics import rollups

    with session_scope() as session:
        days = (rollups.rebuild if rebuild else rollups.refresh)(session, now=utc_now())
    typer.echo(f"rolled up {days} days")


def main() -> None:
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
