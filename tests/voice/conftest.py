"""Voice fixtures: recordings made with the offline TTS engines, and a desk whose speech is offline and fast."""

from __future__ import annotations

import dataclasses
import io
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from store.audio import Pcm, encode
from store.speech import EspeakTTS, PiperTTS
from tools.desk import Desk

SPEECH_SET = Path(__file__).resolve().parents[3] / "shared" / "eval" / "speech"
if not SPEECH_SET.is_dir():  # a worktree or CI clone beside shared/
    SPEECH_SET = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "speech"


@pytest.fixture(scope="session")
def speech_set() -> Path:
    if not SPEECH_SET.is_dir():
        pytest.skip("the shared speech samples (../shared/eval/speech) are not beside this checkout")
    return SPEECH_SET


def samples_of(root: Path) -> list[tuple[Path, str]]:
    """(audio file, reference transcript) for every sample of the shared set."""
    found = []
    for ref in sorted(root.glob("*/ref.tsv")):
        for line in ref.read_text(encoding="utf-8").splitlines():
            if "\t" in line:
                name, text = line.split("\t", 1)
                found.append((ref.parent / f"{name}.wav", text))
    return found


Say = Callable[[str], bytes]


@pytest.fixture(scope="session")
def say() -> Say:
    """``say("text")`` -> a WAV of espeak-ng speaking it (cached per text)."""
    cache: dict[str, bytes] = {}
    tts = EspeakTTS()

    def speak(text: str) -> bytes:
        if text not in cache:
            cache[text] = encode(tts.synthesize(text, voice=None), "wav")
        return cache[text]

    return speak


@pytest.fixture(scope="session")
def say_piper() -> Iterator[Say]:
    """``say_piper("text")`` -> a WAV of Piper's joe voice speaking it (natural enough for digits)."""
    cache: dict[str, bytes] = {}
    tts = PiperTTS()

    def speak(text: str) -> bytes:
        if text not in cache:
            cache[text] = encode(tts.synthesize(text, voice=None), "wav")
        return cache[text]

    try:
        yield speak
    finally:
        tts.close()


DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def digits_said(number: str) -> str:
    """ "0042" -> "zero zero four two"."""
    return " ".join(DIGIT_WORDS[int(c)] for c in number)


@pytest.fixture
def voice_desk(desk: Desk) -> Desk:
    """The test desk with espeak-ng as its voice (instant) and its own speech engines."""
    settings = desk.settings.model_copy(update={"tts_engine": "espeak", "stt_engine": "whisper"})
    return dataclasses.replace(desk, settings=settings, extras={})


def wav(samples: np.ndarray, rate: int, channels: int = 1) -> bytes:
    """A 16-bit WAV of float samples in [-1, 1] (frames x channels for stereo)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def resample_pcm(pcm: Pcm, rate: int) -> np.ndarray:
    """Float samples of ``pcm`` at ``rate`` (linear interpolation: enough for a test recording)."""
    x = np.frombuffer(pcm.data, dtype="<i2").astype(np.float32) / 32768
    n = int(len(x) * rate / pcm.sample_rate)
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)
