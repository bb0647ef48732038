"""Users and categories, through tools/users.py and through the MCP tools, on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from store.models import AuditEvent
from tests.conftest import MakeUser
from tests.mcp_helpers import call, client, error
from tools import users
from tools.actor import Actor
from tools.desk import Desk
from tools.errors import ConflictError, ForbiddenError, InvalidInputError


def _upsert(username: str, role: str = "end_user", **extra: Any) -> users.UserUpsert:
    return users.UserUpsert(
        username=username,
        email=extra.pop("email", f"{username}@example.com"),
        display_name=extra.pop("display_name", username.title()),
        role=role,  # type: ignore[arg-type]
        **extra,
    )


# --- tools ----------------------------------------------------------------------------------------------


async def test_upsert_creates_then_updates(desk: Desk, admin: Actor) -> None:
    created = await users.user_upsert(desk, admin, _upsert("dana", "technician"))
    assert (created.username, created.role, created.is_active) == ("dana", "technician", True)
    updated = await users.user_upsert(desk, admin, _upsert("dana", "manager", display_name="Dana Scully"))
    assert (updated.id, updated.role, updated.display_name) == (created.id, "manager", "Dana Scully")
    async with desk.sessions() as s:
        actions = (
            (await s.execute(select(AuditEvent.action).where(AuditEvent.target_id == str(created.id)))).scalars().all()
        )
    assert sorted(actions) == ["user.create", "user.role_change", "user.update"]


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"username": "Bad Name"}, "username"),
        ({"username": "x"}, "username"),
        ({"username": "-leading"}, "username"),
        ({"role": "superuser"}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"display_name": "   "}, "display_name"),
    ],
)
def test_upsert_validation_names_the_field(fields: dict[str, Any], where: str) -> None:
    values = {"username": "valid.name", "email": "v@example.com", "display_name": "Valid", **fields}
    with pytest.raises(ValidationError) as info:
        users.UserUpsert(**values)
    assert [e["loc"][0] for e in info.value.errors()] == [where]


async def test_email_clash_is_a_conflict(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await make_user("erin")
    with pytest.raises(ConflictError, match=r"email 'erin@example.com' already belongs to user 'erin'"):
        await users.user_upsert(desk, admin, _upsert("frank", email="erin@example.com"))


async def test_admin_cannot_demote_themselves(desk: Desk, admin: Actor) -> None:
    with pytest.raises(ConflictError, match="cannot remove your own admin role"):
        await users.user_upsert(desk, admin, _upsert("admin", "technician", email="admin@example.com"))
    page = await users.user_list(desk, admin, role="admin")
    assert [u.username for u in page.items] == ["admin"]


@pytest.mark.parametrize("role", ["end_user", "technician", "manager"])
async def test_only_admins_manage_users(desk: Desk, make_user: MakeUser, role: str) -> None:
    actor = await make_user("someone", role)
    with pytest.raises(ForbiddenError, match=rf"managing users is not allowed .*role '{role}'.*needs one of: admin"):
        await users.user_upsert(desk, actor, _upsert("newbie"))


async def test_end_users_cannot_list_users(desk: Desk, make_user: MakeUser) -> None:
    end_user = await make_user("erin")
    tech = await make_user("tom", "technician")
    with pytest.raises(ForbiddenError, match=r"listing users .*needs one of: technician, manager, admin"):
        await users.user_list(desk, end_user)
    assert (await users.user_list(desk, tech)).total == 3


async def test_user_list_filters_and_paginates(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    for i in range(5):
        await make_user(f"user{i}", "technician" if i % 2 else "end_user", display_name=f"Person {i}")
    first = await users.user_list(desk, admin, limit=2)
    assert first.total == 6 and [u.username for u in first.items] == ["admin", "user0"] and first.next_cursor
    seen = [u.username for u in first.items]
    cursor: str | None = first.next_cursor
    while cursor:
        page = await users.user_list(desk, admin, limit=2, cursor=cursor)
        seen += [u.username for u in page.items]
        cursor = page.next_cursor
    assert seen == ["admin", "user0", "user1", "user2", "user3", "user4"]

    techs = await users.user_list(desk, admin, role="technician")
    assert [u.username for u in techs.items] == ["user1", "user3"] and techs.total == 2
    assert [u.username for u in (await users.user_list(desk, admin, query="PERSON 4")).items] == ["user4"]
    with pytest.raises(InvalidInputError, match="between 1 and 100"):
        await users.user_list(desk, admin, limit=0)
    with pytest.raises(InvalidInputError, match="cursor"):
        await users.user_list(desk, admin, cursor="???")


async def test_categories_are_listed_by_name(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await users.category_upsert(desk, admin, name="Network", description="LAN, Wi-Fi, VPN")
    await users.category_upsert(desk, admin, name="Hardware")
    await users.category_upsert(desk, admin, name="Network", description="LAN and Wi-Fi")
    end_user = await make_user("erin")
    cats = await users.category_list(desk, end_user)
    assert [(c.name, c.description) for c in cats] == [("Hardware", ""), ("Network", "LAN and Wi-Fi")]
    with pytest.raises(ForbiddenError, match="managing categories"):
        await users.category_upsert(desk, end_user, name="Mine")


# --- MCP ------------------------------------------------------------------------------------------------


async def test_user_tools_over_mcp(desk: Desk, admin: Actor) -> None:
    async with client(desk) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert {"user_upsert", "user_list", "category_list"} <= set(tools)
        assert tools["user_list"].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert tools["category_list"].annotations.read_only_hint is True  # type: ignore[union-attr]
        assert tools["user_upsert"].annotations.destructive_hint is True  # it overwrites roles and contact details  # type: ignore[union-attr]

        made = await call(
            c,
            "user_upsert",
            {"username": "gina", "email": "gina@example.com", "display_name": "Gina", "role": "manager"},
        )
        assert (made["username"], made["role"], made["is_active"]) == ("gina", "manager", True)
        again = await call(
            c,
            "user_upsert",
            {"username": "gina", "email": "gina@example.com", "display_name": "Gina", "is_active": False},
        )
        assert (again["id"], again["role"], again["is_active"]) == (made["id"], "end_user", False)

        page = await call(c, "user_list", {"limit": 1})
        assert page["total"] == 2 and len(page["items"]) == 1 and page["next_cursor"]
        rest = await call(c, "user_list", {"limit": 1, "cursor": page["next_cursor"]})
        assert [u["username"] for u in page["items"] + rest["items"]] == ["admin", "gina"]
        assert rest["next_cursor"] is None
        assert [u["username"] for u in (await call(c, "user_list", {"query": "gin"}))["items"]] == ["gina"]


async def test_user_tool_errors_over_mcp(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await make_user("erin")
    async with client(desk) as c:
        bad_name = await error(
            c, "user_upsert", {"username": "Not Valid", "email": "n@example.com", "display_name": "N"}
        )
        assert "username" in bad_name and "lower-case letters" in bad_name
        bad_role = await error(
            c, "user_upsert", {"username": "nina", "email": "n@example.com", "display_name": "N", "role": "root"}
        )
        assert "role" in bad_role and "end_user" in bad_role and "admin" in bad_role
        bad_mail = await error(c, "user_upsert", {"username": "nina", "email": "nope", "display_name": "N"})
        assert "email" in bad_mail
        clash = await error(c, "user_upsert", {"username": "nina", "email": "erin@example.com", "display_name": "N"})
        assert "already belongs to user 'erin'" in clash
        demote = await error(
            c,
            "user_upsert",
            {"username": "admin", "email": "admin@example.com", "display_name": "A", "role": "manager"},
        )
        assert "cannot remove your own admin role" in demote
        assert "limit" in await error(c, "user_list", {"limit": 101})
        assert "cursor" in await error(c, "user_list", {"cursor": "garbage"})


async def test_end_user_over_mcp(desk: Desk, admin: Actor, make_user: MakeUser) -> None:
    await make_user("erin")
    await users.category_upsert(desk, admin, name="Software", description="Apps")
    async with client(desk, actor="erin") as c:
        denied = await error(c, "user_list", {})
        assert "user_list is not allowed" in denied and "role 'end_user'" in denied
        upsert = await error(c, "user_upsert", {"username": "erin", "email": "erin@example.com", "display_name": "E"})
        assert "user_upsert is not allowed" in upsert and "needs one of: admin" in upsert
        cats = await call(c, "category_list")
        assert cats == {"items": [{"id": cats["items"][0]["id"], "name": "Software", "description": "Apps"}]}


async def test_role_changes_and_deactivation_apply_to_an_open_session(desk: Desk, make_user: MakeUser) -> None:
    await make_user("tess", "technician")
    async with client(desk, "tess") as tess, client(desk) as admin:
        assert (await call(tess, "user_list", {}))["total"] >= 2
        await call(admin, "user_upsert", {"username": "tess", "email": "tess@example.com", "display_name": "Tess"})
        assert "not allowed" in await error(tess, "user_list", {})  # demoted to end_user: listing users is refused
        await call(
            admin,
            "user_upsert",
            {"username": "tess", "email": "tess@example.com", "display_name": "Tess", "is_active": False},
        )
        assert "deactivated" in await error(tess, "category_list", {})
