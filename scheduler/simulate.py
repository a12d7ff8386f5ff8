"""The rehearsal behind `pufa simulate`: the real planner, enqueue job and dispatcher on a virtual clock, sending to
an in-memory transport, in a scratch database. A campaign week runs in seconds.

Virtual time only moves when the dispatcher sleeps (pacing) or when nothing is due (the clock jumps to the next
push, the next retry or the end of quiet hours) — exactly the moments the real bot would wait.
"""

from __future__ import annotations

import itertools
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from content.keydates import KeyDateRegistry
from content.store import LibraryItem, import_items
from core import groups as group_registry
from core.clock import ManualClock
from core.db import create_db_engine, create_session_factory
from core.models import Base, CustomKeyDate, OutboxItem
from core.transport import BaseTransport, ChatInfo, MessageCallback, SendResult
from scheduler import outbox as ob
from scheduler.calendar import occurrences_in
from scheduler.dispatcher import Dispatcher, Render, SendPolicy, SentMessage
from scheduler.planner import apply_plan, library_entries, plan_campaigns
from scheduler.service import expand_job

SIM_ACCOUNT = "simulate"


class MemoryTransport(BaseTransport):
    """Delivers every message into a list; knows the simulated groups' member counts."""

    name = "memory"

    def __init__(self, groups: dict[str, tuple[str, int]]) -> None:
        self.groups = groups
        self.sent: list[tuple[str, str]] = []

    async def start(self, on_message: MessageCallback) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send_text(self, chat_id: str, text: str, mention_ids: Sequence[str] = ()) -> SendResult:
        self.sent.append((chat_id, text))
        return SendResult(delivered=True, platform_id=f"sim-{len(self.sent)}")

    async def chat_info(self, chat_id: str) -> ChatInfo | None:
        name, count = self.groups.get(chat_id, (chat_id, 0))
        return ChatInfo(chat_id=chat_id, name=name, member_count=count)


@dataclass
class SimulationReport:
    messages: list[SentMessage] = field(default_factory=list)
    planned: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    gaps: int = 0

    @property
    def min_gap_seconds(self) -> float | None:
        times = sorted(m.at for m in self.messages)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        return min(gaps) if gaps else None

    def in_quiet_hours(self, quiet: tuple[time, time], tz: tzinfo) -> list[SentMessage]:
        return [m for m in self.messages if ob.in_quiet_hours(m.at, quiet, tz)]

    def groups_reached(self) -> dict[str, set[str]]:
        """slug → the groups that received it."""
        reached: dict[str, set[str]] = {}
        for message in self.messages:
            reached.setdefault(message.slug, set()).add(message.group_name)
        return reached


def scratch_sessions(folder: Path) -> sessionmaker[Session]:
    engine = create_db_engine(f"sqlite:///{folder / 'simulate.db'}")
    Base.metadata.create_all(engine)
    return create_session_factory(engine)


async def run_simulation(
    *,
    start: date,
    end: date,
    group_count: int,
    items: Sequence[LibraryItem],
    registry: KeyDateRegistry,
    custom_dates: Sequence[dict[str, Any]],
    policy: SendPolicy,
    tz: tzinfo,
    pufa_month: int,
    render: Render,
    seed: int = 1,
    on_sent: Callable[[SentMessage], None] | None = None,
) -> SimulationReport:
    """Plan [start, end) from the library, then let the dispatcher send it to `group_count` simulated groups."""
    begin = datetime.combine(start, time(0), tzinfo=tz)
    finish = datetime.combine(end, time(0), tzinfo=tz)
    clock = ManualClock(begin)
    report = SimulationReport()
    with tempfile.TemporaryDirectory(prefix="pufa-simulate-") as folder:
        sessions = scratch_sessions(Path(folder))
        try:
            groups: dict[str, tuple[str, int]] = {}
            with sessions.begin() as session:
                import_items(session, items, begin)
                for number in range(1, group_count + 1):
                    room_id = f"sim-{number:03d}@chatroom"
                    name = f"模拟{number}组"
                    members = 40 + (number * 37) % 160
                    group_registry.add_group(session, room_id=room_id, name=name, now=begin, member_count=members)
                    groups[room_id] = (name, members)
                for row in custom_dates:
                    session.add(CustomKeyDate(created_at=begin, **row))
                session.flush()
                rows = list(session.scalars(select(CustomKeyDate)))
                occurrences = []
                for year in range(start.year, end.year + 1):
                    occurrences += occurrences_in(registry, rows, year, pufa_month=pufa_month)
                unique = {(o.key, o.year): o for o in occurrences}
                planned = [
                    p for p in plan_campaigns(unique.values(), library_entries(session), tz) if begin <= p.due_at < finish
                ]
                report.gaps = sum(1 for p in planned if p.slug is None)
                report.planned = apply_plan(session, planned, begin).added
            report.groups = [name for name, _ in groups.values()]

            def record(message: SentMessage) -> None:
                report.messages.append(message)
                if on_sent is not None:
                    on_sent(message)

            async def virtual_sleep(seconds: float) -> None:
                clock.advance(seconds)

            transport = MemoryTransport(groups)
            dispatcher = Dispatcher(
                sessions, transport, render, clock, policy, tz=tz, account=SIM_ACCOUNT, worker_id="simulate",
                sleep=virtual_sleep, rng=random.Random(seed), on_sent=record,
            )
            dispatcher.recover()
            while clock.now() < finish:
                expand_job(sessions, clock, SIM_ACCOUNT, lookahead=timedelta(0))
                result = await dispatcher.step()
                if result.worked:
                    continue
                now = clock.now()
                with sessions() as session:
                    candidates = [ob.next_push_due(session), result.idle_until, dispatcher.next_due(now)]
                later = [c for c in candidates if c is not None and c > now]
                if not later:
                    # Something is due now but the gate said wait (or nothing is left): move on a minute.
                    if any(c is not None and c <= now for c in candidates):
                        clock.advance(60)
                        continue
                    break
                clock.set(min(min(later), finish))
            dispatcher.expire(clock.now())
            with sessions() as session:
                for status in session.scalars(select(OutboxItem.status)):
                    report.statuses[status] = report.statuses.get(status, 0) + 1
        finally:
            sessions.kw["bind"].dispose()
    return report
