"""MCP tool whoami: who the desk thinks you are, and what you may do."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from server.context import CurrentCaller, CurrentDesk
from server.surface import Registrar, Toolset
from tools import permissions, teams
from tools.actor import Role


class WhoAmI(BaseModel):
    username: str
    role: Role
    via: Literal["local", "token", "oauth"] = Field(
        description="local: stdio's configured user; token: a desk API token; oauth: an OAuth access token."
    )
    scopes: list[str] = Field(description="What the credential may be used for.")
    capabilities: list[str] = Field(description="What the role allows (tools/permissions.py).")
    toolsets: list[Toolset] = Field(description="Published toolsets with at least one tool you may use.")
    teams: list[str] = Field(description="The teams you belong to, by name (scope='team' in analytics reads them).")


def register(reg: Registrar) -> None:
    @reg.tool(toolset="core", capability=None, kind="read", title="Who am I")
    async def whoami(caller: CurrentCaller, desk: CurrentDesk) -> WhoAmI:
        """Show the user, role, credential scopes and toolsets this connection acts with."""
        role = caller.actor.role
        return WhoAmI(
            username=caller.actor.username,
            role=role,
            via=caller.via,
            scopes=list(caller.scopes),
            capabilities=sorted(permissions.ROLE_CAPABILITIES[role]),
            toolsets=reg.toolsets_for(caller),
            teams=await teams.team_names(desk, caller.actor.user_id),
        )
