"""Who is calling. What their role lets them do is in :mod:`tools.permissions`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["end_user", "technician", "manager", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True, slots=True)
class Actor:
    """A signed-in user as the tools see them."""

    user_id: int
    username: str
    role: Role
