"""Load the demo IT-support desk: people, teams, categories, KB articles, tickets in every state, and documents.

Idempotent: users, teams and categories are upserted; articles, tickets and documents are added only to a desk
that has no tickets yet (documents are de-duplicated by content hash anyway). Ticket times are spread
over the last ten days through the desk's injectable clock, so SLA figures look like a living desk.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from store.config import Settings
from store.models import Ticket
from tools import kb, kb_models, teams, tickets
from tools.actor import Actor
from tools.demo.content import CATEGORIES, DEMO_PASSWORD, KB_ARTICLES, TEAMS, TICKETS, USERS
from tools.desk import Desk, open_desk
from tools.passwords import bootstrap_admin, password_hash_of, password_set
from tools.ticket_activity import (
    ticket_add_resolution_step,
    ticket_comment,
    ticket_link_kb,
    ticket_set_root_cause,
)
from tools.ticket_models import TicketCreate, TicketUpdate
from tools.users import UserUpsert, category_upsert, ensure_actor, user_upsert

logger = logging.getLogger(__name__)

KNOWLEDGE_DIR = Path(__file__).parent / "knowledge"

# How a ticket reaches each final status through allowed transitions.
PATHS: dict[str, list[str]] = {
    "new": [],
    "open": ["open"],
    "in_progress": ["open", "in_progress"],
    "pending": ["open", "in_progress", "pending"],
    "resolved": ["open", "in_progress", "resolved"],
    "closed": ["open", "in_progress", "resolved", "closed"],
}


async def load_demo(settings: Settings) -> str:
    """Load the demo desk into the configured database; returns a summary and how to sign in."""
    async with open_desk(settings) as desk:
        summary = await load_demo_into(desk, settings)
        first = await bootstrap_admin(desk, settings)
    url = f"http://{settings.host}:{settings.port}/"
    lines = [
        summary,
        f"demo: sign in at {url} as alice (end user), tom.tech (technician, team Service Desk) or "
        f"maria.manager (manager) with password {DEMO_PASSWORD!r}",
    ]
    if first is not None and first.generated_password:
        lines.append(
            f"demo: admin account {first.username!r}, password {first.generated_password!r} (shown only now; "
            f"change it with 'support-agent user password {first.username}')"
        )
    elif first is not None:
        lines.append(f"demo: admin account {first.username!r} signs in with SUPPORT_ADMIN_PASSWORD")
    return "\n".join(lines)


async def load_demo_into(desk: Desk, settings: Settings) -> str:
    bootstrap = await ensure_actor(desk, settings.actor, "admin")
    actors: dict[str, Actor] = {}
    for spec in USERS:
        public = await user_upsert(desk, bootstrap, UserUpsert(**spec))  # type: ignore[arg-type]
        actors[public.username] = Actor(user_id=public.id, username=public.username, role=public.role)
    admin = actors["admin"] if actors["admin"].role == "admin" else bootstrap
    for name, actor in actors.items():
        if actor.role != "admin" and await password_hash_of(desk, actor.user_id) is None:
            await password_set(desk, bootstrap, name, DEMO_PASSWORD)
    for name, description in CATEGORIES:
        await category_upsert(desk, admin, name=name, description=description)
    await _demo_teams(desk, admin)

    async with desk.sessions() as session:
        existing = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
    if existing:
        return f"demo: users and categories up to date; {existing} tickets already present, nothing added"

    articles: dict[str, int] = {}
    for spec in KB_ARTICLES:
        article = await kb.kb_article_create(desk, admin, kb_models.KBArticleCreate(**spec))
        articles[article.title] = article.id

    real_clock = desk.clock
    start = real_clock() - timedelta(days=10)
    try:
        for i, spec in enumerate(TICKETS):
            moment = start + timedelta(hours=19 * i)
            desk.clock = lambda moment=moment: moment  # type: ignore[misc]
            await _demo_ticket(desk, actors, articles, spec, step=lambda h: _advance(desk, h))
    finally:
        desk.clock = real_clock

    documents = await _ingest_knowledge(desk, admin)
    return (
        f"demo: {len(USERS)} users, {len(TEAMS)} teams, {len(CATEGORIES)} categories, {len(articles)} KB articles, "
        f"{len(TICKETS)} tickets, {documents} documents"
    )


async def _demo_teams(desk: Desk, admin: Actor) -> None:
    """Create the demo teams that are missing and add their members (both idempotent)."""
    existing = {t.name for t in (await teams.team_list(desk, admin, limit=100)).items}
    for name, members in TEAMS:
        if name not in existing:
            await teams.team_create(desk, admin, name=name)
        for member in members:
            await teams.team_member_add(desk, admin, name, member)


def _advance(desk: Desk, hours: float) -> None:
    moment = desk.clock() + timedelta(hours=hours)
    desk.clock = lambda: moment


async def _demo_ticket(
    desk: Desk, actors: dict[str, Actor], articles: dict[str, int], spec: dict[str, Any], step: Any
) -> None:
    fields = {
        k: spec[k]
        for k in (
            "subject",
            "description",
            "priority",
            "category",
            "affected_system",
            "business_impact",
            "error_message",
            "steps_taken",
            "contact_phone",
            "preferred_contact",
        )
        if k in spec
    }
    requester = actors[spec["requester"]]
    created = await tickets.ticket_create(desk, requester, TicketCreate(**fields, tags=["demo"], channel="ui"))
    if spec["status"] == "new":
        return
    number, version = created.number, created.version
    assignee = actors.get(spec.get("assignee") or "")
    # Unassigned tickets are still triaged by someone on the desk.
    tech = assignee or next(a for a in actors.values() if a.role == "technician")
    if assignee is not None:
        step(0.5)
        update = TicketUpdate(version=version, assignee=assignee.username)
        version = (await tickets.ticket_update(desk, tech, number, update)).version
    for author, body, internal in spec.get("comments", []):
        step(0.5)
        result = await ticket_comment(desk, actors[author], number, body=body, internal=internal)
        version = result.ticket.version
    for instructions, success in spec.get("steps", []):
        step(0.5)
        await ticket_add_resolution_step(desk, tech, number, instructions=instructions, success=success)
    if "root_cause" in spec:
        code, description = spec["root_cause"]
        await ticket_set_root_cause(desk, tech, number, cause_code=code, description=description)
    if spec.get("kb") in articles:
        await ticket_link_kb(desk, tech, number, article_id=articles[spec["kb"]])
    current = (await tickets.ticket_get(desk, tech, number)).ticket
    version = current.version
    for status in PATHS[spec["status"]]:
        if status == current.status:
            continue
        step(1.5)
        updated = await tickets.ticket_update(desk, tech, number, TicketUpdate(version=version, status=status))
        version = updated.version


async def _ingest_knowledge(desk: Desk, admin: Actor) -> int:
    """Ingest the demo handbook documents when the knowledge pipeline is available."""
    try:
        from tools.knowledge import document_ingest
    except ImportError:  # the knowledge pipeline is optional for a core-only install
        return 0
    count = 0
    for path in sorted(KNOWLEDGE_DIR.glob("*.md")):
        await document_ingest(desk, admin, data=path.read_bytes(), filename=path.name, source_key=f"demo/{path.name}")
        count += 1
    return count
