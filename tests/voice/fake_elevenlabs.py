"""A local HTTP server speaking ElevenLabs' API shape, for driving the real SDK without the real service.

Responses are built from the SDK's own response models, so the fake cannot drift from what the SDK parses.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
from elevenlabs.types import SpeechToTextChunkResponseModel, SpeechToTextWordResponseModel

API_KEY = "test-key-not-real"


@dataclass
class FakeElevenLabs:
    """What the fake answers, and what it was asked."""

    transcript: str = "my laptop will not connect to the wifi"
    requests: list[dict[str, Any]] = field(default_factory=list)
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    """conversation_id -> the GET /v1/convai/conversations/{id} body."""
    summaries: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None
    base_url: str = ""

    def stt_body(self) -> bytes:
        words = [
            SpeechToTextWordResponseModel(text=w, start=0.4 * i, end=0.4 * i + 0.3, type="word", logprob=-0.1)
            for i, w in enumerate(self.transcript.split())
        ]
        model = SpeechToTextChunkResponseModel(
            language_code="en", language_probability=0.98, text=self.transcript, words=words
        )
        return model.model_dump_json(by_alias=True, exclude_none=True).encode()


def pcm_tone(seconds: float, rate: int) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2").tobytes()


def _handler(fake: FakeElevenLabs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # keep the test output clean
            return

        def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self, body: bytes) -> bool:
            fake.requests.append(
                {"method": self.command, "path": self.path, "key": self.headers.get("xi-api-key"), "body": body}
            )
            if self.headers.get("xi-api-key") != API_KEY:
                self._reply(401, json.dumps({"detail": {"status": "invalid_api_key"}}).encode())
                return False
            if fake.fail_with:
                self._reply(fake.fail_with, json.dumps({"detail": {"status": "quota_exceeded"}}).encode())
                return False
            return True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if not self._record(body):
                return
            path = self.path.split("?")[0]
            if path == "/v1/speech-to-text":
                self._reply(200, fake.stt_body())
            elif m := re.fullmatch(r"/v1/text-to-speech/([^/]+)(/stream)?", path):
                rate = int(re.search(r"output_format=pcm_(\d+)", self.path).group(1))  # type: ignore[union-attr]
                text = json.loads(body)["text"]
                self._reply(200, pcm_tone(0.05 * len(text) + 0.2, rate), "audio/pcm")
                del m
            else:
                self._reply(404, b'{"detail": "not found"}')

        def do_GET(self) -> None:
            if not self._record(b""):
                return
            path, _, query = self.path.partition("?")
            if path == "/v1/convai/conversations":
                cursor = re.search(r"cursor=([^&]+)", query)
                start = int(cursor.group(1)) if cursor else 0
                page = fake.summaries[start : start + 2]
                more = start + 2 < len(fake.summaries)
                body = {"conversations": page, "has_more": more, "next_cursor": str(start + 2) if more else None}
                self._reply(200, json.dumps(body).encode())
            elif m := re.fullmatch(r"/v1/convai/conversations/([^/]+)", path):
                found = fake.conversations.get(m.group(1))
                if found is None:
                    self._reply(404, b'{"detail": "conversation not found"}')
                else:
                    self._reply(200, json.dumps(found).encode())
            else:
                self._reply(404, b'{"detail": "not found"}')

    return Handler


@contextmanager
def fake_elevenlabs() -> Iterator[FakeElevenLabs]:
    """Serve the fake on a free loopback port for the duration of the block."""
    fake = FakeElevenLabs()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
