"""``support-agent chat``: the terminal loop, in process and as a real command without a TTY."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import chat, format_reply
from agent.reply import AgentReply, Citation, Handoff
from server.app import in_memory_client_factory
from store.config import Settings
from tools.desk import open_desk


def test_format_reply_lists_sources_and_actions() -> None:
    reply = AgentReply(
        reply="Reset it at the portal.",
        conversation_id="c1",
        citations=[Citation(citation="KB #1: Reset your VPN password")],
        confidence=0.9,
        actions=["TCK-000001"],
        handoff=Handoff(ticket="TCK-000001", reason="customer_asked", summary="s"),
    )
    text = format_reply(reply)
    assert "[1] KB #1: Reset your VPN password" in text
    assert "confidence 0.90" in text and "tickets TCK-000001" in text and "customer_asked" in text


async def test_chat_loop_reads_lines_until_quit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, llm="offline", _env_file=None)  # type: ignore[call-arg]
    stdin = io.StringIO("hello\n\nwhat's the weather like in Rome?\n/quit\nnever read\n")
    stdout = io.StringIO()
    async with open_desk(settings) as desk:
        factory = in_memory_client_factory(settings, desk)
        assert await chat(settings, None, stdin=stdin, stdout=stdout, desk=desk, client_factory=factory) == 0
    out = stdout.getvalue()
    assert "I'm the IT support assistant" in out
    assert "outside what I can help with" in out
    assert "never read" not in out


@pytest.mark.slow
def test_support_agent_chat_command_without_tty(tmp_path: Path) -> None:
    env = {**os.environ, "SUPPORT_DATA_DIR": str(tmp_path), "SUPPORT_LLM": "offline"}
    exe = Path(sys.executable).with_name("support-agent")
    proc = subprocess.run(
        [str(exe), "chat", "--conversation", "term-1"],
        input="hi\nplease open a ticket\n/quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "What can I help you with" in proc.stdout
    assert "what is the problem" in proc.stdout
    assert "--conversation term-1" in proc.stderr
