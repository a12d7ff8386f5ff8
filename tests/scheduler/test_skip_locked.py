"""On PostgreSQL, several dispatchers drain one outbox concurrently without double-claiming (FOR UPDATE SKIP
LOCKED): two real connections in two threads. This test needs PostgreSQL and uses it directly (never skipped)."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import select

from core.clock import ManualClock
from core.db import create_db_engine, create_session_factory
from core.models import OutboxItem
from pufa.app import Database
from scheduler.service import expand_job
from tests.conftest import TZ, _truncate_all
from tests.scheduler.helpers import RecordingTransport, make_dispatcher, queue, seed


def test_a_locked_row_is_skipped_and_concurrent_claimers_never_share_a_row(pg_url: str) -> None:
    _truncate_all(pg_url)
    engine = create_db_engine(pg_url)
    db = Database(engine=engine, sessions=create_session_factory(engine))
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    try:
        data = seed(db, clock, groups=40)
        queue(db, data["content_id"], clock.now())
        assert expand_job(db.sessions, clock, "default") == 40
        first = make_dispatcher(db, RecordingTransport(clock), clock)
        second = make_dispatcher(db, RecordingTransport(clock), clock)
        assert first._postgres

        # 1. While one transaction holds the oldest row's lock, another claimer gets the next row without waiting.
        holder = db.sessions()
        try:
            locked_id = holder.scalar(
                select(OutboxItem.id).order_by(OutboxItem.due_at, OutboxItem.id).limit(1).with_for_update(skip_locked=True)
            )
            result: dict[str, object] = {}
            thread = threading.Thread(target=lambda: result.setdefault("claimed", second.claim(clock.now())))
            thread.start()
            thread.join(timeout=10)
            assert not thread.is_alive(), "the claimer blocked on a locked row"
            claimed = result["claimed"]
            assert claimed is not None and claimed.id != locked_id  # type: ignore[attr-defined]
        finally:
            holder.rollback()
            holder.close()

        # 2. Two claimers in two threads drain the rest: every row exactly once.
        barrier = threading.Barrier(2)
        taken: dict[str, list[int]] = {"first": [], "second": []}

        def drain(name: str, dispatcher) -> None:  # type: ignore[no-untyped-def]
            barrier.wait()
            while (row := dispatcher.claim(clock.now())) is not None:
                taken[name].append(row.id)

        threads = [threading.Thread(target=drain, args=("first", first)),
                   threading.Thread(target=drain, args=("second", second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        both = taken["first"] + taken["second"]
        assert len(both) == len(set(both)) == 39
        assert taken["first"] and taken["second"]
        with db.sessions() as session:
            assert set(session.scalars(select(OutboxItem.status))) == {"sending"}
    finally:
        db.dispose()
