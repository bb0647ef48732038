"""Start real server processes for end-to-end tests: a free port, a bounded wait, a clean stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "support-agent"
REDIS = os.environ.get("SUPPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The Redis the tests share (.ci/run starts it); tests use keys under their own prefix."""


def redis_up() -> bool:
    host, port = REDIS.split("//", 1)[1].split("/", 1)[0].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def desk_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment without the caller's desk settings, pointed at ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPPORT_", "DATABASE_URL", "OPENAI_"))}
    env.update({"SUPPORT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **extra})
    return env


@contextmanager
def running(
    args: Sequence[str], *, ready_url: str, log_path: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` until the block ends, once ``ready_url`` answers 200 (failing with the log otherwise)."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(list(args), env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"{args[0]} exited with {proc.returncode}: {log_path.read_text()}")
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{ready_url} did not answer within {timeout:g} s: {log_path.read_text()}")
                time.sleep(0.2)  # polling under the deadline above
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
