"""The Voice tab: a placeholder until the voice issue brings speech in and out."""

from __future__ import annotations

import gradio as gr

NOTE = """### Voice is coming
Talking to the support agent by voice arrives with the voice issue: speech recognition, spoken answers and
recorded voice conversations. Until then, use the **Chat** tab; it reaches the same agent."""


def build_voice_tab() -> None:
    gr.Markdown(NOTE, elem_id="voice-note")
