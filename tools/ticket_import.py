"""Ticket import from another desk: JSON Lines, one ticket per line, streamed in batches.

Rules (docs/analytics.md#import has them for operators):

* ``external_id``, ``subject`` and ``created_at`` are required; timestamps without an offset are UTC.
* ``external_id`` is unique: a line whose ticket is already here unchanged (same content hash) changes
  nothing; a changed line updates that ticket (fields, status history; comments not yet present are added,
  none are removed). A later line with the same ``external_id`` in the same file updates it the same way.
* The original timestamps are kept. ``status_history`` (``[[time, status], ...]``) becomes the desk's status
  history; without one it is built from ``created_at``, ``first_response_at``, ``resolved_at`` and
  ``closed_at``. ``status`` is the ticket's state now: a history that ends elsewhere gets a final change to
  ``status`` (reported as a warning). Resolution and closure times, the pause clock (time in pending) and the
  SLA due times follow from the history exactly as they would have live.
* ``first_response_at`` defaults to the first public comment by staff other than the requester.
* Unknown requesters become end users, unknown assignees and comment authors technicians; unknown
  categories are created.
* A malformed line is reported with its number and what is wrong; the other lines still import. Each batch
  is written in one transaction with the lines as a unit; if the database refuses the batch, its lines are
  retried one by one, each in its own transaction, so nothing is half-written for any line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.fulltext import identifier_terms
from store.models import Category, Ticket, TicketComment, User
from store.models_analytics import TicketRating, TicketStatusChange
from store.outbox import enqueue
from tools import metrics, permissions, sla
from tools.actor import Actor
from tools.audit import record_event
from tools.desk import Desk
from tools.errors import ForbiddenError, InvalidInputError
from tools.sla import Priority, Status
from tools.ticket_models import MAX_LONG_TEXT, format_number, normalise_tags
from tools.users import _USERNAME

logger = logging.getLogger(__name__)

BATCH = 500
MAX_LINE_BYTES = 1_000_000
MAX_REPORTED_ERRORS = 1000
DEFAULT_REQUESTER = "imported-requester"
Progress = Callable[[float, float | None, str], Awaitable[None]]

Name = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ImportComment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    author: Name
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LONG_TEXT)]
    internal: bool = False
    created_at: datetime

    _tz = field_validator("created_at")(lambda v: _utc(v))


class ImportLine(BaseModel):
    """One line of the import file (unknown keys are ignored)."""

    model_config = ConfigDict(extra="ignore")

    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_LONG_TEXT)] = ""
    priority: Priority = "medium"
    status: Status = "new"
    category: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    requester: Name | None = None
    assignee: Name | None = None
    channel: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=16)] = (
        "import"
    )
    created_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    status_history: list[tuple[datetime, Status]] = Field(default_factory=list)
    comments: list[ImportComment] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    satisfaction: Literal["good", "bad"] | None = None

    @field_validator("created_at", "first_response_at", "resolved_at", "closed_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _utc(value)

    @field_validator("status_history")
    @classmethod
    def _history(cls, value: list[tuple[datetime, Status]]) -> list[tuple[datetime, Status]]:
        return [(_utc(at) or at, status) for at, status in value]

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return normalise_tags(value)

    @field_validator("requester", "assignee")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and not _USERNAME.match(value):
            raise ValueError(f"{value!r} is not a valid username (2-64 of a-z, 0-9, '.', '_', '-')")
        return value


class LineError(BaseModel):
    line: int
    external_id: str | None
    error: str


class ImportReport(BaseModel):
    """What an import did: counts per outcome, the lines that failed (first 1000) and warnings."""

    lines: int
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[LineError]
    warnings: list[LineError]
    users_created: int
    categories_created: int
    seconds: float


@dataclass
class Plan:
    """A validated line turned into rows: the ticket's derived state and its history."""

    lineno: int
    line: ImportLine
    digest: str
    changes: list[tuple[str | None, str, datetime]]
    resolved_at: datetime | None
    closed_at: datetime | None
    paused_at: datetime | None
    paused_seconds: float
    updated_at: datetime
    warnings: list[str] = field(default_factory=list)


def plan_line(lineno: int, raw: bytes) -> Plan:
    """Parse and check one line; raises ValueError with what is wrong."""
    if len(raw) > MAX_LINE_BYTES:
        raise ValueError(f"the line is {len(raw)} bytes long; at most {MAX_LINE_BYTES} per ticket")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError("a line must be one JSON object")
    try:
        line = ImportLine.model_validate(data)
    except ValidationError as exc:
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ValueError("; ".join(parts)) from exc
    if "\x00" in raw.decode("utf-8", "replace"):
        raise ValueError("the line contains a NUL character")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    warnings: list[str] = []
    created = line.created_at
    history = sorted(line.status_history, key=lambda h: h[0])
    if not history:
        history = [(created, "new")]
        if line.first_response_at and line.status != "new":
            history.append((line.first_response_at, "open"))
        if line.resolved_at:
            history.append((line.resolved_at, "resolved"))
        if line.closed_at:
            history.append((line.closed_at, "closed"))
        history.sort(key=lambda h: h[0])
    for at, _ in history:
        if at < created:
            raise ValueError(f"status_history has {at.isoformat()}, before created_at {created.isoformat()}")
    changes: list[tuple[str | None, str, datetime]] = [(None, "new", created)]
    current = "new"
    for at, status in history:
        if status != current:
            changes.append((current, status, at))
            current = status
    if current != line.status:
        last = changes[-1][2]
        own = {"resolved": line.resolved_at, "closed": line.closed_at}.get(line.status)
        at = max(last, own) if own else last
        warnings.append(
            f"status_history ends in {current!r} but status is {line.status!r}; added a change to "
            f"{line.status!r} at {at.isoformat()}"
        )
        changes.append((current, line.status, at))
    resolved_at = closed_at = paused_at = None
    paused = 0.0
    for i, (_, state, at) in enumerate(changes):
        nxt = changes[i + 1][2] if i + 1 < len(changes) else None
        if state == "pending":
            if nxt is None:
                paused_at = at
            else:
                paused += (nxt - at).total_seconds()
        if state in sla.DONE_STATUSES:
            if resolved_at is None:
                resolved_at = at
            if state == "closed":
                closed_at = at
        else:
            resolved_at = closed_at = None
    stamps = [c[2] for c in changes] + [c.created_at for c in line.comments]
    stamps += [t for t in (line.first_response_at, line.resolved_at, line.closed_at) if t]
    return Plan(lineno, line, digest, changes, resolved_at, closed_at, paused_at, paused, max(stamps), warnings)


def read_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every non-blank line, streamed."""
    for lineno, raw in enumerate(stream, start=1):
        stripped = raw.strip()
        if stripped:
            yield lineno, stripped


def batches(items: Iterable[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Caches:
    users: dict[str, tuple[int, str]] = field(default_factory=dict)
    """username -> (id, role)"""
    categories: dict[str, int] = field(default_factory=dict)
    users_created: int = 0
    categories_created: int = 0


async def _ensure_users(session: AsyncSession, caches: _Caches, wanted: dict[str, str], now: datetime) -> None:
    missing = [u for u in wanted if u not in caches.users]
    if not missing:
        return
    found = await session.execute(select(User.id, User.username, User.role).where(User.username.in_(missing)))
    for uid, name, role in found:
        caches.users[name] = (uid, role)
    new = [u for u in missing if u not in caches.users]
    if new:
        rows = [
            {
                "username": u,
                "email": f"{u}@imported.invalid",
                "display_name": u,
                "role": wanted[u],
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for u in new
        ]
        result = await session.execute(
            insert(User).returning(User.id, User.username, sort_by_parameter_order=True), rows
        )
        for uid, name in result:
            caches.users[name] = (uid, wanted[name])
        caches.users_created += len(new)


async def _ensure_categories(session: AsyncSession, caches: _Caches, names: set[str]) -> None:
    missing = {n for n in names if n.lower() not in caches.categories}
    if not missing:
        return
    found = await session.execute(
        select(Category.id, Category.name).where(func.lower(Category.name).in_([n.lower() for n in missing]))
    )
    for cid, name in found:
        caches.categories[name.lower()] = cid
    new = sorted({n for n in missing if n.lower() not in caches.categories}, key=str.lower)
    unique = list({n.lower(): n for n in new}.values())
    if unique:
        result = await session.execute(
            insert(Category).returning(Category.id, Category.name, sort_by_parameter_order=True),
            [{"name": n, "description": "Created by ticket import"} for n in unique],
        )
        for cid, name in result:
            caches.categories[name.lower()] = cid
        caches.categories_created += len(unique)


def _ticket_values(desk: Desk, plan: Plan, caches: _Caches) -> dict[str, Any]:
    line = plan.line
    requester = line.requester or DEFAULT_REQUESTER
    first_response = line.first_response_at
    if first_response is None:
        staff = [
            c.created_at
            for c in line.comments
            if not c.internal and c.author != requester and caches.users[c.author][1] != "end_user"
        ]
        first_response = min(staff) if staff else None
    values: dict[str, Any] = {
        "requester_id": caches.users[requester][0],
        "assignee_id": caches.users[line.assignee][0] if line.assignee else None,
        "category_id": caches.categories[line.category.lower()] if line.category else None,
        "priority": line.priority,
        "status": line.status,
        "subject": line.subject,
        "description": line.description or line.subject,
        "tags": line.tags,
        "channel": line.channel,
        "created_at": line.created_at,
        "updated_at": plan.updated_at,
        "first_response_at": first_response,
        "resolved_at": plan.resolved_at,
        "closed_at": plan.closed_at,
        "paused_at": plan.paused_at,
        "paused_seconds": plan.paused_seconds,
        "external_id": line.external_id,
        "import_sha256": plan.digest,
    }
    # Bulk INSERT/UPDATE bypass the ORM hooks that keep identifier parts (store.models.keep_search_terms).
    values["search_terms"] = identifier_terms(values["subject"], values["description"])
    paused = timedelta(seconds=plan.paused_seconds)
    values["sla_due_at"] = line.created_at + sla.resolution_target(desk.settings, line.priority) + paused
    values["first_response_due_at"] = line.created_at + sla.first_response_target(desk.settings, line.priority) + paused
    return values


@dataclass
class _Outcome:
    created: list[Plan] = field(default_factory=list)
    updated: list[Plan] = field(default_factory=list)
    unchanged: list[Plan] = field(default_factory=list)


async def _write(desk: Desk, session: AsyncSession, plans: list[Plan], caches: _Caches, actor: Actor) -> _Outcome:
    """Write ``plans`` (distinct external ids) in the session's current transaction or savepoint."""
    now = desk.clock()
    wanted: dict[str, str] = {}
    for p in plans:
        wanted.setdefault(p.line.requester or DEFAULT_REQUESTER, "end_user")
        if p.line.assignee:
            wanted.setdefault(p.line.assignee, "technician")
    for p in plans:
        for c in p.line.comments:
            wanted.setdefault(c.author, "technician")
    await _ensure_users(session, caches, wanted, now)
    await _ensure_categories(session, caches, {p.line.category for p in plans if p.line.category})
    existing = {
        ext: (tid, digest)
        for tid, ext, digest in await session.execute(
            select(Ticket.id, Ticket.external_id, Ticket.import_sha256).where(
                Ticket.external_id.in_([p.line.external_id for p in plans])
            )
        )
    }
    out = _Outcome()
    ids: dict[str, int] = {}
    new_rows = []
    for p in plans:
        ext = p.line.external_id
        if ext in existing:
            tid, digest = existing[ext]
            ids[ext] = tid
            (out.unchanged if digest == p.digest else out.updated).append(p)
        else:
            out.created.append(p)
            new_rows.append(_ticket_values(desk, p, caches) | {"number": f"tmp-{uuid.uuid4().hex[:16]}", "version": 1})
    if new_rows:
        result = await session.execute(
            insert(Ticket).returning(Ticket.id, Ticket.external_id, sort_by_parameter_order=True), new_rows
        )
        for tid, new_ext in result:
            ids[str(new_ext)] = tid
        table = Ticket.__table__
        await session.execute(
            update(table).where(table.c.id == bindparam("tid")).values(number=bindparam("num")),  # type: ignore[arg-type]
            [{"tid": ids[p.line.external_id], "num": format_number(ids[p.line.external_id])} for p in out.created],
        )
    for p in out.updated:
        tid = ids[p.line.external_id]
        values = _ticket_values(desk, p, caches)
        await session.execute(update(Ticket).where(Ticket.id == tid).values(**values, version=Ticket.version + 1))
        await session.execute(delete(TicketStatusChange).where(TicketStatusChange.ticket_id == tid))
    written = out.created + out.updated
    if written:
        await session.execute(
            insert(TicketStatusChange),
            [
                {
                    "ticket_id": ids[p.line.external_id],
                    "from_status": f,
                    "to_status": t,
                    "changed_at": at,
                    "actor_id": None,
                }
                for p in written
                for f, t, at in p.changes
            ],
        )
        present: set[tuple[int, int, datetime, str]] = set()
        updated_ids = [ids[p.line.external_id] for p in out.updated]
        if updated_ids:
            for tid, author, at, body in await session.execute(
                select(
                    TicketComment.ticket_id, TicketComment.author_id, TicketComment.created_at, TicketComment.body
                ).where(TicketComment.ticket_id.in_(updated_ids))
            ):
                present.add((tid, author, at, body))
        comments = []
        for p in written:
            tid = ids[p.line.external_id]
            for c in p.line.comments:
                key = (tid, caches.users[c.author][0], c.created_at, c.body)
                if key not in present:
                    present.add(key)
                    comments.append(
                        {
                            "ticket_id": tid,
                            "author_id": key[1],
                            "body": c.body,
                            "is_internal": c.internal,
                            "created_at": c.created_at,
                        }
                    )
        if comments:
            await session.execute(insert(TicketComment), comments)
        rated = [p for p in written if p.line.satisfaction]
        if rated:
            await session.execute(
                delete(TicketRating).where(TicketRating.ticket_id.in_([ids[p.line.external_id] for p in rated]))
            )
            await session.execute(
                insert(TicketRating),
                [
                    {
                        "ticket_id": ids[p.line.external_id],
                        "rater_id": caches.users[p.line.requester or DEFAULT_REQUESTER][0],
                        "rating": p.line.satisfaction,
                        "comment": None,
                        "created_at": p.resolved_at or p.updated_at,
                        "updated_at": p.resolved_at or p.updated_at,
                    }
                    for p in rated
                ],
            )
        await metrics.refresh_metrics(session, desk.settings, [ids[p.line.external_id] for p in written])
        # ... and the outbox hook: queue the tickets for the vector index in this same transaction.
        await enqueue(session, [f"ticket:{ids[p.line.external_id]}" for p in written])
    return out


async def import_tickets(
    desk: Desk, actor: Actor, stream: IO[bytes], *, progress: Progress | None = None, total_bytes: int | None = None
) -> ImportReport:
    """Import the JSON Lines in ``stream`` (admins only), in batches, reporting progress per batch."""
    permissions.require(actor, "tickets.import", "importing tickets")
    started = time.monotonic()
    caches = _Caches()
    report = ImportReport(
        lines=0,
        created=0,
        updated=0,
        unchanged=0,
        failed=0,
        errors=[],
        warnings=[],
        users_created=0,
        categories_created=0,
        seconds=0.0,
    )
    read_bytes = 0

    def fail(lineno: int, ext: str | None, message: str) -> None:
        report.failed += 1
        if len(report.errors) < MAX_REPORTED_ERRORS:
            report.errors.append(LineError(line=lineno, external_id=ext, error=message))

    for batch in batches(read_lines(stream), BATCH):
        plans: list[Plan] = []
        for lineno, raw in batch:
            report.lines += 1
            read_bytes += len(raw) + 1
            try:
                plans.append(plan_line(lineno, raw))
            except ValueError as exc:
                fail(lineno, _external_id(raw), str(exc))
        # A file may carry the same external_id twice: the later line is an update, so split the batch.
        rounds: list[list[Plan]] = []
        for p in plans:
            for r in rounds:
                if all(q.line.external_id != p.line.external_id for q in r):
                    r.append(p)
                    break
            else:
                rounds.append([p])
        for group in rounds:
            await _write_group(desk, actor, group, caches, report, fail)
        if progress is not None:
            await progress(
                float(read_bytes if total_bytes else report.lines),
                float(total_bytes) if total_bytes else None,
                f"{report.lines} lines: {report.created} created, {report.updated} updated, {report.failed} failed",
            )
    report.users_created, report.categories_created = caches.users_created, caches.categories_created
    report.seconds = round(time.monotonic() - started, 3)
    async with desk.sessions.begin() as session:
        record_event(
            session,
            actor,
            "ticket.import",
            "tickets",
            "import",
            after=report.model_dump(exclude={"errors", "warnings"}),
        )
    logger.info("import by %s: %s", actor.username, report.model_dump(exclude={"errors", "warnings"}))
    return report


async def _write_group(
    desk: Desk,
    actor: Actor,
    plans: list[Plan],
    caches: _Caches,
    report: ImportReport,
    fail: Callable[[int, str | None, str], None],
) -> None:
    if not plans:
        return
    snapshot = (dict(caches.users), dict(caches.categories), caches.users_created, caches.categories_created)
    try:
        async with desk.sessions.begin() as session:
            out = await _write(desk, session, plans, caches, actor)
    except (IntegrityError, DBAPIError) as exc:
        logger.info("import batch refused (%s); retrying its %d lines one by one", type(exc).__name__, len(plans))
        caches.users, caches.categories, caches.users_created, caches.categories_created = (
            snapshot[0],
            snapshot[1],
            snapshot[2],
            snapshot[3],
        )
        out = _Outcome()
        for p in plans:
            before = (dict(caches.users), dict(caches.categories), caches.users_created, caches.categories_created)
            try:
                async with desk.sessions.begin() as session:
                    one = await _write(desk, session, [p], caches, actor)
            except (IntegrityError, DBAPIError) as line_exc:
                caches.users, caches.categories, caches.users_created, caches.categories_created = before
                fail(p.lineno, p.line.external_id, f"the database refused it: {str(line_exc.orig).splitlines()[0]}")
                continue
            out.created += one.created
            out.updated += one.updated
            out.unchanged += one.unchanged
    report.created += len(out.created)
    report.updated += len(out.updated)
    report.unchanged += len(out.unchanged)
    for p in out.created + out.updated:
        for w in p.warnings:
            if len(report.warnings) < MAX_REPORTED_ERRORS:
                report.warnings.append(LineError(line=p.lineno, external_id=p.line.external_id, error=w))


async def import_path(desk: Desk, actor: Actor, path: str, *, progress: Progress | None = None) -> ImportReport:
    """Import a JSON Lines file on the server, streamed; confined to ``SUPPORT_INGEST_ROOTS`` when set."""
    permissions.require(actor, "tickets.import", "importing tickets")
    roots = desk.settings.ingest_roots

    def check() -> tuple[Path, int]:
        resolved = Path(path).expanduser().resolve()
        if roots is not None and not any(resolved.is_relative_to(root.resolve()) for root in roots):
            raise ForbiddenError(
                f"reading {path!r} from the server is not allowed here; send the content (base64) instead, or ask "
                "the operator to list its folder in SUPPORT_INGEST_ROOTS"
            )
        if not resolved.is_file():
            raise InvalidInputError(f"{path!r} is not a readable file on the server; pass an existing file path")
        return resolved, resolved.stat().st_size

    resolved, size = await asyncio.to_thread(check)
    # Read line by line between awaits: a million lines never sit in memory at once.
    stream = await asyncio.to_thread(resolved.open, "rb")
    try:
        return await import_tickets(desk, actor, stream, progress=progress, total_bytes=size)
    finally:
        stream.close()


def _external_id(raw: bytes) -> str | None:
    try:
        value = json.loads(raw).get("external_id")
    except (ValueError, AttributeError):
        return None
    return str(value)[:100] if value is not None else None
