"""build_app(settings, transport) creates everything; nothing happens at import time."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field

from bot.handlers import Addressing, GroupGate, HelpHandler, Pipeline, UnaddressedFilter
from bot.qa_handlers import MenuPickHandler, QuestionHandler
from bot.service import BotService
from bot.staff import StaffCommandHandler
from bot.welcome import WelcomePolicy
from core import groups as group_registry
from core.clock import Clock, SystemClock
from core.hashing import IdHasher
from core.settings import Settings
from core.transport import BaseTransport
from pufa.database import Database, open_database  # noqa: F401 - light module; re-exported for callers

# Q&A wiring lives in a light module so `pufa ask` starts without the database and scheduler stack.
from pufa.qa_wiring import build_qa, build_reply_renderer, template_globals
from scheduler.dispatcher import Dispatcher, SendPolicy
from scheduler.rendering import ContentRenderer
from scheduler.service import SchedulingService

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    db: Database
    transport: BaseTransport
    bot: BotService
    clock: Clock
    scheduling: SchedulingService | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Serve until the transport runs out of input or SIGINT/SIGTERM; then stop symmetrically."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.request_stop)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        self.transport.on_member_joined(self.bot.on_member_joined)
        await self.transport.start(self.bot.on_message)
        if self.scheduling is not None:
            await self.scheduling.start()
        log.info("bot started with transport %s", self.transport.name)
        closed = asyncio.create_task(self.transport.wait_closed())
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (closed, stopping):
                task.cancel()
            if self.scheduling is not None:
                # Scheduler and dispatcher stop before the transport (an in-flight send finishes and is recorded).
                # At the end of console input, what is due right now is still sent; later pushes wait.
                if closed.done() and not closed.cancelled() and not self._stop.is_set():
                    await self.scheduling.finish_due_work()
                else:
                    await self.scheduling.stop()
            await self.transport.stop()
            self.db.dispose()
            log.info("bot stopped after %d messages", self.bot.handled)


def build_app(settings: Settings, transport: BaseTransport, db: Database, clock: Clock | None = None) -> App:
    clock = clock or SystemClock(settings.tz)

    def is_registered(room_id: str) -> bool:
        with db.sessions() as session:
            return group_registry.is_active(session, room_id)

    qa = build_qa(settings)
    hasher = IdHasher(settings.hash_secret.get_secret_value())
    pipeline = (
        Pipeline()
        .add("staff", StaffCommandHandler(db.sessions, settings.staff_wechat_ids, clock.now,
                                          account=settings.account_id, tz=settings.tz))
        .add("menu-pick", MenuPickHandler(qa, db.sessions, hasher, clock.now))
        .add("unaddressed", UnaddressedFilter())
        .add("group-gate", GroupGate(is_registered))
        .add("question", QuestionHandler(qa, db.sessions, hasher, clock.now))
        .add("help", HelpHandler())
    )
    welcome = WelcomePolicy(is_registered, enabled=settings.welcome_enabled, custom_text=settings.welcome_message)
    bot = BotService(
        transport, Addressing(settings.bot_name, settings.trigger_words), pipeline, build_reply_renderer(settings),
        welcome=welcome,
    )
    return App(settings=settings, db=db, transport=transport, bot=bot, clock=clock,
               scheduling=build_scheduling(settings, db, transport, clock))


def build_scheduling(settings: Settings, db: Database, transport: BaseTransport, clock: Clock) -> SchedulingService:
    """The push side: the APScheduler clock and this account's dispatcher, sending through `transport`."""
    dispatcher = Dispatcher(
        db.sessions, transport, ContentRenderer(template_globals(settings)).render, clock,
        SendPolicy.from_settings(settings), tz=settings.tz, account=settings.account_id,
    )
    return SchedulingService(db.sessions, dispatcher, clock, account=settings.account_id, tz=settings.tz)
