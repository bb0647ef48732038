"""The demo desk loads on both databases, covers every ticket state, and loading it twice adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from store.models import KBArticle, RootCause, Ticket, TicketKBLink, User
from tools.demo import load_demo_into
from tools.demo.content import KB_ARTICLES, TEAMS, TICKETS, USERS
from tools.desk import Desk
from tools.teams import team_list
from tools.users import ensure_actor


async def test_demo_desk_loads_once_with_every_status(desk: Desk) -> None:
    summary = await load_demo_into(desk, desk.settings)
    assert f"{len(TICKETS)} tickets" in summary
    async with desk.sessions() as session:
        statuses = dict((await session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))).all())
        assert set(statuses) == {"new", "open", "in_progress", "pending", "resolved", "closed"}
        assert statuses == {s: sum(1 for t in TICKETS if t["status"] == s) for s in statuses}
        assert (await session.execute(select(func.count()).select_from(KBArticle))).scalar_one() == len(KB_ARTICLES)
        assert (await session.execute(select(func.count()).select_from(RootCause))).scalar_one() > 0
        assert (await session.execute(select(func.count()).select_from(TicketKBLink))).scalar_one() > 0
        closed = (await session.execute(select(Ticket).where(Ticket.status == "closed"))).scalars().all()
        assert all(t.closed_at is not None and t.resolved_at is not None for t in closed)
        # Ticket times are spread over the past, not all stamped with the load time.
        created = sorted(t for (t,) in (await session.execute(select(Ticket.created_at))).all())
        assert created[-1] - created[0] > (created[1] - created[0])

    again = await load_demo_into(desk, desk.settings)
    assert "nothing added" in again
    async with desk.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Ticket))).scalar_one() == len(TICKETS)
        usernames = set((await session.execute(select(User.username))).scalars())
    assert {u["username"] for u in USERS} <= usernames
    admin = await ensure_actor(desk, "admin", "admin")
    loaded = {t.name: t.members for t in (await team_list(desk, admin)).items}
    assert loaded == {name: sorted(members) for name, members in TEAMS}
    assert "tom.tech" in loaded["Service Desk"]
