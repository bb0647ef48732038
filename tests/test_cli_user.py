"""``support-agent user password USERNAME``: the password read from piped stdin signs in; a weak one is refused."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from store.config import Settings
from tests.servers import BIN, desk_env
from tools.desk import open_desk
from tools.web_sessions import SignInRefused, sign_in


async def _signs_in(data_dir: Path, username: str, password: str) -> bool:
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    async with open_desk(settings) as desk:
        try:
            await sign_in(desk, identifier=username, password=password, address="127.0.0.1")
        except SignInRefused:
            return False
        return True


def test_user_password_from_piped_stdin(tmp_path: Path) -> None:
    env = desk_env(tmp_path / "data")
    done = subprocess.run(
        [str(BIN), "user", "password", "admin"], input=b"piped-password-1\n", env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"password of admin set" in done.stderr
    assert asyncio.run(_signs_in(tmp_path / "data", "admin", "piped-password-1"))
    assert not asyncio.run(_signs_in(tmp_path / "data", "admin", "piped-password-1\n"))

    weak = subprocess.run(
        [str(BIN), "user", "password", "admin"], input=b"short\n", env=env, capture_output=True, timeout=120
    )
    assert weak.returncode == 1 and b"too short" in weak.stderr
    unknown = subprocess.run(
        [str(BIN), "user", "password", "nobody"], input=b"long-enough-pw\n", env=env, capture_output=True, timeout=120
    )
    assert unknown.returncode == 1 and b"does not exist" in unknown.stderr
    assert asyncio.run(_signs_in(tmp_path / "data", "admin", "piped-password-1"))
