"""Voice benchmark (run by hand): WER and real-time factor per engine pair on ../shared/eval/speech,
ticket-number accuracy with the hint, and voice_ask latency from the end of the user's audio to the first
reply audio (p50/p95) for a knowledge answer and a ticket-creation turn. Prints figures; asserts nothing.

    PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/voice_bench.py [--numbers 40] [--turns 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from store.audio import decode, encode
from store.config import Settings
from store.speech import EspeakTTS, PiperTTS, WhisperSTT
from tools.spoken import ticket_number, word_errors

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "eval" / "speech"
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def samples() -> list[tuple[Path, str]]:
    out = []
    for ref in sorted(SPEECH.glob("*/ref.tsv")):
        for line in ref.read_text().splitlines():
            name, text = line.split("\t", 1)
            out.append((ref.parent / f"{name}.wav", text))
    return out


def wer_human(stt: WhisperSTT) -> None:
    errors = words = 0
    audio_s = busy = 0.0
    for path, ref in samples():
        raw = path.read_bytes()
        audio = decode(raw, max_seconds=120)
        t = time.perf_counter()
        text = stt.transcribe(audio, raw, language="en", hint="none").text
        busy += time.perf_counter() - t
        audio_s += audio.duration_s
        e, n = word_errors(ref, text)
        errors, words = errors + e, words + n
    print(f"whisper tiny.en on human speech ({len(samples())} clips, {audio_s:.0f} s): "
          f"WER {errors / words:.1%}, RTF {busy / audio_s:.3f} ({stt.threads} thread)")  # fmt: skip


def tts_round_trip(stt: WhisperSTT, name: str, tts: EspeakTTS | PiperTTS) -> None:
    errors = words = 0
    synth = spoken = 0.0
    for _, ref in samples():
        t = time.perf_counter()
        pcm = tts.synthesize(ref, voice=None)
        synth += time.perf_counter() - t
        spoken += pcm.duration_s
        raw = encode(pcm, "wav")
        e, n = word_errors(ref, stt.transcribe(decode(raw, max_seconds=120), raw, language="en", hint="none").text)
        errors, words = errors + e, words + n
    print(f"{name}: recogniser WER on its speech {errors / words:.1%}, synthesis RTF {synth / spoken:.3f}")


def ticket_numbers(stt: WhisperSTT, name: str, tts: EspeakTTS | PiperTTS, count: int) -> None:
    rng = random.Random(7)
    right = 0
    for _ in range(count):
        n = rng.choice([rng.randint(1, 99), rng.randint(100, 9999), rng.randint(10_000, 99_999)])
        raw = encode(tts.synthesize("T C K " + " ".join(DIGITS[int(c)] for c in f"{n:06d}") + ".", voice=None), "wav")
        heard = stt.transcribe(decode(raw, max_seconds=120), raw, language="en", hint="ticket_number").text
        right += ticket_number(heard) == f"TCK-{n:06d}"
    print(
        f"ticket numbers read digit by digit ({name} voice, hint=ticket_number): {right}/{count} = {right / count:.0%}"
    )


async def latency(turns: int) -> None:
    from agent.runner import SupportAgent
    from agent.voice import Sentence, voice_turn
    from server.app import in_memory_client_factory
    from tools.demo import load_demo
    from tools.desk import open_desk
    from tools.users import ensure_actor

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), llm="offline", _env_file=None)  # type: ignore[call-arg]
        await load_demo(settings)
        piper = PiperTTS()
        knowledge = encode(piper.synthesize("How do I reset my VPN password?", voice=None), "wav")
        ticket = [encode(piper.synthesize(t, voice=None), "wav") for t in (
            "Open a ticket. The shared drive is read only for me. Minor issue.",
            "Only the Finance folder. I can still read files.", "Chat is fine.")]  # fmt: skip
        piper.close()
        async with (
            open_desk(settings) as desk,
            SupportAgent(settings, desk=desk, client_factory=in_memory_client_factory(settings, desk)) as agent,
        ):
            actor = await ensure_actor(desk, "bench", "end_user")
            from tools.voice import speech_engines

            await speech_engines(desk).warm()
            for label, clips in (("knowledge answer", [knowledge]), ("ticket creation turn", ticket)):
                times = []
                for _ in range(turns):
                    conversation = None
                    for i, clip in enumerate(clips):
                        start = time.perf_counter()
                        first = None
                        async for event in voice_turn(desk, agent, actor, clip, conversation_id=conversation):
                            if isinstance(event, Sentence) and first is None:
                                first = time.perf_counter() - start
                            conversation = getattr(event, "conversation_id", conversation)
                        if i == len(clips) - 1 and first is not None:
                            times.append(first)
                times.sort()
                p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
                print(f"voice_ask end of audio -> first reply audio, {label}: p50 {statistics.median(times):.2f} s, "
                      f"p95 {p95:.2f} s over {len(times)} turns ({speech_engines(desk).tts.name})")  # fmt: skip
            speech_engines(desk).close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=40)
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"load: {os.getloadavg()}")
    stt = WhisperSTT()
    wer_human(stt)
    piper = PiperTTS()
    tts_round_trip(stt, "espeak-ng", EspeakTTS())
    tts_round_trip(stt, "piper joe", piper)
    ticket_numbers(stt, "piper joe", piper, args.numbers)
    ticket_numbers(stt, "espeak-ng", EspeakTTS(), args.numbers)
    piper.close()
    asyncio.run(latency(args.turns))
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
