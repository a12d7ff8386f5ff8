"""The dispatcher on SQLite and PostgreSQL with a manual clock: pacing, quiet hours, daily cap, rate-limit pause,
retries, expiry, cancellation, and crashes at every step followed by a restart."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.clock import ManualClock
from core.models import AccountState, OutboxItem
from core.transport import SendResult
from pufa.app import Database
from scheduler import outbox as ob
from scheduler.queue import cancel_push
from scheduler.service import expand_job
from tests.conftest import TZ
from tests.scheduler.helpers import Crash, RecordingTransport, make_dispatcher, queue, seed

LONG_BODY = "\n\n".join(f"第{i}段：" + "村民朋友们要知法守法。" * 12 for i in range(1, 7))


def statuses(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(OutboxItem.status).order_by(OutboxItem.id)))


def rows(db: Database) -> list[OutboxItem]:
    with db.sessions() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def expand(db: Database, clock: ManualClock) -> int:
    return expand_job(db.sessions, clock, "default")


async def test_pacing_between_every_message_and_member_count_snapshot(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock, body=LONG_BODY)
    queue(db, data["content_id"], clock.now())
    assert expand(db, clock) == 3
    transport = RecordingTransport(clock)
    dispatcher = make_dispatcher(db, transport, clock)
    await dispatcher.run_until_idle()
    assert statuses(db) == ["sent"] * 3
    assert len(transport.sent) == 6  # two parts per group
    assert transport.sent[0].text.startswith("（1/2）") and transport.sent[1].text.startswith("（2/2）")
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(transport.sent)]
    assert all(15 <= gap <= 35 for gap in gaps), gaps
    assert len(set(gaps)) > 1  # random, not fixed
    assert [r.member_count for r in rows(db)] == [51, 52, 53]  # transport knew nothing: the registry's count
    assert all(r.parts_sent == 2 and r.sent_at is not None for r in rows(db))


async def test_quiet_hours_wait_for_the_morning_without_expiring(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock)
    evening = datetime(2026, 12, 1, 22, 0, tzinfo=TZ)
    queue(db, data["content_id"], evening)
    clock.set(evening)
    expand(db, clock)
    transport = RecordingTransport(clock)
    dispatcher = make_dispatcher(db, transport, clock)
    result = await dispatcher.run_until_idle()
    assert transport.sent == [] and result.idle_until == datetime(2026, 12, 2, 7, 30, tzinfo=TZ)
    clock.set(result.idle_until)
    await dispatcher.run_until_idle()
    assert statuses(db) == ["sent"] * 3  # 9.5 hours late, but quiet hours do not count towards expiry
    assert all(d.at.astimezone(TZ).hour == 7 for d in transport.sent)


async def test_a_multi_part_item_never_runs_into_quiet_hours(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock, groups=1, body=LONG_BODY)
    late = datetime(2026, 12, 1, 21, 29, 50, tzinfo=TZ)
    queue(db, data["content_id"], late)
    clock.set(late)
    expand(db, clock)
    transport = RecordingTransport(clock)
    result = await make_dispatcher(db, transport, clock).run_until_idle()
    assert transport.sent == [] and result.idle_until == datetime(2026, 12, 2, 7, 30, tzinfo=TZ)
    assert statuses(db) == ["pending"]


async def test_daily_cap_defers_the_rest_to_the_next_morning(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock)
    queue(db, data["content_id"], clock.now())
    expand(db, clock)
    transport = RecordingTransport(clock)
    dispatcher = make_dispatcher(db, transport, clock, daily_cap=2)
    result = await dispatcher.run_until_idle()
    assert len(transport.sent) == 2 and statuses(db).count("pending") == 1
    assert result.idle_until == datetime(2026, 12, 2, 7, 30, tzinfo=TZ)
    # A restart the same day remembers today's count.
    clock.advance(3600)
    restarted = make_dispatcher(db, transport, clock, daily_cap=2)
    await restarted.run_until_idle()
    assert len(transport.sent) == 2
    # Next morning the cap is fresh, but yesterday's 09:00 item is far past its grace period: reported, not sent.
    clock.set(result.idle_until)
    await restarted.run_until_idle()
    assert len(transport.sent) == 2 and statuses(db) == ["sent", "sent", "expired"]


async def test_rate_limit_pauses_all_sending_and_survives_a_restart(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock)
    queue(db, data["content_id"], clock.now())
    expand(db, clock)
    transport = RecordingTransport(clock, script=[None, SendResult(delivered=False, rate_limited=True, error="操作过于频繁")])
    dispatcher = make_dispatcher(db, transport, clock)
    result = await dispatcher.run_until_idle()
    assert len(transport.sent) == 1 and statuses(db) == ["sent", "pending", "pending"]
    paused_at = clock.now()
    assert result.idle_until == paused_at + timedelta(hours=1)
    with db.sessions() as session:
        state = session.get(AccountState, "default")
        assert state is not None and state.paused_until == paused_at + timedelta(hours=1)
    clock.advance(600)
    restarted = make_dispatcher(db, transport, clock)
    assert (await restarted.run_until_idle()).idle_until == paused_at + timedelta(hours=1)
    assert len(transport.sent) == 1
    clock.set(paused_at + timedelta(hours=1))
    await restarted.run_until_idle()
    assert statuses(db) == ["sent"] * 3 and len(transport.sent) == 3


async def test_certain_failures_are_retried_with_backoff_then_given_up(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock, groups=1)
    queue(db, data["content_id"], clock.now())
    expand(db, clock)
    not_sent = SendResult(delivered=False, retryable=True, error="网络断开")
    transport = RecordingTransport(clock, script=[not_sent, not_sent])
    dispatcher = make_dispatcher(db, transport, clock)
    await dispatcher.run_until_idle()
    [row] = rows(db)
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at is not None
    first_delay = row.next_attempt_at - clock.now()
    assert timedelta(seconds=60) <= first_delay <= timedelta(seconds=75)
    clock.set(row.next_attempt_at)
    await dispatcher.run_until_idle()
    [row] = rows(db)
    assert row.attempts == 2 and row.next_attempt_at - clock.now() > first_delay  # backoff grows
    clock.set(row.next_attempt_at)
    await dispatcher.run_until_idle()
    assert statuses(db) == ["sent"] and len(transport.sent) == 1

    queue(db, data["content_id"], clock.now() + timedelta(minutes=5))
    clock.advance(300)
    expand(db, clock)
    transport.script = [SendResult(delivered=False, retryable=True, error="x")] * 10
    for _ in range(6):
        await dispatcher.run_until_idle()
        clock.advance(3600)
    assert statuses(db) == ["sent", "failed"]


async def test_expired_items_are_reported_not_sent_late(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock)
    queue(db, data["content_id"], clock.now())
    expand(db, clock)
    clock.advance(timedelta(hours=6, minutes=1))
    transport = RecordingTransport(clock)
    await make_dispatcher(db, transport, clock).run_until_idle()
    assert transport.sent == [] and statuses(db) == ["expired"] * 3
    assert all("不再补发" in (r.last_error or "") for r in rows(db))
    with db.sessions() as session:
        assert [r.id for r in ob.list_outbox(session, status="expired")] == [r.id for r in rows(db)]


async def test_cancelling_a_push_before_and_after_expansion(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock)
    early = queue(db, data["content_id"], clock.now())
    later = queue(db, data["content_id"], clock.now() + timedelta(hours=1))
    expand(db, clock)
    with db.sessions.begin() as session:
        assert cancel_push(session, early, clock.now())[1] == 3  # its pending rows are cancelled
        assert cancel_push(session, later, clock.now())[1] == 0  # not expanded yet
    clock.advance(3600)
    expand(db, clock)
    transport = RecordingTransport(clock)
    await make_dispatcher(db, transport, clock).run_until_idle()
    assert transport.sent == [] and statuses(db) == ["cancelled"] * 3


async def test_expansion_is_idempotent_per_content_group_and_slot(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock)
    queue(db, data["content_id"], clock.now())
    queue(db, data["content_id"], clock.now(), targets="tag:2组")  # the same slot again, for one group
    assert expand(db, clock) == 3
    assert expand(db, clock) == 0
    keys = [r.idempotency_key for r in rows(db)]
    assert len(keys) == len(set(keys)) == 3


@pytest.mark.parametrize("crash", ["after-claim", "after-send", "before-recording"])
async def test_crash_at_each_step_then_restart_never_sends_twice(db: Database, clock: ManualClock, crash: str) -> None:
    data = seed(db, clock)
    queue(db, data["content_id"], clock.now())
    expand(db, clock)
    transport = RecordingTransport(clock)
    dispatcher = make_dispatcher(db, transport, clock)
    await dispatcher.step()  # the first group is sent normally
    clock.advance(40)
    if crash == "after-claim":
        assert dispatcher.claim(clock.now()) is not None  # the process dies right after transaction A
    else:
        if crash == "after-send":
            transport.script = ["crash-after"]
        else:
            original = dispatcher._finish

            def die_before_recording(item_id: int, **values: object) -> None:
                if values.get("status") == "sent":
                    raise Crash
                original(item_id, **values)

            dispatcher._finish = die_before_recording  # type: ignore[method-assign]
        with pytest.raises(Crash):
            await dispatcher.step()
    delivered_before = len(transport.sent)
    assert statuses(db).count("sending") == 1

    clock.advance(60)
    restarted = make_dispatcher(db, transport, clock)  # start-up: `sending` → `unknown`
    await restarted.run_until_idle()
    states = statuses(db)
    assert states.count("unknown") == 1 and states.count("sent") == 2  # nothing lost, nothing re-sent
    assert len(transport.sent) == delivered_before + 1
    per_group = [d.chat_id for d in transport.sent]
    assert len(per_group) == len(set(per_group)) == (3 if crash != "after-claim" else 2)
    [unknown] = [r for r in rows(db) if r.status == "unknown"]
    assert "人工确认" in (unknown.last_error or "")

    # Staff decide: send it. It goes out exactly once more.
    with db.sessions.begin() as session:
        ob.retry_item(session, unknown.id, clock.now())
    clock.advance(60)
    await restarted.run_until_idle()
    assert statuses(db) == ["sent"] * 3


async def test_stop_between_parts_releases_the_rest_and_a_restart_continues(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock, groups=1, body=LONG_BODY)
    queue(db, data["content_id"], clock.now())
    expand(db, clock)
    transport = RecordingTransport(clock)
    dispatcher = make_dispatcher(db, transport, clock)

    async def sleep_then_stop(seconds: float) -> None:
        clock.advance(seconds)
        dispatcher._stopping.set()

    dispatcher._sleep = sleep_then_stop  # type: ignore[method-assign]
    await dispatcher.step()
    [row] = rows(db)
    assert (row.status, row.parts_sent, len(transport.sent)) == ("pending", 1, 1)
    restarted = make_dispatcher(db, transport, clock)
    await restarted.run_until_idle()
    assert [d.text[:5] for d in transport.sent] == ["（1/2）", "（2/2）"]
    assert statuses(db) == ["sent"]


async def test_nothing_is_claimed_while_the_transport_is_not_ready(db: Database, clock: ManualClock) -> None:
    """WeChat logged out for hours: rows stay pending (no retries used up) and go out once it is back."""

    class LoggedOut(RecordingTransport):
        ready = False  # type: ignore[assignment]

    data = seed(db, clock)
    queue(db, data["content_id"], clock.now())
    expand(db, clock)
    transport = LoggedOut(clock)
    dispatcher = make_dispatcher(db, transport, clock)
    result = await dispatcher.step()
    assert result.outcome == "not-ready" and not result.worked
    assert statuses(db) == ["pending"] * 3 and all(r.attempts == 0 for r in rows(db))
    LoggedOut.ready = True  # type: ignore[assignment]
    await dispatcher.run_until_idle()
    assert statuses(db) == ["sent"] * 3


async def test_an_uncertain_send_becomes_unknown_and_is_never_resent(db: Database, clock: ManualClock) -> None:
    data = seed(db, clock, groups=1)
    queue(db, data["content_id"], clock.now())
    expand(db, clock)
    transport = RecordingTransport(clock, script=[SendResult(delivered=False, uncertain=True, error="断线")])
    dispatcher = make_dispatcher(db, transport, clock)
    await dispatcher.run_until_idle()
    clock.advance(timedelta(hours=1))
    await dispatcher.run_until_idle()
    assert statuses(db) == ["unknown"] and transport.sent == []
