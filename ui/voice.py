"""The Voice tab: push to talk (or upload), see what was heard, hear the answer as soon as its first
sentence is ready, follow the running conversation, stop playback, open any ticket the agent opened.
With ElevenLabs configured (a key and an agent id) the tab offers ElevenLabs' conversation widget instead.

Handlers reach the desk through :class:`ui.context.UIContext` as the signed-in person; the turn itself is
:func:`agent.voice.voice_turn`, the same one the ``voice_ask`` tool runs.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from pydantic import ValidationError

from tools.errors import DeskError
from tools.voice_import import WIDGET_SCRIPT, widget_agent_id
from ui.context import UIContext
from ui.errors import as_gradio_error

logger = logging.getLogger(__name__)

Message = dict[str, Any]
HELP = (
    "**Talk to the support desk.** Press record, ask your question, press stop: the answer is shown and "
    "spoken. You can also upload a recording (WAV, MP3, OGG, WebM or FLAC)."
)
WIDGET_HELP = (
    "**Talk to the support desk** through our ElevenLabs voice agent: press its button and speak. The call "
    "is recorded in the desk (Admin › Voice conversations) once it ends."
)


def reply_block(reply: Any) -> str:
    """The reply as shown: text, sources, and links to tickets."""
    parts = [reply.reply.strip()]
    if reply.citations and "Sources:" not in reply.reply:
        parts.append("**Sources**\n" + "\n".join(f"- {c.citation or c.title or c.id}" for c in reply.citations))
    if reply.actions:
        links = ", ".join(f"[{n}](#ticket-{n})" for n in reply.actions)
        parts.append(f"**Tickets:** {links}")
    if reply.handoff is not None:
        parts.append(f"*Handed to a technician on {reply.handoff.ticket}.*")
    return "\n\n".join(parts)


def build_voice_tab(ctx: UIContext) -> None:
    agent_id = widget_agent_id(ctx.settings)
    if agent_id is not None:
        # ElevenLabs holds the conversation in its own widget; the post-call webhook records it here.
        gr.Markdown(WIDGET_HELP, elem_id="voice-help")
        gr.HTML(
            f'<elevenlabs-convai agent-id="{html.escape(agent_id, quote=True)}"></elevenlabs-convai>',
            head=f'<script src="{WIDGET_SCRIPT}" async type="text/javascript"></script>',
            elem_id="voice-widget",
        )
        return
    gr.Markdown(HELP, elem_id="voice-help")
    with gr.Row():
        with gr.Column(scale=1):
            mic = gr.Audio(
                sources=["microphone", "upload"], type="filepath", label="Your question", elem_id="voice-input"
            )
            with gr.Row():
                stop = gr.Button("Stop", elem_id="voice-stop", variant="stop")
                new = gr.Button("New conversation", elem_id="voice-new")
        with gr.Column(scale=1):
            heard = gr.Textbox(label="What I heard", interactive=False, elem_id="voice-heard")
            answer = gr.Markdown(elem_id="voice-reply")
            speaker = gr.Audio(label="Answer", streaming=True, autoplay=True, interactive=False, elem_id="voice-answer")
    log = gr.Chatbot(label="Conversation", elem_id="voice-log", height=320)
    conversation = gr.State(None)

    async def turn(
        path: str | None, history: list[Message], conversation_id: str | None, request: gr.Request
    ) -> AsyncIterator[tuple[Any, ...]]:
        if not path:
            return
        from agent.voice import Heard, Sentence, TurnDone, voice_turn

        try:
            me = await ctx.signed_in(request)
            desk, actor, agent = me.desk(), me.person, await me.agent()
            data = await asyncio.to_thread(Path(path).read_bytes)
            async for event in voice_turn(
                desk, agent, actor, data, filename=Path(path).name, conversation_id=conversation_id
            ):
                if isinstance(event, Heard):
                    history = [*history, {"role": "user", "content": event.transcript.text}]
                    yield event.transcript.text, "*Thinking…*", gr.skip(), history, event.conversation_id
                elif isinstance(event, Sentence):
                    samples = np.frombuffer(event.pcm.data, dtype="<i2")
                    yield gr.skip(), gr.skip(), (event.pcm.sample_rate, samples), gr.skip(), gr.skip()
                elif isinstance(event, TurnDone):
                    text = reply_block(event.reply)
                    history = [*history, {"role": "assistant", "content": text}]
                    yield gr.skip(), text, gr.skip(), history, event.reply.conversation_id
        except (DeskError, ValidationError) as exc:
            raise as_gradio_error(exc) from None
        except Exception as exc:
            logger.exception("voice turn failed")  # the top-level handler of a UI action
            raise as_gradio_error(exc) from None

    event = mic.stop_recording(turn, [mic, log, conversation], [heard, answer, speaker, log, conversation])
    uploaded = mic.upload(turn, [mic, log, conversation], [heard, answer, speaker, log, conversation])
    stop.click(lambda: None, None, [speaker], cancels=[event, uploaded], queue=False)
    new.click(lambda: ([], None, "", ""), None, [log, conversation, heard, answer], queue=False)
