"""``support-agent chat``: a terminal conversation with the support agent (works with or without a TTY)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from mcp import Client

from agent.reply import AgentReply
from agent.runner import SupportAgent
from store.config import Settings
from tools.desk import Desk

QUIT = frozenset({"/quit", "/exit", "/q"})


def format_reply(reply: AgentReply) -> str:
    """The reply as the terminal shows it: text, then sources, confidence and actions."""
    lines = [reply.reply]
    if reply.citations and "Sources:" not in reply.reply:
        lines.append("Sources:")
        lines.extend(f"  [{n}] {c.citation}" for n, c in enumerate(reply.citations, 1))
    extras = []
    if reply.confidence is not None:
        extras.append(f"confidence {reply.confidence:.2f}")
    if reply.actions:
        extras.append("tickets " + ", ".join(reply.actions))
    if reply.handoff:
        extras.append(f"handed to a technician ({reply.handoff.reason})")
    if extras:
        lines.append("(" + "; ".join(extras) + ")")
    return "\n".join(lines)


async def chat(
    settings: Settings,
    conversation_id: str | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    *,
    desk: Desk | None = None,
    client_factory: Callable[[str | None, str | None], Client] | None = None,
) -> int:
    """``desk`` and ``client_factory`` come from the composition root (``server/cli.py``) for a local desk."""
    interactive = stdin.isatty()
    loop = asyncio.get_running_loop()
    async with SupportAgent(settings, desk=desk, client_factory=client_factory) as agent:
        if interactive:
            print("Support agent. Type your question; /quit to leave.", file=stdout)
        while True:
            if interactive:
                print("you> ", end="", file=stdout, flush=True)
            # Reading stdin blocks, so it happens off the event loop (the MCP client lives on it).
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            message = line.strip()
            if not message:
                continue
            if message.lower() in QUIT:
                break
            reply = await agent.ask(message, conversation_id)
            conversation_id = reply.conversation_id
            print(("agent> " if interactive else "") + format_reply(reply), file=stdout, flush=True)
            if not interactive:
                print(file=stdout, flush=True)
    if conversation_id:
        print(f"conversation id: {conversation_id} (resume with --conversation {conversation_id})", file=sys.stderr)
    return 0
