"""Admin › Users and tokens: the people of the desk, their role, teams and whether they may sign in, and API tokens."""

from __future__ import annotations

import html
from typing import Any, get_args

import gradio as gr
import pandas as pd

from tools import tokens, users
from tools.actor import Role
from tools.errors import NotFoundError
from tools.passwords import password_set
from ui.admin_teams import create_team, rename_team, set_teams, team_names, teams_table
from ui.context import SignedIn, UIContext
from ui.errors import shown
from ui.format import cell_int, table, when

HEADERS = ["Username", "Name", "E-mail", "Role", "Active", "Created", "Teams"]
TOKEN_HEADERS = ["ID", "User", "Name", "Scopes", "Status", "Expires", "Last used", "From"]
ROLES: tuple[Role, ...] = get_args(Role)
PAGE = 100
REVOKE_CONFIRM = (
    "(id, user) => [(id && window.confirm(`Revoke API token ${id}? Clients using it stop working.`)) ? id : null, user]"
)


async def users_table(ctx: SignedIn, query: str | None = None) -> tuple[pd.DataFrame, str]:
    page = await users.user_list(ctx.desk(), await ctx.actor(), query=(query or "").strip() or None, limit=PAGE)
    rows = [
        [
            u.username,
            u.display_name,
            u.email,
            u.role,
            "yes" if u.is_active else "no",
            when(u.created_at),
            ", ".join(u.teams),
        ]
        for u in page.items
    ]
    more = f"the first {len(rows)} of " if page.total > len(rows) else ""
    return table(rows, HEADERS), f"Showing {more}{page.total} user(s)."


async def _find(ctx: SignedIn, username: str) -> users.UserPublic:
    page = await users.user_list(ctx.desk(), await ctx.actor(), query=username, limit=PAGE)
    for user in page.items:
        if user.username == username:
            return user
    raise NotFoundError(f"user {username!r} does not exist; pick a row of the table")


async def set_access(ctx: SignedIn, username: str, role: Role, active: bool) -> users.UserPublic:
    """Change a user's role and whether they may sign in, keeping the rest of their record."""
    current = await _find(ctx, username)
    data = users.UserUpsert(
        username=current.username,
        email=current.email,
        display_name=current.display_name,
        role=role,
        is_active=active,
    )
    return await users.user_upsert(ctx.desk(), await ctx.actor(), data)


async def create_token(
    ctx: SignedIn, username: str, name: str, expires_in: str | None = None, scopes: list[str] | None = None
) -> tokens.TokenCreated:
    return await tokens.token_create(
        ctx.desk(),
        await ctx.actor(),
        username=username,
        name=name or "ui",
        expires_in=(expires_in or "").strip() or None,
        scopes=scopes or None,
    )


async def tokens_table(ctx: SignedIn, username: str | None = None) -> tuple[pd.DataFrame, str]:
    """API tokens (all users', or one user's), newest first, including revoked and expired ones."""
    who = (username or "").strip() or None
    page = await tokens.token_list(ctx.desk(), await ctx.actor(), username=who, include_inactive=True, limit=PAGE)
    rows = [
        [
            t.id,
            t.username,
            t.name,
            ", ".join(t.scopes),
            t.status,
            when(t.expires_at) or "never",
            when(t.last_used_at),
            t.last_used_address or "",
        ]
        for t in page.items
    ]
    scope = f" of {who}" if who else ""
    return table(rows, TOKEN_HEADERS), f"{page.total} token(s){scope}."


async def revoke_token(ctx: SignedIn, token_id: int) -> tokens.TokenPublic:
    return await tokens.token_revoke(ctx.desk(), await ctx.actor(), token_id)


def build_people_tab(ctx: UIContext) -> list[tuple[Any, list[Any], list[Any]]]:
    with gr.Row(equal_height=True):
        query = gr.Textbox(placeholder="Filter by username, name or e-mail", show_label=False, scale=4)
        refresh = gr.Button("Refresh", scale=1, min_width=80, elem_id="people-refresh")
    summary = gr.Markdown(elem_id="people-summary")
    listing = gr.Dataframe(value=table([], HEADERS), interactive=False, wrap=True, elem_id="people-table")
    with gr.Row(equal_height=True):
        username = gr.Textbox(label="Username", placeholder="pick a row", scale=2, elem_id="people-username")
        role = gr.Dropdown(list(ROLES), label="Role", scale=2, elem_id="people-role")
        active = gr.Checkbox(label="Active (may sign in and use tokens)", value=True, scale=2, elem_id="people-active")
        user_teams = gr.Dropdown([], multiselect=True, label="Teams (staff only)", scale=2, elem_id="people-teams")
        save = gr.Button("Save role, access and teams", variant="primary", scale=1, elem_id="people-save")
    with gr.Accordion("Teams", open=False, elem_id="people-teams-box"):
        gr.Markdown("A team's analytics are the tickets assigned to its members; a person may be in several teams.")
        team_list = gr.Dataframe(value=table([], ["Team", "Members"]), interactive=False, elem_id="teams-table")
        with gr.Row(equal_height=True):
            team_pick = gr.Dropdown([], label="Team", scale=2, elem_id="team-pick")
            team_name = gr.Textbox(label="Name (new team, or the picked team's new name)", scale=3, elem_id="team-name")
            team_new = gr.Button("Create team", scale=1, elem_id="team-create")
            team_rename = gr.Button("Rename picked team", scale=1, elem_id="team-rename")
    with gr.Accordion("Password", open=False, elem_id="people-password-box"):
        password = gr.Textbox(label="New password", type="password", elem_id="people-password")
        set_password = gr.Button("Set password (signs the user out everywhere)", elem_id="people-set-password")
    with gr.Accordion("API tokens", open=False, elem_id="people-tokens"):
        gr.Markdown("A token lets an MCP client act as this user over HTTP. It is shown once; only its hash is kept.")
        with gr.Row(equal_height=True):
            token_name = gr.Textbox(label="Token name", value="ui", scale=2, elem_id="token-name")
            expires = gr.Textbox(label="Expires in (e.g. 30d; empty: never)", scale=2, elem_id="token-expires")
            scopes = gr.Dropdown(list(tokens.SCOPES), multiselect=True, label="Scopes (empty: all)", scale=2)
            issue = gr.Button("Create token for the user above", scale=1, elem_id="token-create")
        token_out = gr.Textbox(label="New token (copy it now)", interactive=False, elem_id="token-value")
        token_summary = gr.Markdown(elem_id="tokens-summary")
        token_list = gr.Dataframe(value=table([], TOKEN_HEADERS), interactive=False, wrap=True, elem_id="tokens-table")
        with gr.Row(equal_height=True):
            token_id = gr.Textbox(label="Token id", placeholder="pick a row", scale=3, elem_id="token-id")
            revoke = gr.Button("Revoke token", variant="stop", scale=1, elem_id="token-revoke")

    async def team_widgets(me: SignedIn) -> tuple[pd.DataFrame, Any, Any]:
        names = await team_names(me)
        return await teams_table(me), gr.update(choices=names), gr.update(choices=names, value=None)

    @shown
    async def load(filter_text: str, request: gr.Request) -> tuple[Any, ...]:
        me = await ctx.signed_in(request)
        return (*await users_table(me, filter_text), *await tokens_table(me), *await team_widgets(me))

    @shown
    async def pick(evt: gr.SelectData, request: gr.Request) -> Any:
        row = evt.row_value or []
        if not row:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        listed, line = await tokens_table(await ctx.signed_in(request), str(row[0]))
        member_of = [t for t in str(row[6] or "").split(", ") if t]
        return row[0], row[3], row[4] == "yes", member_of, listed, line

    def pick_token(evt: gr.SelectData) -> Any:
        row = evt.row_value or []
        return str(row[0]) if row else gr.skip()

    @shown
    async def save_access(
        name: str,
        new_role: Role | None,
        is_active: bool,
        wanted: list[str] | None,
        filter_text: str,
        request: gr.Request,
    ) -> Any:
        if not (name or "").strip() or not new_role:
            gr.Warning("Pick a user and a role first.")
            return gr.skip(), gr.skip(), gr.skip()
        me = await ctx.signed_in(request)
        saved = await set_access(me, name.strip(), new_role, is_active)
        member_of = await set_teams(me, saved.username, list(wanted or []))
        state = "active" if saved.is_active else "deactivated"
        where = f", in {', '.join(member_of)}" if member_of else ", in no team"
        gr.Info(html.escape(f"{saved.username} is now {saved.role}, {state}{where}."))
        return *await users_table(me, filter_text), await teams_table(me)

    @shown
    async def new_team(name: str, request: gr.Request) -> Any:
        me = await ctx.signed_in(request)
        made = await create_team(me, name or "")
        gr.Info(html.escape(f"Team {made.name} created; add members with the Teams picker of a user."))
        return *await team_widgets(me), ""

    @shown
    async def rename_one(team: str | None, name: str, request: gr.Request) -> Any:
        if not team:
            gr.Warning("Pick a team first.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        me = await ctx.signed_in(request)
        renamed = await rename_team(me, team, name or "")
        gr.Info(html.escape(f"Team {team} is now {renamed.name}."))
        return *await team_widgets(me), ""

    @shown
    async def change_password(name: str, new_password: str, request: gr.Request) -> Any:
        if not (name or "").strip():
            gr.Warning("Pick a user first.")
            return gr.skip()
        me = await ctx.signed_in(request)
        await password_set(me.desk(), me.person, name.strip(), new_password or "")
        gr.Info(html.escape(f"Password of {name.strip()} set; their browser sessions ended."))
        return ""

    @shown
    async def new_token(name: str, label: str, expiry: str, chosen: list[str] | None, request: gr.Request) -> Any:
        if not (name or "").strip():
            gr.Warning("Pick a user first.")
            return gr.skip(), gr.skip(), gr.skip()
        me = await ctx.signed_in(request)
        made = await create_token(me, name.strip(), (label or "").strip(), expiry, chosen)
        return made.token, *await tokens_table(me, name)

    @shown
    async def revoke_one(value: str, name: str, request: gr.Request) -> Any:
        ident = cell_int(value)
        if ident is None:
            gr.Warning("Pick a token (or type its id) first.")
            return gr.skip(), gr.skip()
        me = await ctx.signed_in(request)
        gone = await revoke_token(me, ident)
        gr.Info(html.escape(f"Token {gone.id} ({gone.name}) of {gone.username} is revoked."))
        return await tokens_table(me, name)

    team_outputs = [team_list, user_teams, team_pick]
    everything = [listing, summary, token_list, token_summary, *team_outputs]
    refresh.click(load, [query], everything)
    query.submit(load, [query], everything)
    listing.select(pick, None, [username, role, active, user_teams, token_list, token_summary])
    save.click(save_access, [username, role, active, user_teams, query], [listing, summary, team_list])
    team_new.click(new_team, [team_name], [*team_outputs, team_name])
    team_rename.click(rename_one, [team_pick, team_name], [*team_outputs, team_name])
    set_password.click(change_password, [username, password], [password])
    issue.click(new_token, [username, token_name, expires, scopes], [token_out, token_list, token_summary])
    token_list.select(pick_token, None, [token_id])
    revoke.click(
        revoke_one,
        [token_id, username],
        [token_list, token_summary],
        js=REVOKE_CONFIRM,
    )
    return [(load, [query], everything)]
