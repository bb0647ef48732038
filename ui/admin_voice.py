"""Admin › Voice conversations: the list with filters, a conversation's transcript, and audio playback."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from tools import voice_conversations as vc
from ui.context import UIContext
from ui.errors import shown
from ui.format import table

STATUSES = ["any", "active", "completed", "abandoned", "handed_off"]
COLUMNS = ["Id", "Started", "Source", "User", "Status", "Turns", "Duration (s)", "Tickets", "Rating"]


def build_admin_voice_tab(ctx: UIContext) -> list[tuple[Any, list[Any], list[Any]]]:
    with gr.Row():
        status = gr.Dropdown(STATUSES, value="any", label="Status", elem_id="av-status", scale=1)
        refresh = gr.Button("Refresh", size="sm", elem_id="av-refresh", scale=0)
    listing = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="av-list")
    with gr.Row():
        chosen = gr.Textbox(label="Conversation id", elem_id="av-id", scale=2)
        turn = gr.Number(label="Turn to play", value=1, precision=0, elem_id="av-turn", scale=1)
        play = gr.Button("Play turn", elem_id="av-play", scale=0)
    transcript = gr.Markdown(elem_id="av-transcript")
    # The browser's own player (seekable, keyboard-operable, an <audio> with the turn's file as its source)
    # rather than a waveform drawn in a canvas.
    audio = gr.Audio(
        label="Turn audio",
        interactive=False,
        elem_id="av-audio",
        waveform_options=gr.WaveformOptions(show_recording_waveform=False),
    )

    @shown
    async def load(state: str, request: gr.Request) -> pd.DataFrame:
        me = await ctx.signed_in(request)
        chosen_status: Any = None if state == "any" else state
        page = await vc.conversation_list(me.desk(), me.person, status=chosen_status, limit=100)
        rows = [
            [i.id, i.started_at.strftime("%Y-%m-%d %H:%M"), i.source, i.user or "", i.status, i.turns,
             i.duration_s, ", ".join(i.tickets), i.satisfaction or ""]
            for i in page.items
        ]  # fmt: skip
        return table(rows, COLUMNS)

    @shown
    async def show(ref: str, request: gr.Request) -> str:
        me = await ctx.signed_in(request)
        if not ref.strip():
            return ""
        d = await vc.conversation_get(me.desk(), me.person, ref.strip())
        head = f"**{d.source} conversation {d.id}** · {d.status} · {d.duration_s:.0f} s"
        if d.satisfaction:
            head += f" · rated {d.satisfaction}/5"
        lines = [head]
        if d.summary:
            lines.append(f"*{d.summary}*")
        for t in d.items:
            who = "Caller" if t.speaker == "user" else "Agent"
            extra = f" ({t.audio_s:.1f} s)" if t.audio_s else ""
            lines.append(f"{t.seq}. **{who}** at {t.at_s:.0f} s{extra}: {t.text}")
        return "\n\n".join(lines)

    @shown
    async def playback(ref: str, seq: float | None, request: gr.Request) -> tuple[int, Any]:
        me = await ctx.signed_in(request)
        from store.audio import RATE, decode

        data, _ = await vc.turn_audio(me.desk(), me.person, ref.strip(), int(seq or 1))
        decoded = decode(data, max_seconds=3600)
        return RATE, (decoded.samples * 32767).astype("int16")

    refresh.click(load, [status], [listing])
    status.change(load, [status], [listing])
    chosen.submit(show, [chosen], [transcript])
    play.click(playback, [chosen, turn], [audio])
    return [(load, [status], [listing])]
