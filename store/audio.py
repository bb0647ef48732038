"""Audio in and out: sniff the container from the bytes, decode through PyAV (FFmpeg), encode WAV or MP3.

Recognisers want 16 kHz mono float samples; whatever arrives (8 kHz telephone audio, 48 kHz stereo from a
browser) is resampled here, once. Decoding stops as soon as the recording passes the allowed length, so an
hour-long upload costs the same as a two-minute one.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Literal

import numpy as np


class AudioError(ValueError):
    """The bytes are not usable audio; the message says what to send instead (tools map it to an input error)."""


RATE = 16_000
"""Sample rate handed to speech-to-text engines."""

AudioFormat = Literal["wav", "mp3", "ogg", "webm", "flac"]
MIME_TYPES: dict[str, AudioFormat] = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/webm": "webm",
    "video/webm": "webm",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
}
SILENCE_PEAK = 10 ** (-55 / 20)
"""Below -55 dBFS at its loudest, a clip holds nothing a recogniser could hear."""


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    """Mono float32 samples at :data:`RATE`, what the bytes were, and how long they last."""

    samples: np.ndarray
    format: AudioFormat
    source_rate: int
    channels: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / RATE


def sniff(data: bytes) -> AudioFormat:
    """The container format from the first bytes; anything else is an input error naming what it is."""
    head = data[:16]
    if head[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    what = _what_else(head)
    raise AudioError(f"the audio is not in a supported format ({what}); send WAV, MP3, OGG/Opus, WebM or FLAC")


def _what_else(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "it is a PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "it is a ZIP or Office file"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "it is an image"
    if head[4:8] == b"ftyp":
        return "it is MP4/M4A, which is not accepted"
    return "the first bytes match no audio container"


def decode(data: bytes, *, max_seconds: float, declared: AudioFormat | None = None) -> DecodedAudio:
    """Decode ``data`` to 16 kHz mono; empty, corrupt, over-long or silent audio is an input error.

    ``declared`` (from a file name or MIME type) is only checked against what the bytes are.
    """
    if not data:
        raise AudioError("the audio is empty (0 bytes); record or upload a clip with speech in it")
    fmt = sniff(data)
    if declared is not None and declared != fmt and {declared, fmt} != {"ogg", "webm"}:
        raise AudioError(f"the audio was declared as {declared!r} but the bytes are {fmt!r}; fix the name or type")
    import av  # PyAV: FFmpeg's decoders, shipped with faster-whisper

    limit = int(max_seconds * RATE)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"the {fmt} file has no audio stream")
            stream = container.streams.audio[0]
            source_rate = int(stream.rate or 0)
            channels = int(stream.channels or 0)
            if container.duration is not None and container.duration / 1_000_000 > max_seconds + 0.5:
                raise _too_long(container.duration / 1_000_000, max_seconds)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if total > limit + RATE // 2:
                    raise _too_long(None, max_seconds)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, IndexError) as exc:
        raise AudioError(
            f"the {fmt} audio could not be decoded ({type(exc).__name__}: {exc}); the file is damaged or cut short"
        ) from exc
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)
    if len(samples) < RATE // 10:
        raise AudioError(f"the {fmt} audio holds no sound (under 0.1 s); record a clip with speech in it")
    if len(samples) > limit + RATE // 2:
        raise _too_long(len(samples) / RATE, max_seconds)
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise AudioError(
            f"the audio is silent ({len(samples) / RATE:.1f} s without sound); check the microphone and try again"
        )
    return DecodedAudio(samples=samples, format=fmt, source_rate=source_rate, channels=channels)


def _too_long(seconds: float | None, max_seconds: float) -> AudioError:
    length = f"{seconds:.0f} s" if seconds is not None else f"over {max_seconds:.0f} s"
    return AudioError(
        f"the recording is too long ({length}); the limit is {max_seconds:.0f} s (SUPPORT_MAX_AUDIO_S): "
        "send a shorter clip"
    )


def format_of(filename: str | None, mime_type: str | None) -> AudioFormat | None:
    """The format a file name or MIME type declares, None when neither says; unknown ones are input errors."""
    if mime_type:
        base = mime_type.split(";")[0].strip().lower()
        if base not in MIME_TYPES:
            raise AudioError(
                f"mime_type {mime_type!r} is not a supported audio type; use one of: {', '.join(sorted(MIME_TYPES))}"
            )
        return MIME_TYPES[base]
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1].lower()
        ext = {"opus": "ogg", "oga": "ogg", "weba": "webm", "mpeg": "mp3"}.get(ext, ext)
        if ext not in ("wav", "mp3", "ogg", "webm", "flac"):
            raise AudioError(
                f"file {filename!r} is not a supported audio file; send .wav, .mp3, .ogg, .opus, .webm or .flac"
            )
        return ext  # type: ignore[return-value]
    return None


@dataclass(frozen=True, slots=True)
class Pcm:
    """Synthesised speech: signed 16-bit little-endian mono samples at ``sample_rate``."""

    data: bytes
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.data) / 2 / self.sample_rate

    @classmethod
    def from_wav(cls, wav_bytes: bytes) -> Pcm:
        """Read the PCM WAV a TTS program wrote (mono or stereo 16-bit)."""
        with wave.open(io.BytesIO(wav_bytes), "rb") as w:
            frames = w.readframes(w.getnframes())
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        if width != 2:
            raise ValueError(f"expected 16-bit PCM from the speech engine, got {8 * width}-bit")
        if channels > 1:
            frames = np.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1).astype("<i2").tobytes()
        return cls(frames, rate)

    def __add__(self, other: Pcm) -> Pcm:
        if other.sample_rate != self.sample_rate:
            raise ValueError("cannot join speech of different sample rates")
        return Pcm(self.data + other.data, self.sample_rate)


MP3_BIT_RATE = 48_000
"""Mono speech at 16-22 kHz is clear at 48 kbit/s: 6 KB a second, a minute of reply in 0.36 MB."""


def encode(pcm: Pcm, fmt: Literal["wav", "mp3"]) -> bytes:
    """The speech as a WAV file (stdlib) or an MP3 (FFmpeg's LAME encoder through PyAV)."""
    if fmt == "wav":
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(pcm.sample_rate)
            w.writeframes(pcm.data)
        return buf.getvalue()
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=pcm.sample_rate, layout="mono")
        stream.bit_rate = MP3_BIT_RATE
        samples = np.frombuffer(pcm.data, dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = pcm.sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


MIME_OF = {"wav": "audio/wav", "mp3": "audio/mpeg"}
