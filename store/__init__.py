"""The desk's persistence: settings, SQLAlchemy models, Alembic migrations, the vector index and the embedder.

Nothing above this package writes SQL or talks to the vector index directly.
"""
