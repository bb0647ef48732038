"""MCP tool support_ask: the support agent itself, for other agents and MCP clients."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from agent.reply import Citation, Handoff
from server.context import CurrentActor, CurrentAgent
from server.surface import Registrar


class SupportAnswer(BaseModel):
    reply: str = Field(description="The agent's answer to show the user.")
    conversation_id: str = Field(description="Pass it back to continue this conversation.")
    citations: list[Citation] = Field(description="Sources the answer was taken from.")
    confidence: float | None = Field(description="0-1 when the answer came from knowledge, else null.")
    actions: list[str] = Field(description="Ticket numbers created, commented on or escalated in this turn.")
    handoff: Handoff | None = Field(description="Set when the conversation was handed to a technician.")


def register(reg: Registrar) -> None:
    @reg.tool(toolset="agent", capability="agent.ask", kind="agent", title="Ask the support agent", open_world=True)
    async def support_ask(
        message: Annotated[str, Field(description="What the user says.", min_length=1, max_length=4000)],
        agent: CurrentAgent,
        actor: CurrentActor,
        conversation_id: Annotated[
            str | None,
            Field(
                description="Continue this conversation (from an earlier reply); omit to start a new one.",
                max_length=100,
            ),
        ] = None,
    ) -> SupportAnswer:
        """Ask the support agent: it answers from knowledge with citations and opens, updates or escalates tickets."""
        # The process's one agent (built by the composition root), acting as the caller.
        reply = await agent.ask(message, conversation_id, actor=actor.username)
        return SupportAnswer(
            reply=reply.reply,
            conversation_id=reply.conversation_id,
            citations=reply.citations,
            confidence=reply.confidence,
            actions=reply.actions,
            handoff=reply.handoff,
        )
