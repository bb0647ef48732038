"""Rate limits in Redis: two server processes' limiters share one count per identity."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.servers import BIN, desk_env, free_port, running

REDIS = os.environ.get("SUPPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_up() -> bool:
    host, port = REDIS.split("//", 1)[1].split("/", 1)[0].split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not redis_up(), reason=f"Redis is not running at {REDIS} (.ci/run starts it)")


def test_two_server_processes_share_one_limit(tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:12]}"  # Redis is shared with other suites: own keys only
    env = desk_env(
        tmp_path / "data", SUPPORT_REDIS_URL=REDIS, SUPPORT_RATE_LIMIT_PREFIX=prefix, SUPPORT_RATE_LIMIT_HTTP="4/minute"
    )
    made = subprocess.run(
        [str(BIN), "token", "create", "admin"], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    token = made.stdout.strip()
    ports = [free_port(), free_port()]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with (
        running(
            [str(BIN), "serve", "--no-ui", "--port", str(ports[0])],
            ready_url=f"http://127.0.0.1:{ports[0]}/health",
            log_path=tmp_path / "a.log",
            env=env,
        ),
        running(
            [str(BIN), "serve", "--no-ui", "--port", str(ports[1])],
            ready_url=f"http://127.0.0.1:{ports[1]}/health",
            log_path=tmp_path / "b.log",
            env=env,
        ),
    ):
        codes = []
        for i in range(6):
            url = f"http://127.0.0.1:{ports[i % 2]}/.well-known/oauth-protected-resource"
            response = httpx.get(url, headers=headers, timeout=10)
            codes.append(response.status_code)
        assert codes == [200, 200, 200, 200, 429, 429], codes
        other = httpx.get(f"http://127.0.0.1:{ports[0]}/.well-known/oauth-protected-resource", timeout=10)
        assert other.status_code == 200  # another identity (no token: the client address) is not limited
