"""Voice benchmark (run by hand): WER and real-time factor per engine pair on ../shared/eval/speech,
ticket-number accuracy with the hint, and voice_ask latency from the end of the user's audio to the first
reply audio (p50/p95) for a knowledge answer and a ticket-creation turn. Prints figures; asserts nothing.

    PYTHONPATH=. HF_HUB_OFFLINE=1 .venv/bin/python bench/voice_bench.py [--numbers 40] [--turns 20] [--latency-only]
"""

from __future__ import annotations

import argparse
import asyncio
import math
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


KNOWLEDGE = [
    "How do I reset my VPN password?",
    "I forgot my password, how can I reset it myself?",
    "How do I connect to the VPN with GlobalProtect?",
    "GlobalProtect will not connect from home. What should I do?",
    "Outlook keeps asking for my password.",
    "Why does Outlook prompt me for my password all the time?",
    "Windows Update fails with error 0x80070005.",
    "How do I fix a Windows update access denied error?",
    "My printer shows offline.",
    "The office printer says it is offline, how do I fix it?",
    "How do I set up multi-factor authentication on a new phone?",
    "I got a new phone. How do I move my MFA to it?",
    "How do I request new software?",
    "Where can I ask for a software installation?",
    "My laptop will not charge.",
    "The laptop does not power on. What can I try?",
    "How do I share my mailbox with a colleague?",
    "How can I share my calendar?",
    "The Wi-Fi in the office is slow.",
    "Why is the office wireless so slow today?",
]
"""Questions the demo knowledge base answers, two wordings of each of its ten articles."""

PROBLEMS = [
    "The shared drive is read only for me.",
    "The scanner on the second floor jams on every page.",
    "My second monitor stays black since this morning.",
    "Teams crashes when I share my screen.",
    "I cannot open the sales dashboard, it says access denied.",
    "The docking station does not charge my laptop.",
    "My keyboard types the wrong letters.",
    "The projector in meeting room four shows no picture.",
    "Excel freezes when I open the budget file.",
    "My headset microphone is not working in calls.",
]
"""Problems the caller opens a ticket about (each spoken by both voices: 20 ticket conversations)."""


def answer_to(reply: str) -> str:
    """What the caller says back to the agent's question (the offline policy asks in a known order)."""
    lowered = reply.lower()
    if "reach you" in lowered:
        return "Chat is fine."
    if "impact" in lowered or "affect" in lowered:
        return "It is a minor issue. I can still work."
    if "shall i" in lowered or "should i" in lowered or "create it" in lowered:
        return "Yes, please."
    return "Only me, since this morning. I restarted my computer already."


async def latency(turns: int) -> None:
    from agent.runner import SupportAgent
    from agent.voice import Heard, Sentence, TurnDone, voice_turn
    from server.app import in_memory_client_factory
    from tools.demo import load_demo
    from tools.desk import open_desk
    from tools.users import ensure_actor
    from tools.voice import speech_engines

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), llm="offline", _env_file=None)  # type: ignore[call-arg]
        await load_demo(settings)
        piper, espeak = PiperTTS(), EspeakTTS()
        voices = (piper, espeak)
        cache: dict[tuple[int, str], bytes] = {}

        def recording(n: int, text: str) -> bytes:
            """``text`` spoken by Piper's joe voice on even turns and espeak-ng on odd ones (cached)."""
            key = (n % 2, text)
            if key not in cache:
                cache[key] = encode(voices[n % 2].synthesize(text, voice=None), "wav")
            return cache[key]

        async with (
            open_desk(settings) as desk,
            SupportAgent(settings, desk=desk, client_factory=in_memory_client_factory(settings, desk)) as agent,
        ):
            actor = await ensure_actor(desk, "bench", "end_user")
            await speech_engines(desk).warm()
            figures: dict[str, list[tuple[float, float, float]]] = {"knowledge answer": [], "ticket creation turn": []}
            misses = 0

            async def timed(clip: bytes, conversation: str | None) -> tuple[float, float, float, TurnDone]:
                """(hear, first audio, stored latency) in seconds from the arrival of the clip, and the turn."""
                start = time.perf_counter()
                heard = first = 0.0
                done: TurnDone | None = None
                async for event in voice_turn(desk, agent, actor, clip, conversation_id=conversation):
                    if isinstance(event, Heard):
                        heard = time.perf_counter() - start
                    elif isinstance(event, Sentence) and not first:
                        first = time.perf_counter() - start
                    elif isinstance(event, TurnDone):
                        done = event
                assert done is not None
                return heard, first, (done.latency_ms or 0) / 1000, done

            def report(label: str) -> None:
                rows = figures[label]
                firsts = sorted(r[1] for r in rows)
                p95 = firsts[min(len(firsts) - 1, math.ceil(0.95 * len(firsts)) - 1)]
                print(
                    f"voice_ask end of audio -> first reply audio, {label}: p50 {statistics.median(firsts):.2f} s, "
                    f"p95 {p95:.2f} s over {len(rows)} turns (of which hearing the clip p50 "
                    f"{statistics.median(r[0] for r in rows):.2f} s; stored latency_ms p50 "
                    f"{statistics.median(r[2] for r in rows):.2f} s; {speech_engines(desk).tts.name}, "
                    f"load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )

            await timed(recording(0, "Hello."), None)  # the first turn of a process opens the agent's clients
            for n in range(turns):
                question = KNOWLEDGE[n % len(KNOWLEDGE)]
                heard, first, stored, _ = await timed(recording(n // len(KNOWLEDGE) + n, question), None)
                figures["knowledge answer"].append((heard, first, stored))
            report("knowledge answer")
            for n in range(turns):
                text: str | None = "Open a ticket. " + PROBLEMS[n % len(PROBLEMS)]
                conversation = None
                for _ in range(6):
                    assert text is not None
                    heard, first, stored, done = await timed(recording(n, text), conversation)
                    conversation = done.reply.conversation_id
                    if done.reply.actions:
                        figures["ticket creation turn"].append((heard, first, stored))
                        break
                    text = answer_to(done.reply.reply)
                else:
                    misses += 1
            report("ticket creation turn")
            speech_engines(desk).close()
        piper.close()
        if misses:
            print(f"  {misses} ticket conversations opened no ticket within six turns")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=40)
    parser.add_argument("--turns", type=int, default=20, help="voice_ask turns of each kind")
    parser.add_argument("--latency-only", action="store_true", help="only the voice_ask latency figures")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"load: {os.getloadavg()}")
    if args.latency_only:
        asyncio.run(latency(args.turns))
        print(f"load: {os.getloadavg()}")
        return
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
