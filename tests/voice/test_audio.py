"""Decoding what people upload: every accepted container, odd rates and channels, and everything refused."""

from __future__ import annotations

import io

import numpy as np
import pytest

from store.audio import RATE, AudioError, Pcm, decode, encode, format_of, sniff
from tests.voice.conftest import wav


def tone(seconds: float, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encoded(fmt: str, codec: str, seconds: float = 1.0, rate: int = 48_000) -> bytes:
    """A tone in ``fmt`` made with PyAV's encoders (what browsers and phones send)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        samples = (tone(seconds, rate) * 32767).astype("<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "codec", "expected"),
    [("ogg", "libopus", "ogg"), ("webm", "libopus", "webm"), ("flac", "flac", "flac"), ("mp3", "libmp3lame", "mp3")],
)
def test_each_container_decodes_to_16k_mono(fmt: str, codec: str, expected: str) -> None:
    audio = decode(encoded(fmt, codec, 1.5), max_seconds=120)
    assert audio.format == expected
    assert audio.samples.dtype == np.float32
    assert abs(audio.duration_s - 1.5) < 0.1


@pytest.mark.parametrize("rate", [8_000, 22_050, 48_000])
def test_sample_rates_are_resampled(rate: int) -> None:
    audio = decode(wav(tone(2.0, rate), rate), max_seconds=120)
    assert audio.source_rate == rate
    assert abs(len(audio.samples) - 2 * RATE) < RATE * 0.02


def test_stereo_is_mixed_to_mono() -> None:
    left = tone(1.0, 44_100)
    stereo = np.stack([left, np.zeros_like(left)], axis=1).reshape(-1)
    audio = decode(wav(stereo, 44_100, channels=2), max_seconds=120)
    assert audio.channels == 2
    assert abs(audio.duration_s - 1.0) < 0.05
    assert 0.05 < float(np.max(np.abs(audio.samples))) < 0.3  # half of one channel's level


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n1 0 obj <<>> endobj", "PDF"),
        (b"PK\x03\x04" + bytes(40), "ZIP"),
        (b"hello, this is text", "no audio container"),
    ],
)
def test_not_audio_is_refused_saying_what_it_is(data: bytes, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        decode(data, max_seconds=120)


def test_corrupt_audio_is_an_input_error() -> None:
    good = encoded("ogg", "libopus", 2.0)
    with pytest.raises(AudioError, match=r"damaged|no sound"):
        decode(good[:60] + bytes(range(256)) * 8, max_seconds=120)


def test_silence_and_tiny_clips_are_refused() -> None:
    with pytest.raises(AudioError, match="silent"):
        decode(wav(np.zeros(RATE * 2, dtype=np.float32), RATE), max_seconds=120)
    with pytest.raises(AudioError, match="no sound"):
        decode(wav(tone(0.02, RATE), RATE), max_seconds=120)


def test_an_hour_long_recording_is_refused_without_decoding_it() -> None:
    hour = wav(np.zeros(3600 * 8_000, dtype=np.float32), 8_000)
    with pytest.raises(AudioError, match=r"too long .*limit is 120 s"):
        decode(hour, max_seconds=120)


def test_length_is_checked_while_decoding_when_the_header_does_not_say() -> None:
    # An Ogg stream carries no duration up front: the limit is enforced as frames arrive.
    with pytest.raises(AudioError, match="too long"):
        decode(encoded("ogg", "libopus", 6.0), max_seconds=3)


def test_declared_type_must_match_the_bytes() -> None:
    with pytest.raises(AudioError, match="declared as 'mp3'"):
        decode(wav(tone(1.0, RATE), RATE), max_seconds=120, declared="mp3")
    assert format_of("question.webm", None) == "webm"
    assert format_of(None, "audio/ogg; codecs=opus") == "ogg"
    with pytest.raises(AudioError, match="not a supported audio"):
        format_of("notes.pdf", None)
    assert sniff(b"ID3\x04" + bytes(20)) == "mp3"


def test_synthesised_speech_round_trips_through_wav_and_mp3() -> None:
    pcm = Pcm((tone(1.0, 22_050) * 32767).astype("<i2").tobytes(), 22_050)
    for fmt in ("wav", "mp3"):
        back = decode(encode(pcm, fmt), max_seconds=120)  # type: ignore[arg-type]
        assert abs(back.duration_s - 1.0) < 0.1
