"""Full-text search that works the same way on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Each indexed table is described once by an :class:`FtsIndex`; migrations call :func:`create_ddl` /
:func:`drop_ddl`, and tools call :func:`search`. Queries are built from the words of free text, OR-ed
and ranked (BM25 on SQLite, ``ts_rank_cd`` on PostgreSQL), so a user's punctuation can never become
query syntax and an error code or ticket number still matches exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class FtsIndex:
    table: str
    columns: tuple[str, ...]

    @property
    def fts_table(self) -> str:
        return f"{self.table}_fts"

    def pg_document(self, prefix: str = "") -> str:
        """The tsvector expression; the GIN index is on exactly this, so queries must use it too."""
        parts = " || ' ' || ".join(f"coalesce({prefix}{c}, '')" for c in self.columns)
        return f"to_tsvector('english', {parts})"


TERMS_COLUMN = "search_terms"
"""Each indexed table's extra column of identifier parts (see :func:`identifier_terms`), indexed with the rest."""

TICKETS = FtsIndex("tickets", ("number", "subject", "description", "error_message", "affected_system", TERMS_COLUMN))
KB_ARTICLES = FtsIndex("kb_articles", ("title", "body", TERMS_COLUMN))
DOCUMENT_CHUNKS = FtsIndex("document_chunks", ("citation", "text", TERMS_COLUMN))

_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_TERMS = 32
_MAX_IDENTIFIER_TERMS = 2000

# An identifier as people write it: word characters joined by dots, underscores or hyphens.
_IDENTIFIER = re.compile(r"[^\W_]+(?:[._\-]+[^\W_]+)*", re.UNICODE)
_SEPARATORS = re.compile(r"[._\-]+")
# camelCase / PascalCase boundaries: lower or digit before upper ("outOf", "Win32Error"), and the end of
# an upper-case run before a capitalised word ("HTTPServer"). Letters and digits stay together ("0x8007").
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def identifier_parts(word: str) -> list[str]:
    """The lower-cased pieces of an identifier, or ``[]`` when it has only one.

    ``System.OutOfMemoryException`` -> system, outofmemoryexception, out, of, memory, exception;
    ``ERR_CONNECTION_RESET`` -> err, connection, reset. The same split serves indexing and querying, on
    both databases, so a name is found whole and by its parts alike.
    """
    segments = [s for s in _SEPARATORS.split(word) if s]
    parts: list[str] = []
    for segment in segments:
        camel = [c for c in _CAMEL.split(segment) if c]
        if len(segments) > 1:
            parts.append(segment)
        if len(camel) > 1:
            parts.extend(camel)
    seen = dict.fromkeys(p.lower() for p in parts)
    return list(seen) if len(seen) > 1 or (seen and next(iter(seen)) != word.lower()) else []


def identifier_terms(*texts: str | None) -> str:
    """The extra words to index for ``texts``: the parts of every compound identifier in them.

    Neither SQLite's tokenizer nor PostgreSQL's parser splits ``OutOfMemoryException``, and PostgreSQL
    keeps ``System.OutOfMemoryException`` whole, so the parts are indexed explicitly (in ``search_terms``).
    """
    seen: dict[str, None] = {}
    for value in texts:
        for match in _IDENTIFIER.finditer(value or ""):
            for part in identifier_parts(match.group()):
                seen.setdefault(part, None)
                if len(seen) >= _MAX_IDENTIFIER_TERMS:
                    return " ".join(seen)
    return " ".join(seen)


# Function words that match nearly every row: OR-ing them in makes a question match the whole corpus
# (slow, and noise in the ranking). PostgreSQL's 'english' configuration drops these itself.
_STOPWORD_TEXT = (
    "a about above after again all am an and any are as at be been before being below between both but by "
    "can could did do does doing down during each few for from further had has have having he her here hers "
    "him his how i if in into is it its itself just me more most my no nor not of off on once only or other "
    "our ours out over own same she should so some such than that the their theirs them then there these "
    "they this those through to too under until up very was we were what when where which while who whom "
    "why will with would you your yours"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def terms(query: str, *, whole: bool = True) -> list[str]:
    """Distinct lower-cased words of ``query`` and the parts of its compound identifiers, without function
    words (unless that leaves none), at most 32.

    With ``whole=False`` a compound identifier stands for its parts only: what a filter that requires every
    word should ask for (``OutOfMemory`` must not require the word "outofmemory", which no text has).
    """
    seen: dict[str, None] = {}
    for word in _WORD.findall(query):
        parts = identifier_parts(word)
        if whole or not parts:
            seen.setdefault(word.lower(), None)
        for part in parts:
            seen.setdefault(part, None)
    words = list(seen)
    content = [w for w in words if w not in STOPWORDS]
    return (content or words)[:_MAX_TERMS]


def create_ddl(index: FtsIndex, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"CREATE INDEX ix_{index.table}_fts ON {index.table} USING GIN (({index.pg_document()}))"]
    cols = ", ".join(index.columns)
    new_vals = ", ".join(f"coalesce(new.{c}, '')" for c in index.columns)
    old_vals = ", ".join(f"coalesce(old.{c}, '')" for c in index.columns)
    fts = index.fts_table
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{index.table}', content_rowid='id', "
        "tokenize='porter unicode61')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {index.table} BEGIN "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new_vals}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {index.table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old_vals}); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {index.table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old_vals}); "
        f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new_vals}); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def drop_ddl(index: FtsIndex, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS ix_{index.table}_fts"]
    fts = index.fts_table
    return [f"DROP TRIGGER IF EXISTS {fts}_{s}" for s in ("ai", "ad", "au")] + [f"DROP TABLE IF EXISTS {fts}"]


async def search(
    session: AsyncSession,
    index: FtsIndex,
    query: str,
    *,
    limit: int = 20,
    where: str = "",
    params: dict[str, object] | None = None,
    restrict: Select[Any] | None = None,
) -> list[tuple[int, float]]:
    """Ids of matching rows with a score (higher is better), best first.

    ``where`` is an extra SQL condition on the base table aliased ``t`` (for filters), with its bind
    values in ``params``; it is written by this codebase, never by a caller. ``restrict`` is a SELECT of
    the ids allowed at all (the permission rule, built once in ``tools/permissions.py``).
    """
    # PostgreSQL refuses NUL in text parameters ("invalid byte sequence"); it is never part of a word anyway.
    query = query.replace("\x00", " ")
    words = terms(query)
    if not words:
        return []
    bind: dict[str, object] = dict(params or {})
    bind["limit"] = limit
    extra = f" AND ({where})" if where else ""
    if restrict is not None:
        # The rule's values are ids and fixed names, so SQLAlchemy renders them inline for this dialect.
        compiled = restrict.compile(dialect=session.bind.dialect, compile_kwargs={"literal_binds": True})  # type: ignore[union-attr]
        extra += f" AND t.id IN ({compiled})"
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        bind["q"] = " ".join(words)
        bind["raw"] = query[:1000]
        # plainto_tsquery ANDs the words; OR them instead so partial matches rank rather than vanish.
        # PostgreSQL's parser keeps file names and codes whole ('outlook.exe', 'sw-001'), which the
        # word split above breaks apart, so the raw text's own parse is OR-ed in as well.
        tsq = "(replace(plainto_tsquery('english', :q)::text, '&', '|')::tsquery || plainto_tsquery('english', :raw))"
        sql = (
            f"SELECT t.id, ts_rank_cd({index.pg_document('t.')}, q.query) AS score "
            f"FROM {index.table} t, (SELECT {tsq} AS query) q "
            f"WHERE numnode(q.query) > 0 AND {index.pg_document('t.')} @@ q.query{extra} "
            "ORDER BY score DESC, t.id DESC LIMIT :limit"
        )
    else:
        bind["q"] = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
        fts = index.fts_table
        sql = (
            f"SELECT t.id, -bm25({fts}) AS score FROM {fts} JOIN {index.table} t ON t.id = {fts}.rowid "
            f"WHERE {fts} MATCH :q{extra} ORDER BY score DESC, t.id DESC LIMIT :limit"
        )
    rows = (await session.execute(text(sql), bind)).all()
    return [(int(r[0]), float(r[1])) for r in rows]
