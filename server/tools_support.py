"""Placeholder: filled in by the issue that builds it."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer


def register(mcp: MCPServer[Any]) -> None:
    """Register this module's tools, resources and prompts on ``mcp``."""
