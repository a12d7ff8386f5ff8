"""build_app(settings, transport) creates everything; nothing happens at import time."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.handlers import Addressing, GroupGate, HelpHandler, Pipeline, UnaddressedFilter
from bot.kb import KnowledgeBase, load_knowledge_base
from bot.matcher import Matcher
from bot.qa import MenuPickHandler, QAService, QuestionHandler
from bot.service import BotService, ReplyRenderer
from core import groups as group_registry
from core.clock import Clock, SystemClock
from core.db import create_db_engine, create_session_factory
from core.errors import UserError
from core.hashing import IdHasher
from core.migrate import needs_upgrade, upgrade
from core.settings import Settings
from core.templating import text_environment
from core.transport import BaseTransport
from scheduler.dispatcher import Dispatcher, SendPolicy
from scheduler.rendering import ContentRenderer
from scheduler.service import SchedulingService

log = logging.getLogger(__name__)

BOT_TEMPLATES = Path(__file__).resolve().parent.parent / "bot" / "templates"


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    engine = create_db_engine(settings.effective_database_url)
    try:
        if migrate and needs_upgrade(engine):
            upgrade(engine)
    except UserError:
        raise
    except Exception as exc:
        engine.dispose()
        raise UserError(f"无法打开或升级数据库（{type(exc).__name__}）：请检查 DATABASE_URL 和数据库服务") from exc
    return Database(engine=engine, sessions=create_session_factory(engine))


def template_globals(settings: Settings) -> dict[str, Any]:
    return {
        "bot_name": settings.bot_name,
        "sifasuo": settings.sifasuo_name,
        "township": settings.township,
        "help_line": settings.help_line,
        "trigger": settings.trigger_words[0] if settings.trigger_words else "咨询",
    }


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


def build_reply_renderer(settings: Settings) -> ReplyRenderer:
    """The one Jinja2 environment for bot replies, with the township's variables."""
    return ReplyRenderer(text_environment([BOT_TEMPLATES]), template_globals(settings))


def build_qa(settings: Settings, kb: KnowledgeBase | None = None) -> QAService:
    """Load and validate the knowledge base (all-or-nothing) and build the matcher."""
    variables = template_globals(settings)
    kb = kb or load_knowledge_base(variables)
    matcher = Matcher(kb, cache_dir=settings.data_dir / "cache")
    return QAService(kb, matcher, variables)


def build_app(settings: Settings, transport: BaseTransport, db: Database, clock: Clock | None = None) -> App:
    clock = clock or SystemClock(settings.tz)

    def is_registered(room_id: str) -> bool:
        with db.sessions() as session:
            return group_registry.is_active(session, room_id)

    qa = build_qa(settings)
    hasher = IdHasher(settings.hash_secret.get_secret_value())
    pipeline = (
        Pipeline()
        .add("menu-pick", MenuPickHandler(qa, db.sessions, hasher, clock.now))
        .add("unaddressed", UnaddressedFilter())
        .add("group-gate", GroupGate(is_registered))
        .add("question", QuestionHandler(qa, db.sessions, hasher, clock.now))
        .add("help", HelpHandler())
    )
    bot = BotService(
        transport, Addressing(settings.bot_name, settings.trigger_words), pipeline, build_reply_renderer(settings)
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
