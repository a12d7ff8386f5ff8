"""The APScheduler clock (stable job ids, re-registered at start-up) and `App.run` wiring: the scheduler and
dispatcher start after the transport, stop before it, and at the end of console input what is due now is sent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bot.handlers import Addressing, Pipeline
from bot.service import BotService, ReplyRenderer
from core.clock import ManualClock
from core.models import OutboxItem
from core.settings import Settings
from core.templating import text_environment
from pufa.app import App, Database, build_scheduling
from scheduler.service import EXPAND_JOB_ID, MORNING_JOB_ID, WAKE_JOB_ID
from tests.scheduler.helpers import RecordingTransport, queue, seed


@dataclass
class ClosingTransport(RecordingTransport):
    """Console-like: its input ends at once."""

    events: list[str] | None = None

    async def start(self, on_message) -> None:  # type: ignore[no-untyped-def]
        self.events = ["transport-start"]

    async def stop(self) -> None:
        assert self.events is not None
        self.events.append("transport-stop")

    async def wait_closed(self) -> None:
        await asyncio.sleep(0)


def make_app(settings: Settings, db: Database, transport: ClosingTransport, clock: ManualClock) -> App:
    bot = BotService(transport, Addressing("普法助手", []), Pipeline(), ReplyRenderer(text_environment([Path(".")]), {}))
    return App(settings=settings, db=db, transport=transport, bot=bot, clock=clock,
               scheduling=build_scheduling(settings, db, transport, clock))


async def test_jobs_have_stable_ids_and_are_re_registered(settings: Settings, db: Database, clock: ManualClock) -> None:
    transport = ClosingTransport(clock)
    service = build_scheduling(settings, db, transport, clock)
    await service.start()
    try:
        assert service.scheduler is not None
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
        assert set(jobs) == {EXPAND_JOB_ID, WAKE_JOB_ID, MORNING_JOB_ID}
        assert all(job.coalesce and job.misfire_grace_time == 300 for job in jobs.values())
        service.register_jobs(service.scheduler)  # again, as after a restart: replaced, not duplicated
        assert len(service.scheduler.get_jobs()) == 3
    finally:
        await service.stop()
    assert service.scheduler is None


async def test_run_sends_what_is_due_at_end_of_input_and_stops_in_order(
    settings: Settings, db: Database, clock: ManualClock
) -> None:
    data = seed(db, clock)
    queue(db, data["content_id"], clock.now())
    queue(db, data["content_id"], clock.now().replace(hour=10))  # later: must not be sent now
    transport = ClosingTransport(clock)
    app = make_app(settings, db, transport, clock)
    engine = db.engine
    await app.run()
    assert [d.chat_id for d in transport.sent] == ["g1@chatroom", "g2@chatroom", "g3@chatroom"]
    assert transport.events == ["transport-start", "transport-stop"]
    with engine.connect() as conn:
        states = list(conn.execute(select(OutboxItem.status)).scalars())
    assert states == ["sent"] * 3
