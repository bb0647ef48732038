"""Who is calling, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from tools.errors import ForbiddenError

Role = Literal["end_user", "technician", "manager", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
_RANK = {role: rank for rank, role in enumerate(ROLES)}


@dataclass(frozen=True, slots=True)
class Actor:
    """A signed-in user as the tools see them."""

    user_id: int
    username: str
    role: Role

    @property
    def is_staff(self) -> bool:
        """Technicians, managers and admins work tickets; end users only see their own."""
        return _RANK[self.role] >= _RANK["technician"]

    def at_least(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[role]

    def require(self, role: Role, action: str) -> None:
        """Raise :class:`ForbiddenError` unless the actor has ``role`` or a higher one."""
        if not self.at_least(role):
            allowed = ", ".join(r for r in ROLES if _RANK[r] >= _RANK[role])
            raise ForbiddenError(
                f"{action} is not allowed for {self.username!r} (role {self.role!r}); it needs one of: {allowed}"
            )
