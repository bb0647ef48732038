"""Tests of the document processors (tools/ingest)."""
