"""The Voice tab in headless Chromium with a fake microphone: speak a question, see and hear the answer."""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from store.audio import encode
from store.speech import EspeakTTS
from tests.servers import BIN, desk_env, free_port, running
from tests.ui.test_browser import AGENT_MS, CHROMIUM, CHROMIUM_ARGS, pytestmark, sign_in  # noqa: F401

QUESTION = "How do I reset my VPN password?"


@pytest.fixture(scope="module")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mic") / "question.wav"
    speech = EspeakTTS().synthesize(QUESTION, voice=None)
    # Chromium loops the file as the microphone: a second of silence after the question ends the utterance.
    padded = type(speech)(speech.data + bytes(2 * speech.sample_rate), speech.sample_rate)
    path.write_bytes(encode(padded, "wav"))
    return path


@pytest.fixture(scope="module")
def voice_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("voice-serve")
    env = desk_env(tmp / "data", SUPPORT_LLM="offline", GRADIO_ANALYTICS_ENABLED="False", SUPPORT_TTS_ENGINE="espeak")
    subprocess.run([str(BIN), "demo", "load"], env=env, check=True, timeout=300, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running([str(BIN), "serve", "--port", str(port)], ready_url=f"{base}/health", log_path=tmp / "serve.log",
                 env=env, timeout=90):  # fmt: skip
        yield base


def test_speak_a_question_and_hear_the_answer(voice_server: str, question_wav: Path) -> None:
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={question_wav}",
            ],
            headless=True,
            permissions=["microphone"],
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = browser.new_page()
            sign_in(page, voice_server, "alice")
            page.get_by_role("tab", name="Voice", exact=True).click()
            mic = page.locator("#voice-input")
            mic.get_by_role("button", name="Record", exact=True).click()
            page.wait_for_timeout(4500)
            mic.get_by_role("button", name="Stop", exact=True).click()
            heard = page.locator("#voice-heard textarea")
            expect(heard).to_have_value(re.compile(r"vpn", re.IGNORECASE), timeout=AGENT_MS)
            expect(page.locator("#voice-reply")).to_contain_text("password", timeout=AGENT_MS)
            audio = page.locator("#voice-answer audio")
            expect(audio.first).to_have_attribute("src", re.compile(r".+"), timeout=AGENT_MS)
            expect(page.locator(".toast-body.error")).to_have_count(0)
        finally:
            browser.close()
