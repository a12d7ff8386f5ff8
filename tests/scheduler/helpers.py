"""Builders for scheduler tests: seeded content and groups, a transport that records virtual send times and can
fail or crash on cue, and a dispatcher whose sleep advances the ManualClock."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from core import groups as group_registry
from core.clock import ManualClock
from core.models import ContentItem, Push
from core.transport import BaseTransport, MessageCallback, SendResult
from pufa.app import Database
from scheduler.dispatcher import Dispatcher, SendPolicy
from scheduler.rendering import ContentRenderer
from tests.conftest import TZ

GLOBALS = {"bot_name": "普法助手", "sifasuo": "青山镇司法所", "township": "青山镇", "help_line": "12348", "trigger": "普法"}
RENDER = ContentRenderer(GLOBALS).render


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the product catches it."""


@dataclass
class Delivery:
    at: datetime
    chat_id: str
    text: str


@dataclass
class RecordingTransport(BaseTransport):
    clock: ManualClock
    name: str = "recording"
    sent: list[Delivery] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)  # SendResult to return, or "crash-before"/"crash-after"

    async def start(self, on_message: MessageCallback) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send_text(self, chat_id: str, text: str, mention_ids: Sequence[str] = ()) -> SendResult:
        action = self.script.pop(0) if self.script else None
        if action == "crash-before":
            raise Crash
        if isinstance(action, SendResult):
            return action
        self.sent.append(Delivery(self.clock.now(), chat_id, text))
        if action == "crash-after":
            raise Crash
        return SendResult(delivered=True, platform_id=f"p{len(self.sent)}")


def policy(**overrides: Any) -> SendPolicy:
    values: dict[str, Any] = dict(
        pacing_min_seconds=15, pacing_max_seconds=35, daily_cap=200, quiet=(time(21, 30), time(7, 30)),
        rate_limit_pause=timedelta(hours=1), expiry_grace=timedelta(hours=6), tz=TZ,
    )
    values.update(overrides)
    return SendPolicy(**values)


def make_dispatcher(db: Database, transport: BaseTransport, clock: ManualClock, **overrides: Any) -> Dispatcher:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    dispatcher = Dispatcher(db.sessions, transport, RENDER, clock, policy(**overrides), tz=TZ, account="default",
                            sleep=sleep, rng=random.Random(7))
    dispatcher.recover()
    return dispatcher


def seed(db: Database, clock: ManualClock, *, groups: int = 3, body: str = "第一段。\n\n第二段。") -> dict[str, Any]:
    """Groups 一组…, and one article `demo-article`."""
    with db.sessions.begin() as session:
        ids = []
        for n in range(1, groups + 1):
            group = group_registry.add_group(session, room_id=f"g{n}@chatroom", name=f"{n}组", now=clock.now(),
                                             tags=[f"{n}组"], member_count=50 + n)
            ids.append(group.id)
        item = ContentItem(slug="demo-article", kind="article", title="演示文章", key_dates="constitution-day",
                           tags="宪法法治", data={"summary": "", "body": body, "laws": ["宪法"], "tags": [],
                                                  "key_dates": []}, checksum="x", reviewed=None, imported_at=clock.now())
        session.add(item)
        session.flush()
        return {"groups": ids, "content_id": item.id}


def queue(db: Database, content_id: int, due: datetime, targets: str = "all") -> int:
    with db.sessions.begin() as session:
        push = Push(content_id=content_id, due_at=due, targets=targets, source="manual", status="queued",
                    created_at=due)
        session.add(push)
        session.flush()
        return push.id
