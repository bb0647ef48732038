"""The one loop shape of the background workers (ingestion and indexing): tools.workers.poll_forever."""

from __future__ import annotations

import asyncio

import pytest

from tools.workers import background, poll_forever


async def test_a_failing_step_is_logged_and_retried_and_idle_runs_only_without_work(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcomes: list[bool | Exception] = [True, RuntimeError("database hiccup"), False, True, False]
    log: list[str] = []
    finished = asyncio.Event()

    async def step() -> bool:
        if not outcomes:
            finished.set()
            await asyncio.Event().wait()  # nothing more to do: wait to be cancelled
        outcome = outcomes.pop(0)
        log.append("step")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def idle() -> None:
        log.append("idle")

    async with background("test-worker", poll_forever(step, idle=idle, what="test worker", retry_s=0)) as task:
        async with asyncio.timeout(10):
            await finished.wait()
    assert task.cancelled()
    assert log == ["step", "step", "step", "idle", "step", "step", "idle"]
    assert "test worker failed" in caplog.text and "database hiccup" in caplog.text


async def test_background_stops_its_task_when_the_block_ends() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    async with background("stops", forever()) as task:
        await asyncio.wait_for(started.wait(), 10)
        assert task.get_name() == "stops" and not task.done()
    assert task.cancelled()
