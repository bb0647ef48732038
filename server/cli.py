"""The ``support-agent`` command: serve MCP (stdio or HTTP), migrate, load demo data, ingest, chat."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from store.config import Settings

logger = logging.getLogger(__name__)


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings(**overrides)  # type: ignore[arg-type]


def _cmd_mcp(args: argparse.Namespace) -> int:
    from server.app import build_server

    build_server(_settings(args)).run("stdio")
    return 0


def _serve_workers(args: argparse.Namespace, settings: Settings) -> int:
    """``serve --workers N``: N uvicorn processes on one socket, each with its own desk, on shared stores."""
    import os

    import uvicorn

    from store.db import create_engine
    from store.migrate import ensure_schema

    problems = settings.multi_process_problems()
    if not args.no_ui:
        problems.append("the web UI keeps its event queue in one process: add --no-ui (serve the UI from one process)")
    if problems:
        print(f"support-agent: cannot serve with --workers {args.workers}:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("  (or run with --workers 1; see docs/operations.md)", file=sys.stderr)
        return 2

    async def migrate_once() -> None:
        # Here, before the workers start: N processes migrating an empty database at once would collide.
        engine = create_engine(settings)
        try:
            await ensure_schema(settings, engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate_once())
    # The workers are new interpreters that read their settings from the environment: hand over the
    # command line's overrides, and stateless HTTP so any worker can answer any request.
    os.environ.update(
        SUPPORT_DATA_DIR=str(settings.data_dir),
        SUPPORT_HOST=settings.host,
        SUPPORT_PORT=str(settings.port),
        SUPPORT_HTTP_STATELESS="true",
    )
    print(
        f"support-agent: MCP at http://{settings.host}:{settings.port}/mcp ({args.workers} workers, stateless HTTP)",
        file=sys.stderr,
    )
    uvicorn.run(
        "server.http:app_from_environment_without_ui",
        factory=True,
        workers=args.workers,
        host=settings.host,
        port=settings.port,
        log_level="info",
    )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.http import build_http_app

    settings = _settings(args)
    if args.workers < 1:
        print(f"support-agent: --workers must be 1 or more, got {args.workers}", file=sys.stderr)
        return 2
    if args.workers > 1:
        return _serve_workers(args, settings)
    app = build_http_app(settings, with_ui=not args.no_ui)
    from tools.demo.content import DEMO_PASSWORD

    base = f"http://{settings.host}:{settings.port}"
    if not args.no_ui:
        print(
            f"support-agent: UI at {base}/ — sign in there (demo desk: alice, tom.tech or maria.manager with "
            f"password {DEMO_PASSWORD!r}; the admin's password was printed on first start)",
            file=sys.stderr,
        )
    print(f"support-agent: MCP at {base}/mcp", file=sys.stderr)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    from store import migrate
    from store.db import create_engine

    settings = _settings(args)
    if args.action == "upgrade":
        migrate.upgrade_sync(settings, args.revision)
        print(f"database migrated to {args.revision}", file=sys.stderr)
        return 0
    if args.action == "revision":
        # Autogenerate against a database at head: the difference is what the models changed.
        from alembic import command

        if not args.message:
            print("support-agent: db revision needs -m MESSAGE", file=sys.stderr)
            return 2
        migrate.upgrade_sync(settings)
        command.revision(migrate.alembic_config(settings), message=args.message, autogenerate=True)
        return 0

    async def show() -> tuple[str | None, bool]:
        engine = create_engine(settings)
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    revision, _ = asyncio.run(show())
    print(f"current: {revision or '(empty database)'}  head: {migrate.head_revision(settings)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from tools.demo import load_demo

    summary = asyncio.run(load_demo(_settings(args)))
    print(summary, file=sys.stderr)
    return 0


def _cmd_token(args: argparse.Namespace) -> int:
    from tools import tokens
    from tools.desk import open_desk
    from tools.errors import DeskError
    from tools.users import ensure_actor

    settings = _settings(args)

    async def run() -> str:
        async with open_desk(settings) as desk:
            actor = await ensure_actor(desk, settings.actor, settings.actor_role)
            if args.action == "create":
                created = await tokens.token_create(
                    desk, actor, username=args.username, name=args.name, expires_in=args.expires_in, scopes=args.scope
                )
                info = created.info
                expiry = info.expires_at.isoformat() if info.expires_at else "never"
                print(
                    f"token {info.id} for {info.username!r} (scopes {' '.join(info.scopes)}, expires {expiry}); "
                    "it is shown only now:",
                    file=sys.stderr,
                )
                return created.token
            if args.action == "revoke":
                revoked = await tokens.token_revoke(desk, actor, args.id)
                return f"token {revoked.id} ({revoked.username!r}, {revoked.name!r}) is revoked"
            lines, cursor = [], None
            while True:
                page = await tokens.token_list(
                    desk, actor, username=args.username, include_inactive=args.all, limit=100, cursor=cursor
                )
                for t in page.items:
                    expiry = t.expires_at.isoformat(timespec="minutes") if t.expires_at else "never"
                    used = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never"
                    lines.append(
                        f"{t.id:>5}  {t.username:<20} {t.name:<16} {t.status:<8} {' '.join(t.scopes):<34} "
                        f"expires {expiry}  last used {used}"
                    )
                if not (cursor := page.next_cursor):
                    break
            return "\n".join(lines) or "no tokens"

    try:
        print(asyncio.run(run()))
    except DeskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _read_new_password(username: str) -> str | None:
    """From the terminal (asked twice, not echoed), or the first line of stdin when it is piped."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(f"New password for {username}: ")
    if getpass.getpass("Repeat it: ") != first:
        print("support-agent: the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def _cmd_user(args: argparse.Namespace) -> int:
    from tools.desk import open_desk
    from tools.errors import DeskError
    from tools.passwords import password_set
    from tools.users import ensure_actor

    settings = _settings(args)
    password = _read_new_password(args.username)
    if password is None:
        return 1

    async def run() -> None:
        async with open_desk(settings) as desk:
            actor = await ensure_actor(desk, settings.actor, settings.actor_role)
            await password_set(desk, actor, args.username, password)

    try:
        asyncio.run(run())
    except DeskError as exc:
        print(f"support-agent: {exc}", file=sys.stderr)
        return 1
    print(f"password of {args.username} set; their browser sessions ended", file=sys.stderr)
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from server.cli_ingest import run_ingest

    return run_ingest(_settings(args), args.paths)


def _cmd_import(args: argparse.Namespace) -> int:
    from server.cli_import import run_import

    return run_import(_settings(args), args.file)


def _cmd_index(args: argparse.Namespace) -> int:
    from server.cli_index import run_index

    return run_index(_settings(args), args.action)


def _cmd_analytics(args: argparse.Namespace) -> int:
    from tools.desk import open_desk
    from tools.metrics import rebuild_metrics

    async def rebuild() -> int:
        async with open_desk(_settings(args)) as desk:
            return await rebuild_metrics(desk)

    print(f"analytics facts and rollup recomputed for {asyncio.run(rebuild())} tickets", file=sys.stderr)
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from agent.cli import chat
    from server.app import in_memory_client_factory
    from tools.desk import open_desk

    settings = _settings(args)

    async def run() -> int:
        if settings.agent_mcp_url:
            return await chat(settings, args.conversation)
        async with open_desk(settings) as desk:
            factory = in_memory_client_factory(settings, desk)
            return await chat(settings, args.conversation, desk=desk, client_factory=factory)

    return asyncio.run(run())


def _cmd_voice(args: argparse.Namespace) -> int:
    from tools.desk import open_desk
    from tools.errors import DeskError
    from tools.voice_import import sync

    async def run() -> dict[str, int]:
        async with open_desk(_settings(args)) as desk:
            return await sync(desk, agent_id=args.agent_id)

    try:
        counts = asyncio.run(run())
    except DeskError as exc:
        print(f"support-agent: {exc}", file=sys.stderr)
        return 1
    print(
        f"voice sync: {counts['seen']} conversations ({counts['created']} new, {counts['updated']} updated)",
        file=sys.stderr,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="support-agent", description=__doc__)
    parser.add_argument("--data-dir", help="data directory (default: $SUPPORT_DATA_DIR or ./data)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("mcp", help="serve MCP over stdio (what Claude Desktop launches)").set_defaults(func=_cmd_mcp)

    serve = sub.add_parser("serve", help="serve the UI and MCP over streamable HTTP")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-ui", action="store_true", help="MCP and health only")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes behind the one port (more than 1 needs PostgreSQL, a Chroma server, Redis "
        "and --no-ui; MCP over HTTP is then stateless)",
    )
    serve.set_defaults(func=_cmd_serve)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "current", "revision"])
    db.add_argument("revision", nargs="?", default="head", help="target of upgrade (default: head)")
    db.add_argument("-m", "--message", help="with revision: what the new migration does")
    db.set_defaults(func=_cmd_db)

    demo = sub.add_parser("demo", help="load the demo IT-support desk (idempotent)")
    demo.add_argument("action", choices=["load"])
    demo.set_defaults(func=_cmd_demo)

    token = sub.add_parser("token", help="desk API tokens for HTTP MCP clients: create, list, revoke")
    token_sub = token.add_subparsers(dest="action", required=True)
    create = token_sub.add_parser("create", help="issue a token for USERNAME (printed once)")
    create.add_argument("username")
    create.add_argument("--name", default="cli", help="a label, e.g. the client it is for")
    create.add_argument("--expires-in", default=None, help="e.g. 30d, 12h, 2w (default: never)")
    create.add_argument(
        "--scope", action="append", default=None, help="desk:read, desk:write or desk:admin; repeat (default: all)"
    )
    listing = token_sub.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.add_argument("username", nargs="?", default=None)
    listing.add_argument("--all", action="store_true", help="include revoked and expired tokens")
    revoke = token_sub.add_parser("revoke", help="revoke a token by id; effective on its next request")
    revoke.add_argument("id", type=int)
    token.set_defaults(func=_cmd_token)

    user = sub.add_parser("user", help="manage users: set a password for the web sign-in")
    user.add_argument("action", choices=["password"])
    user.add_argument("username")
    user.set_defaults(func=_cmd_user)

    ingest = sub.add_parser("ingest", help="ingest files and folders into the knowledge base")
    ingest.add_argument("paths", nargs="+")
    ingest.set_defaults(func=_cmd_ingest)

    imp = sub.add_parser("import", help="import tickets from another desk (JSON Lines, idempotent on external_id)")
    imp.add_argument("kind", choices=["tickets"])
    imp.add_argument("file", help="one JSON ticket per line (see docs/analytics.md#import)")
    imp.set_defaults(func=_cmd_import)

    voice = sub.add_parser("voice", help="ElevenLabs Agents conversations")
    voice.add_argument("action", choices=["sync"])
    voice.add_argument("--agent-id", default=None, help="only this agent (default: SUPPORT_ELEVENLABS_AGENT_ID)")
    voice.set_defaults(func=_cmd_voice)

    index = sub.add_parser(
        "index", help="the vector index: drain queued KB/ticket changes, or rebuild it for the configured embedder"
    )
    index.add_argument("action", choices=["drain", "rebuild"])
    index.set_defaults(func=_cmd_index)

    stats = sub.add_parser(
        "analytics", help="analytics: recompute every ticket's facts (after a restore or a bulk load)"
    )
    stats.add_argument("action", choices=["rebuild"])
    stats.set_defaults(func=_cmd_analytics)

    chat = sub.add_parser("chat", help="talk to the support agent in the terminal")
    chat.add_argument("--conversation", help="resume a conversation id")
    chat.set_defaults(func=_cmd_chat)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # stdout belongs to MCP stdio; every log line goes to stderr.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose and args.func is not _cmd_db:
        # Alembic narrates every plugin and migration context at INFO on each start; `db upgrade` keeps its
        # "Running upgrade" lines, every other command says what it did in its own line.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    from store.migrate import SchemaMismatchError

    try:
        return int(args.func(args) or 0)
    except SchemaMismatchError as exc:
        print(f"support-agent: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
