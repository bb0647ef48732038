"""The Chat tab: a conversation with the support agent, with its sources, confidence and tickets shown."""

from __future__ import annotations

import logging
from typing import Any

import gradio as gr

from agent.reply import AgentReply
from ui.context import UIContext
from ui.errors import shown

logger = logging.getLogger(__name__)

Message = dict[str, Any]

PLACEHOLDER = (
    '**Ask the support desk.** Describe a problem ("my VPN keeps disconnecting"), ask how to do '
    'something, or ask about a ticket ("what is the status of TCK-000042?").'
)


def reply_markdown(reply: AgentReply) -> str:
    """The agent's answer, then where it came from and what it did, as the chat shows it."""
    parts = [reply.reply.strip()]
    # The offline policy already lists its sources in the text; do not repeat them.
    if reply.citations and "Sources:" not in reply.reply:
        lines = [f"{n}. {c.citation or c.title or c.id}" for n, c in enumerate(reply.citations, 1)]
        parts.append("**Sources**\n" + "\n".join(lines))
    facts = []
    if reply.confidence is not None:
        facts.append(f"Confidence {reply.confidence:.0%}")
    if reply.actions:
        facts.append("Tickets: " + ", ".join(f"**{number}**" for number in reply.actions))
    if reply.handoff is not None:
        facts.append(f"Handed to a technician on {reply.handoff.ticket} ({reply.handoff.reason.replace('_', ' ')})")
    if facts:
        parts.append("*" + " · ".join(facts) + "*")
    return "\n\n".join(p for p in parts if p)


def build_chat_tab(ctx: UIContext) -> None:
    """The chat log, the message box and the conversation id kept per browser session."""
    chatbot = gr.Chatbot(
        label="Support agent",
        elem_id="chat-log",
        height=520,
        placeholder=PLACEHOLDER,
        feedback_options=None,
        buttons=["copy"],
    )
    with gr.Row(equal_height=True):
        box = gr.Textbox(
            placeholder="Type your message and press Enter",
            show_label=False,
            elem_id="chat-input",
            scale=8,
            min_width=240,
            max_length=4000,
        )
        # Wide enough for their labels: on a narrow screen the row wraps the buttons below the box instead.
        send = gr.Button("Send", variant="primary", elem_id="chat-send", scale=1, min_width=80)
        new = gr.Button("New conversation", elem_id="chat-new", scale=1, min_width=170)
    conversation = gr.State(None)
    pending = gr.State("")

    def accept(message: str, history: list[Message]) -> tuple[list[Message], str, str]:
        """Show the person's message at once and hand it to the agent step."""
        text = (message or "").strip()
        if not text:
            return history, "", ""
        return [*history, {"role": "user", "content": text}], "", text

    @shown
    async def answer(
        message: str, history: list[Message], conversation_id: str | None, request: gr.Request
    ) -> tuple[list[Message], Any]:
        if not message:
            return history, conversation_id
        me = await ctx.signed_in(request)
        agent = await ctx.agent()
        # The agent acts as the signed-in person, with their role, never as the configured admin.
        reply = await agent.ask(message, conversation_id, actor=me.person.username)
        return [*history, {"role": "assistant", "content": reply_markdown(reply)}], reply.conversation_id

    for trigger in (box.submit, send.click):
        trigger(accept, [box, chatbot], [chatbot, box, pending], queue=False).then(
            answer, [pending, chatbot, conversation], [chatbot, conversation], concurrency_limit=8
        )
    new.click(lambda: ([], None), None, [chatbot, conversation], queue=False)
    # The chat log's own clear button starts over too: the agent must not remember a conversation the person erased.
    chatbot.clear(lambda: None, None, [conversation], queue=False)
