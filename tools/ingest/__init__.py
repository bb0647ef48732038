"""Turning uploaded bytes into structured, citable chunks: type sniffing, processors, chunking, guards.

Pure and CPU-bound (no database, no event loop): :func:`tools.ingest.extract.extract` is called from a
worker thread by the knowledge pipeline in ``tools/knowledge.py``.
"""
