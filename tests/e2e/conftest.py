"""Fixtures for the end-to-end tests: a seeded database, the gateway and the bot process, started per module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import groups as group_registry
from core.db import create_db_engine, create_session_factory
from core.models import ContentItem, Push
from tests.e2e.harness import Bot

TZ = ZoneInfo("Asia/Shanghai")


@contextmanager
def database(bot: Bot) -> Iterator[Session]:
    """A session on the bot's SQLite database (committed on success)."""
    engine = create_db_engine(bot.database_url)
    try:
        with create_session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def register(bot: Bot, room_id: str, name: str, village: str) -> None:
    with database(bot) as session:
        group_registry.add_group(session, room_id=room_id, name=name, village=village, now=datetime.now(TZ))


def queue_push(bot: Bot, due_in_seconds: float) -> tuple[int, str]:
    """Queue the first library article for all groups, due shortly. Returns (push id, slug)."""
    with database(bot) as session:
        item = session.scalars(select(ContentItem).where(ContentItem.kind == "article").order_by(ContentItem.id)).first()
        assert item is not None, "the starter library was not imported"
        now = datetime.now(TZ)
        push = Push(content_id=item.id, due_at=now + timedelta(seconds=due_in_seconds), targets="all", source="manual",
                    plan_key=None, status="queued", note="e2e", created_at=now)
        session.add(push)
        session.flush()
        return push.id, item.slug
