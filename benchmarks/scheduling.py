"""Scheduling benchmarks: planning a campaign week for 5,000 groups, dispatcher overhead per message (pacing
excluded), and `pufa simulate` for a campaign week over 20 groups.

Usage: .venv/bin/python benchmarks/scheduling.py [--pg]
Targets: planning ≤ 2 s; dispatcher overhead ≤ 5 ms per message; simulate ≤ 10 s wall.
`--pg` also runs the first two on PostgreSQL (PUFA_TEST_PG_URL, a throw-away database is created and dropped).
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from content.store import import_items  # noqa: E402
from core.clock import ManualClock  # noqa: E402
from core.db import create_db_engine, create_session_factory  # noqa: E402
from core.models import Base, Group, OutboxItem  # noqa: E402
from core.transport import SendResult  # noqa: E402
from pufa.library import load_library, require_clean  # noqa: E402
from scheduler.calendar import occurrences_in  # noqa: E402
from scheduler.dispatcher import Dispatcher, SendPolicy  # noqa: E402
from scheduler.outbox import expand_due_pushes  # noqa: E402
from scheduler.planner import apply_plan, library_entries, plan_campaigns  # noqa: E402
from scheduler.rendering import ContentRenderer  # noqa: E402
from scheduler.simulate import MemoryTransport  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
GLOBALS = {"bot_name": "普法助手", "sifasuo": "青山镇司法所", "township": "青山镇", "help_line": "12348", "trigger": "普法"}
WEEK_START, WEEK_END = date(2026, 12, 1), date(2026, 12, 8)


def fresh_database(kind: str):  # type: ignore[no-untyped-def]
    """(sessions, cleanup) on a new SQLite file or a new PostgreSQL database."""
    if kind == "sqlite":
        folder = tempfile.TemporaryDirectory()
        engine = create_db_engine(f"sqlite:///{folder.name}/bench.db")
        Base.metadata.create_all(engine)

        def cleanup() -> None:
            engine.dispose()
            folder.cleanup()

        return create_session_factory(engine), cleanup
    admin_url = os.environ.get("PUFA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    name = f"pufa_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    Base.metadata.create_all(engine)

    def cleanup_pg() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return create_session_factory(engine), cleanup_pg


def add_groups(sessions, count: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        session.execute(
            insert(Group),
            [{"room_id": f"{n:08d}@chatroom", "name": f"村群{n}", "village": "", "tags": "", "enabled": True,
              "member_count": 100, "created_at": now, "updated_at": now} for n in range(count)],
        )


def bench_planning(kind: str, items) -> str:  # type: ignore[no-untyped-def]
    """Plan + apply the 宪法宣传周 campaign (12-01..12-07 occurrences), then expand every push into the outbox."""
    sessions, cleanup = fresh_database(kind)
    try:
        now = datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
        with sessions.begin() as session:
            import_items(session, items, now)
        add_groups(sessions, 5000, now)
        from content.keydates import load_key_dates

        registry = load_key_dates()
        started = time.perf_counter()
        with sessions.begin() as session:
            occurrences = [
                o for o in occurrences_in(registry, [], 2026, pufa_month=11)
                if o.end >= WEEK_START - timedelta(days=3) and o.start < WEEK_END
            ]
            planned = [p for p in plan_campaigns(occurrences, library_entries(session), TZ)
                       if p.due_at < datetime.combine(WEEK_END, datetime.min.time(), tzinfo=TZ)]
            report = apply_plan(session, planned, now)
        planned_at = time.perf_counter()
        with sessions.begin() as session:
            rows = expand_due_pushes(session, datetime(2026, 12, 8, 0, 0, tzinfo=TZ), account="default")
        finished = time.perf_counter()
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(OutboxItem)) == rows
        return (
            f"[{kind}] planning a campaign week for 5,000 groups: {report.added} pushes planned and applied in "
            f"{(planned_at - started) * 1000:.0f} ms; expanded into {rows:,} outbox rows in {finished - planned_at:.2f} s; "
            f"total {finished - started:.2f} s (target ≤ 2 s)"
        )
    finally:
        cleanup()


class NullTransport(MemoryTransport):
    async def send_text(self, chat_id, text, mention_ids=()):  # type: ignore[no-untyped-def]
        return SendResult(delivered=True, platform_id="x")


def bench_dispatcher(kind: str, items, messages: int = 2000) -> str:  # type: ignore[no-untyped-def]
    """Claim → render → send (a transport that returns at once) → record, pacing 0, one part per message."""
    sessions, cleanup = fresh_database(kind)
    try:
        now = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
        with sessions.begin() as session:
            import_items(session, items, now)
        add_groups(sessions, messages, now)
        with sessions.begin() as session:
            from core.models import ContentItem

            content_id = session.scalar(select(ContentItem.id).where(ContentItem.slug == "constitution-day-basics"))
            group_ids = list(session.scalars(select(Group.id)))
            session.execute(insert(OutboxItem), [
                {"content_id": content_id, "group_id": gid, "account": "default", "due_at": now,
                 "idempotency_key": f"bench-{gid}", "status": "pending", "attempts": 0, "parts_sent": 0,
                 "created_at": now, "updated_at": now} for gid in group_ids
            ])
        clock = ManualClock(now)

        async def no_sleep(_seconds: float) -> None:
            return None

        policy = SendPolicy(pacing_min_seconds=0, pacing_max_seconds=0, daily_cap=messages + 10, tz=TZ)
        dispatcher = Dispatcher(sessions, NullTransport({}), ContentRenderer(GLOBALS).render, clock, policy, tz=TZ,
                                sleep=no_sleep, rng=random.Random(1))
        dispatcher.recover()
        timings: list[float] = []

        async def run() -> None:
            while True:
                started = time.perf_counter()
                result = await dispatcher.step()
                if not result.worked:
                    return
                timings.append(time.perf_counter() - started)

        asyncio.run(run())
        with sessions() as session:
            sent = session.scalar(select(func.count()).where(OutboxItem.status == "sent"))
        assert sent == messages, sent
        ms = sorted(t * 1000 for t in timings)
        return (
            f"[{kind}] dispatcher overhead per message ({messages:,} messages, pacing excluded): mean {statistics.mean(ms):.2f} ms, "
            f"p50 {ms[len(ms) // 2]:.2f} ms, p99 {ms[int(len(ms) * 0.99)]:.2f} ms (target ≤ 5 ms)"
        )
    finally:
        cleanup()


def bench_simulate() -> str:
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUFA_") and k != "DATABASE_URL"}
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pufa.cli", "simulate", "--from", str(WEEK_START), "--to", str(WEEK_END),
             "--groups", "20", "--json"],
            cwd=folder, env=env, capture_output=True, text=True, timeout=300,
        )
        elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    count = len([line for line in result.stdout.splitlines() if line.strip()])
    return (
        f"pufa simulate --from {WEEK_START} --to {WEEK_END} --groups 20: {count} messages in {elapsed:.2f} s wall, "
        f"process start-up included (target ≤ 10 s)"
    )


def main() -> None:
    kinds = ["sqlite", "postgresql"] if "--pg" in sys.argv else ["sqlite"]
    items = require_clean(load_library(GLOBALS)).items
    print(f"# scheduling benchmarks — {platform.python_version()}, {os.cpu_count()} cores, {datetime.now(TZ):%Y-%m-%d}")
    print(f"# load average at start (other work on this machine): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for kind in kinds:
        print(bench_planning(kind, items))
    for kind in kinds:
        print(bench_dispatcher(kind, items))
    print(bench_simulate())
    print(f"# load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
