"""HTTP MCP auth over real HTTP: 401 before any handler, token lifecycle, session binding, scopes (403),
Host/Origin checks, security headers, body limit, request rate limits and per-identity session bounds."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.auth.conftest import INIT_PARAMS, Mcp, Serve, allowed_tools, published_specs, result, tool
from tests.conftest import MakeUser
from tools.actor import ROLES, Actor
from tools.desk import Desk
from tools.tokens import token_create, token_revoke
from tools.users import UserUpsert, user_upsert

EVIL_ADMIN = {"username": "evil", "email": "evil@example.com", "display_name": "E", "role": "admin"}


async def _token(desk: Desk, admin: Actor, username: str, **kw: object) -> str:
    return (await token_create(desk, admin, username=username, **kw)).token  # type: ignore[arg-type]


async def test_no_credentials_get_401_before_any_handler(desk: Desk, admin: Actor, served: Serve) -> None:
    async with served(desk.settings) as base, httpx.AsyncClient() as http:
        mcp = Mcp(http, base)
        for method, params in (
            (
                "initialize",
                {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}},
            ),
            ("tools/list", {}),
            (
                "tools/call",
                {
                    "name": "user_upsert",
                    "arguments": {"username": "evil", "email": "e@x.io", "display_name": "E", "role": "admin"},
                },
            ),
        ):
            response = await mcp.post(method, params)
            assert response.status_code == 401, (method, response.text)
            challenge = response.headers["www-authenticate"]
            assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge
            assert f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"' in challenge
        for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
            meta = (await http.get(base + path)).json()
            assert meta["resource"] == f"{base}/mcp"
            assert meta["scopes_supported"] == ["desk:read", "desk:write", "desk:admin"]
            assert meta["bearer_methods_supported"] == ["header"]
            # Desk API tokens come from `support-agent token create`, not from an OAuth authorization server:
            # the metadata names none (RFC 9728 makes the member optional) rather than this server, which has
            # no /authorize or /token.
            assert "authorization_servers" not in meta, meta
        for path in ("/.well-known/oauth-authorization-server", "/authorize", "/token"):
            assert (await http.get(base + path)).status_code == 404, path
    async with desk.sessions() as s:
        from sqlalchemy import select

        from store.models import User

        assert (await s.execute(select(User).where(User.username == "evil"))).first() is None


async def test_token_lifecycle_applies_on_the_next_request(
    desk: Desk, admin: Actor, make_user: MakeUser, served: Serve
) -> None:
    await make_user("alice")
    alice = await _token(desk, admin, "alice")
    expired = await token_create(desk, admin, username="alice", expires_in=timedelta(seconds=1))
    async with desk.sessions.begin() as s:  # the fake clock does not reach the server: expire it in the row
        from store.models import ApiToken

        row = await s.get(ApiToken, expired.info.id)
        assert row is not None and row.expires_at is not None
        row.expires_at = row.expires_at - timedelta(days=1)
    async with served(desk.settings) as base, httpx.AsyncClient() as http:
        unknown = await Mcp(http, base).open("sa_nonsense")
        assert unknown.status_code == 401 and "not a known desk API token" in unknown.headers["www-authenticate"]
        assert "not a known desk API token" in unknown.json()["error_description"]
        old = await Mcp(http, base).open(expired.token)
        assert old.status_code == 401 and "expired" in old.headers["www-authenticate"]

        mcp = Mcp(http, base)
        assert (await mcp.open(alice)).status_code == 200
        me = await tool(mcp, alice, "whoami")
        assert me["structuredContent"]["username"] == "alice" and me["structuredContent"]["via"] == "token"
        await token_revoke(desk, admin, (await _token_id(desk, alice)))
        after = await mcp.post("tools/list", {}, token=alice)
        assert after.status_code == 401 and "revoked" in after.headers["www-authenticate"]


async def _token_id(desk: Desk, token: str) -> int:
    from sqlalchemy import select

    from store.models import ApiToken
    from tools.tokens import hash_token

    async with desk.sessions() as s:
        return int(
            (await s.execute(select(ApiToken.id).where(ApiToken.token_sha256 == hash_token(token)))).scalar_one()
        )


async def test_a_session_cannot_be_continued_with_another_users_token(
    desk: Desk, admin: Actor, make_user: MakeUser, served: Serve
) -> None:
    await make_user("alice")
    await make_user("mallory")
    alice, mallory = await _token(desk, admin, "alice"), await _token(desk, admin, "mallory")
    async with served(desk.settings) as base, httpx.AsyncClient() as http:
        mcp = Mcp(http, base)
        assert (await mcp.open(alice)).status_code == 200
        created = await tool(mcp, alice, "ticket_create", {"subject": "Laptop fan", "description": "Loud"})
        assert not created.get("isError"), created
        hijack = await mcp.post("tools/call", {"name": "ticket_list", "arguments": {}}, token=mallory)
        assert hijack.status_code == 404
        assert not (await tool(mcp, alice, "ticket_list")).get("isError")


async def test_scopes_403_and_per_tool(desk: Desk, admin: Actor, make_user: MakeUser, served: Serve) -> None:
    await make_user("tess", "technician")
    write_only = await _token(desk, admin, "tess", scopes=["desk:write"])
    read_only = await _token(desk, admin, "tess", scopes=["desk:read"])
    async with served(desk.settings) as base, httpx.AsyncClient() as http:
        refused = await Mcp(http, base).open(write_only)
        assert refused.status_code == 403
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
        mcp = Mcp(http, base)
        assert (await mcp.open(read_only)).status_code == 200
        names = {t["name"] for t in result(await mcp.post("tools/list", {}, token=read_only))["result"]["tools"]}
        assert "ticket_list" in names and "ticket_create" not in names and "user_list" in names
        denied = await tool(mcp, read_only, "ticket_create", {"subject": "x", "description": "y"})
        assert denied["isError"] and "desk:write" in denied["content"][0]["text"]


async def test_end_user_over_http_sees_and_may_use_only_their_tools(
    desk: Desk, admin: Actor, make_user: MakeUser, served: Serve
) -> None:
    await make_user("erin")
    erin = await _token(desk, admin, "erin")
    async with served(desk.settings) as base, httpx.AsyncClient() as http:
        mcp = Mcp(http, base)
        assert (await mcp.open(erin)).status_code == 200
        names = {t["name"] for t in result(await mcp.post("tools/list", {}, token=erin))["result"]["tools"]}
        assert "ticket_create" in names and not {"user_upsert", "user_list", "document_delete", "audit_list"} & names
        upsert = await tool(
            mcp,
            erin,
            "user_upsert",
            {"username": "erin", "email": "erin@example.com", "display_name": "E", "role": "admin"},
        )
        assert upsert["isError"] and "not allowed" in upsert["content"][0]["text"]


async def test_host_and_origin_are_checked_on_every_route(desk: Desk, admin: Actor, served: Serve) -> None:
    token = await _token(desk, admin, "admin")
    async with served(desk.settings) as base, httpx.AsyncClient() as http:
        port = base.rsplit(":", 1)[1]
        for path in ("/mcp", "/health", "/.well-known/oauth-protected-resource", "/", "/gradio_api/info"):
            rebinding = await http.get(base + path, headers={"Host": f"evil.example:{port}"})
            assert rebinding.status_code == 421, (path, rebinding.status_code)
        cross = await Mcp(http, base).post("initialize", {}, token=token, headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403
        health = await http.get(base + "/health")
        assert health.status_code == 200
        assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
        assert health.headers["x-content-type-options"] == "nosniff"
        assert health.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "strict-transport-security" not in health.headers
    async with served(desk.settings, allowed_origins=["http://localhost:6274"]) as base, httpx.AsyncClient() as http:
        ok = await Mcp(http, base).post(
            "initialize", INIT_PARAMS, token=token, headers={"Origin": "http://localhost:6274"}
        )
        assert ok.status_code == 200


async def test_hsts_behind_tls(desk: Desk, served: Serve) -> None:
    tls = {"public_url": "https://desk.example.com", "allowed_hosts": ["desk.example.com"]}
    async with served(desk.settings, **tls) as base, httpx.AsyncClient() as http:
        health = await http.get(base + "/health")
    assert health.headers["strict-transport-security"].startswith("max-age=")


async def test_oversized_body_is_refused_while_read(desk: Desk, admin: Actor, served: Serve) -> None:
    token = await _token(desk, admin, "admin")
    async with served(desk.settings, max_upload_mb=0.5) as base, httpx.AsyncClient() as http:
        big = b"x" * (2 * 1024 * 1024)

        async def chunks():  # no Content-Length: only counting while reading can stop it
            for i in range(0, len(big), 65536):
                yield big[i : i + 65536]

        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        streamed = await http.post(base + "/mcp", content=chunks(), headers=headers)
        assert streamed.status_code == 413
        declared = await http.post(
            base + "/gradio_api/upload", content=big, headers={"Content-Type": "application/octet-stream"}
        )
        assert declared.status_code == 413 and "SUPPORT_MAX_UPLOAD_MB" in declared.text


async def test_request_rate_limit_is_429_with_retry_after_per_identity(
    desk: Desk, admin: Actor, make_user: MakeUser, served: Serve
) -> None:
    await make_user("bob")
    admin_token, bob = await _token(desk, admin, "admin"), await _token(desk, admin, "bob")
    async with served(desk.settings, rate_limit_http="3/minute") as base, httpx.AsyncClient() as http:
        mcp = Mcp(http, base)
        assert (await mcp.open(admin_token)).status_code == 200  # initialize + initialized: 2 requests
        assert (await mcp.post("tools/list", {}, token=admin_token)).status_code == 200
        limited = await mcp.post("tools/list", {}, token=admin_token)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "retry in" in limited.json()["error_description"]
        assert (await Mcp(http, base).open(bob)).status_code == 200  # others keep being served


async def test_sessions_are_bounded_per_identity(desk: Desk, admin: Actor, make_user: MakeUser, served: Serve) -> None:
    await make_user("bob")
    flood, bob = await _token(desk, admin, "admin"), await _token(desk, admin, "bob")
    async with served(desk.settings, max_sessions_per_identity=3) as base, httpx.AsyncClient() as http:
        sessions = [Mcp(http, base) for _ in range(3)]
        for mcp in sessions:
            assert (await mcp.open(flood)).status_code == 200
        refused = await Mcp(http, base).open(flood)
        assert refused.status_code == 429 and "too many open MCP sessions" in refused.text
        assert int(refused.headers["retry-after"]) > 0
        other = Mcp(http, base)
        assert (await other.open(bob)).status_code == 200
        assert not (await tool(other, bob, "whoami")).get("isError")
        # Closing one (HTTP DELETE) frees a place.
        closed = await http.delete(
            f"{base}/mcp",
            headers={"Authorization": f"Bearer {flood}", "Mcp-Session-Id": sessions[0].session or ""},
        )
        assert closed.status_code == 200
        assert (await Mcp(http, base).open(flood)).status_code == 200


async def test_role_change_and_deactivation_apply_on_the_next_request(
    desk: Desk, admin: Actor, make_user: MakeUser, served: Serve
) -> None:
    await make_user("tess", "technician")
    tess = await _token(desk, admin, "tess")
    async with served(desk.settings) as base, httpx.AsyncClient() as http:
        mcp = Mcp(http, base)
        assert (await mcp.open(tess)).status_code == 200
        for _ in range(3):  # checked once, then answered from the server's credential cache
            me = await tool(mcp, tess, "whoami")
            assert me["structuredContent"]["role"] == "technician"
        demoted = UserUpsert(username="tess", email="tess@example.com", display_name="T", role="end_user")
        await user_upsert(desk, admin, demoted)
        assert (await tool(mcp, tess, "whoami"))["structuredContent"]["role"] == "end_user"
        refused = await tool(mcp, tess, "user_list")
        assert refused["isError"] and "role 'end_user'" in refused["content"][0]["text"]
        await user_upsert(desk, admin, demoted.model_copy(update={"is_active": False}))
        gone = await mcp.post("tools/list", {}, token=tess)
        assert gone.status_code == 401 and "deactivated" in gone.headers["www-authenticate"]


async def test_every_tool_a_role_may_not_use_is_hidden_and_refused_over_http(
    desk: Desk, admin: Actor, make_user: MakeUser, served: Serve
) -> None:
    specs = published_specs(desk.settings, desk)
    tokens = {"admin": await _token(desk, admin, "admin")}
    for role in ROLES:
        if role != "admin":
            await make_user(f"user-{role.replace('_', '-')}", role)
            tokens[role] = await _token(desk, admin, f"user-{role.replace('_', '-')}")
    async with served(desk.settings) as base, httpx.AsyncClient() as http:
        for role in ROLES:
            token, allowed = tokens[role], allowed_tools(specs, role)
            mcp = Mcp(http, base)
            assert (await mcp.open(token)).status_code == 200
            listed = {t["name"] for t in result(await mcp.post("tools/list", {}, token=token))["result"]["tools"]}
            assert listed == allowed, (role, listed ^ allowed)
            for name in sorted(set(specs.specs) - allowed):
                refused = await tool(mcp, token, name)  # no arguments: the role decides before they are read
                text = refused["content"][0]["text"]
                assert refused["isError"] and f"{name} is not allowed for" in text and f"(role {role!r})" in text
    assert allowed_tools(specs, "end_user") < allowed_tools(specs, "admin") == set(specs.specs)
