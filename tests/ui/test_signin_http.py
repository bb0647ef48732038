"""The sign-in edge over real HTTP: ``support-agent serve`` with the UI, driven by a plain HTTP client.

No cookie, no UI: the page redirects to the sign-in page and every Gradio route (including its API) answers
401. A signed-in end user calling an admin action through Gradio's API is refused by the tools' rule; a
cross-site request is refused even with a valid cookie; sign-out ends the session; guessing locks.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.config import Settings
from tests.servers import BIN, desk_env, free_port, running
from tools.desk import open_desk
from tools.passwords import password_set
from tools.users import UserUpsert, ensure_actor, user_upsert
from ui.context import SESSION_COOKIE

PASSWORD = "a-fine-password"
ADMIN_PASSWORD = "the-admin-password"
PEOPLE = {"erin": "end_user", "tina": "technician", "lock.me": "end_user"}


async def _prepare(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    async with open_desk(settings) as desk:
        admin = await ensure_actor(desk, "admin", "admin")
        for name, role in PEOPLE.items():
            data = UserUpsert(username=name, email=f"{name}@example.com", display_name=name.title(), role=role)  # type: ignore[arg-type]
            await user_upsert(desk, admin, data)
            await password_set(desk, admin, name, PASSWORD)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("signin-http")
    asyncio.run(_prepare(tmp / "data"))
    env = desk_env(
        tmp / "data",
        SUPPORT_LLM="offline",
        GRADIO_ANALYTICS_ENABLED="False",
        SUPPORT_ADMIN_PASSWORD=ADMIN_PASSWORD,
        SUPPORT_SIGNIN_SLOW_AFTER="3",
        SUPPORT_SIGNIN_LOCK_AFTER="3",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(
        [str(BIN), "serve", "--port", str(port)],
        ready_url=f"{base}/health",
        log_path=tmp / "serve.log",
        env=env,
        timeout=90,
    ):
        yield base
    log = (tmp / "serve.log").read_text()
    assert "Traceback" not in log, log


@contextmanager
def _signed_in(base: str, who: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/signin")
        token = re.search(r'name="form_token" value="([^"]+)"', form.text)
        assert token, form.text
        done = client.post("/signin", data={"form_token": token.group(1), "identifier": who, "password": password})
        assert done.status_code == 303 and done.headers["location"] == "/", done.text
        yield client


def _call(client: httpx.Client, api_name: str, data: list[Any], **headers: str) -> tuple[str, Any]:
    """Call a UI handler through Gradio's HTTP API: (event, payload) of its outcome."""
    started = client.post(f"/gradio_api/call/{api_name}", json={"data": data}, headers=headers)
    assert started.status_code == 200, started.text
    stream = client.get(f"/gradio_api/call/{api_name}/{started.json()['event_id']}")
    events = re.findall(r"event: (\w+)\ndata: (.*)", stream.text)
    event, payload = events[-1]
    return event, json.loads(payload) if payload and payload != "null" else None


def test_without_a_session_there_is_no_ui_and_no_api(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as anon:
        page = anon.get("/")
        assert page.status_code == 303 and page.headers["location"] == "/signin"
        for method, path in [
            ("GET", "/config"),
            ("GET", "/gradio_api/info"),
            ("POST", "/gradio_api/queue/join"),
            ("POST", "/gradio_api/call/save_access"),
            ("POST", "/gradio_api/run/save_access"),
            ("POST", "/gradio_api/upload"),
            ("GET", "/gradio_api/file=/etc/hostname"),
            ("POST", "/gradio_api/reset"),
        ]:
            answer = anon.request(method, path, json={"data": ["erin", "admin", True, [], ""]})
            assert answer.status_code == 401, (method, path, answer.status_code)
        forged = anon.post("/gradio_api/call/save_access", json={"data": []}, cookies={SESSION_COOKIE: "made-up"})
        assert forged.status_code == 401
        assert anon.get("/signin").status_code == 200


def test_the_session_cookie_is_http_only_same_site_and_expires(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        token = re.search(r'name="form_token" value="([^"]+)"', client.get("/signin").text)
        assert token
        done = client.post("/signin", data={"form_token": token.group(1), "identifier": "erin", "password": PASSWORD})
        cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}="))
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "max-age", "path", "samesite"} <= attributes
        assert "samesite=lax" in cookie.lower() and "secure" not in attributes  # plain HTTP here
        assert client.get("/").status_code == 200


def test_the_sign_in_form_refuses_a_missing_form_token_and_a_foreign_origin(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        bare = client.post("/signin", data={"identifier": "erin", "password": PASSWORD})
        assert bare.status_code == 400 and "expired" in bare.text
        token = re.search(r'name="form_token" value="([^"]+)"', client.get("/signin").text)
        assert token
        data = {"form_token": token.group(1), "identifier": "erin", "password": PASSWORD}
        foreign = client.post("/signin", data=data, headers={"origin": "http://evil.example"})
        assert foreign.status_code == 403 and SESSION_COOKIE not in foreign.headers.get("set-cookie", "")
        token = re.search(r'name="form_token" value="([^"]+)"', client.get("/signin").text)
        assert token
        wrong = client.post("/signin", data={**data, "form_token": token.group(1), "password": "not it"})
        assert wrong.status_code == 401 and "not right" in wrong.text


def test_a_role_that_may_not_use_an_action_is_refused_through_the_api(server: str) -> None:
    with _signed_in(server, "erin") as erin, _signed_in(server, "admin", ADMIN_PASSWORD) as admin:
        event, payload = _call(erin, "save_access", ["erin", "admin", True, [], ""])
        assert event == "error" and "not allowed" in payload["error"], payload
        event, payload = _call(erin, "run_create", ["Owned", "by erin", "", ""])
        assert event == "error" and "not allowed" in payload["error"], payload
        # The same call signed in as an admin works, so the refusal above is the role's, not the call's.
        event, payload = _call(admin, "run_create", ["Printer tray 2", "Open it and pull the sheet.", "printer", ""])
        assert event == "complete", payload
        # A valid cookie does not make a cross-site request acceptable.
        foreign = admin.post(
            "/gradio_api/call/run_create", json={"data": ["x", "y", "", ""]}, headers={"origin": "http://evil.example"}
        )
        assert foreign.status_code == 403
        fetched = admin.post(
            "/gradio_api/call/run_create", json={"data": ["x", "y", "", ""]}, headers={"sec-fetch-site": "cross-site"}
        )
        assert fetched.status_code == 403


def test_sign_out_ends_the_session_for_the_api_too(server: str) -> None:
    with _signed_in(server, "tina") as client:
        token = client.cookies.get(SESSION_COOKIE)
        event, _ = _call(client, "load", [])
        assert event == "complete"
        out = client.post("/signout")
        assert out.status_code == 303 and out.headers["location"] == "/signin"
        assert client.cookies.get(SESSION_COOKIE) is None  # the browser drops it...
    with httpx.Client(base_url=server, timeout=30) as again:
        # ...and a copy kept by anyone no longer works.
        answer = again.post("/gradio_api/call/load", json={"data": []}, cookies={SESSION_COOKIE: token or ""})
        assert answer.status_code == 401


def test_guessing_a_password_locks_the_account_with_retry_after(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        statuses = []
        for _ in range(4):
            token = re.search(r'name="form_token" value="([^"]+)"', client.get("/signin").text)
            assert token
            answer = client.post(
                "/signin", data={"form_token": token.group(1), "identifier": "lock.me", "password": "guess"}
            )
            statuses.append(answer.status_code)
        assert statuses == [401, 401, 401, 429]
        assert int(answer.headers["retry-after"]) > 60 and "locked" in answer.text
        token = re.search(r'name="form_token" value="([^"]+)"', client.get("/signin").text)
        assert token
        right = client.post(
            "/signin", data={"form_token": token.group(1), "identifier": "lock.me", "password": PASSWORD}
        )
        assert right.status_code == 429  # the right password does not get through a lock either
