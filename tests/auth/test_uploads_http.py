"""``POST /uploads`` over real HTTP: a signed-in UI session may upload like a bearer token, and whoever
may not ingest (the rule is ``knowledge.write`` in tools/permissions.py: admins) is refused with 403."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from store.models_knowledge import Upload
from store.types import utcnow
from tests.auth.conftest import Serve
from tests.conftest import MakeUser
from tools.actor import Actor
from tools.desk import Desk
from tools.passwords import password_set
from tools.tokens import token_create, token_revoke
from tools.web_sessions import sign_in, sign_out
from ui.context import SESSION_COOKIE

PASSWORD = "a-fine-password"
BODY = b"# VPN\n\nOpen the portal and sign in with your badge.\n"


async def _session(desk: Desk, admin: Actor, username: str) -> str:
    """A browser session, as POST /signin opens it (on the real clock the server checks it against)."""
    desk.clock = utcnow
    await password_set(desk, admin, username, PASSWORD)
    return (await sign_in(desk, identifier=username, password=PASSWORD, address="127.0.0.1")).token


async def _uploads(desk: Desk) -> int:
    async with desk.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Upload))).scalar_one())


async def test_a_signed_in_admin_session_uploads_and_the_upload_is_recorded(
    desk: Desk, admin: Actor, served: Serve
) -> None:
    cookie = await _session(desk, admin, "admin")
    async with served(desk.settings) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:
        # A browser's same-origin fetch from the UI page.
        up = await http.post(
            "/uploads",
            params={"filename": "vpn.md"},
            content=BODY,
            cookies={SESSION_COOKIE: cookie},
            headers={"Origin": base, "Sec-Fetch-Site": "same-origin"},
        )
        assert up.status_code == 201, up.text
        assert (up.json()["filename"], up.json()["size_bytes"]) == ("vpn.md", len(BODY))
        await sign_out(desk, cookie)
        after = await http.post(
            "/uploads", params={"filename": "vpn.md"}, content=BODY, cookies={SESSION_COOKIE: cookie}
        )
        assert after.status_code == 401, "a session that signed out uploads nothing"
    async with desk.sessions() as session:
        row = await session.get(Upload, up.json()["upload_id"])
        assert row is not None and row.filename == "vpn.md" and row.size_bytes == len(BODY)


async def test_who_may_not_ingest_is_refused_with_403_and_nothing_is_stored(
    desk: Desk, admin: Actor, make_user: MakeUser, served: Serve
) -> None:
    await make_user("erin")
    await make_user("tina", "technician")
    sessions = {name: await _session(desk, admin, name) for name in ("erin", "tina", "admin")}
    erin_write = (await token_create(desk, admin, username="erin", scopes=["desk:read", "desk:write"])).token
    admin_read = (await token_create(desk, admin, username="admin", scopes=["desk:read"])).token
    revoked = await token_create(desk, admin, username="admin", scopes=["desk:write"])
    await token_revoke(desk, admin, revoked.info.id)

    async with served(desk.settings) as base, httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def post(cookie: str | None = None, token: str | None = None, **headers: str) -> httpx.Response:
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            cookies = {SESSION_COOKIE: cookie} if cookie else None
            return await http.post(
                "/uploads", params={"filename": "x.md"}, content=BODY, cookies=cookies, headers=headers
            )

        for name in ("erin", "tina"):  # an end user and a technician, signed in to the UI
            refused = await post(sessions[name])
            assert refused.status_code == 403, (name, refused.text)
            assert "admin" in refused.json()["error"], refused.text  # names who may
        # A valid admin session, but the request comes from another site (CSRF).
        cross = await post(sessions["admin"], **{"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403 and cross.json()["error"] == "cross-site request refused"
        # Bearer tokens: an end user's, even with desk:write; an admin's without desk:write; a revoked one.
        assert (await post(token=erin_write)).status_code == 403
        scoped = await post(token=admin_read)
        assert scoped.status_code == 403 and scoped.json()["error"] == "insufficient_scope"
        assert (await post(token=revoked.token)).status_code == 401
    assert await _uploads(desk) == 0
    assert not [p for p in (desk.settings.data_dir / "blobs" / ".incoming").glob("*")]
