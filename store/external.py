"""Tables in the desk's database that Alembic does not own.

LangGraph's checkpointers create and migrate their own tables for the agent's conversation memory, and
SQLite FTS5 keeps shadow tables beside each full-text index. Autogenerate and the schema check must
leave them alone.
"""

from __future__ import annotations

from typing import Any

CHECKPOINT_TABLES: dict[str, tuple[str, ...]] = {
    "sqlite": ("checkpoints", "writes"),
    "postgresql": ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations"),
}


def is_external_table(name: str) -> bool:
    """True for a table some library (not our migrations) creates."""
    if "_fts" in name:
        return True
    return any(name in tables for tables in CHECKPOINT_TABLES.values())


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic ``include_object`` hook: skip external tables and their indexes."""
    if type_ == "table" and name is not None and is_external_table(name):
        return False
    if type_ == "index":
        table = getattr(obj, "table", None)
        if (table is not None and is_external_table(table.name)) or (name or "").endswith("_fts"):
            return False
    return True
