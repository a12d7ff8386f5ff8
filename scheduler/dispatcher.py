"""The one sender per WeChat account: claim a row (transaction A), send outside any transaction, record the outcome
(transaction B, one per message part).

At most once: a row found in `sending` at start-up becomes `unknown` for a person to decide, because a duplicate
post in a village group is public. Only errors that certainly did not send (`SendResult.retryable`) are retried,
with backoff; a rate-limit answer pauses the whole account. `SendGate` is the one object asked before every send:
pause, quiet hours, daily cap and the random gap between messages.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time as time_module
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from core.models import AccountState, ContentItem, Group, OutboxItem
from core.transport import BaseTransport, SendResult
from scheduler import outbox as ob

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Render = Callable[[str, str, Mapping[str, Any]], list[str]]
EXPIRY_CHECK_EVERY = timedelta(minutes=1)
IDLE_POLL = timedelta(minutes=1)
STATE_REFRESH_SECONDS = 5.0
NOT_READY_POLL = timedelta(seconds=2)


@dataclass(frozen=True)
class SendPolicy:
    pacing_min_seconds: float = 15
    pacing_max_seconds: float = 35
    daily_cap: int = 200
    quiet: tuple[time, time] = (time(21, 30), time(7, 30))
    rate_limit_pause: timedelta = timedelta(hours=1)
    expiry_grace: timedelta = timedelta(hours=6)
    max_attempts: int = 5
    retry_base_seconds: float = 60
    tz: tzinfo | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> SendPolicy:
        return cls(
            pacing_min_seconds=settings.pacing_min_seconds,
            pacing_max_seconds=settings.pacing_max_seconds,
            daily_cap=settings.daily_cap,
            quiet=settings.quiet_hours,
            rate_limit_pause=timedelta(minutes=settings.rate_limit_pause_minutes),
            expiry_grace=timedelta(hours=settings.expiry_grace_hours),
            tz=settings.tz,
        )


class SendGate:
    """Pacing, daily cap, quiet hours and the rate-limit pause for one account, in one place."""

    def __init__(self, policy: SendPolicy, tz: tzinfo, rng: random.Random) -> None:
        self.policy = policy
        self.tz = tz
        self._rng = rng
        self.last_send: datetime | None = None
        self.next_gap = 0.0
        self.paused_until: datetime | None = None
        self.manually_paused = False
        self._day: Any = None
        self.sent_today = 0

    def load(self, session: Session, account: str, now: datetime) -> None:
        """Restore what a restart must not forget: today's count, the last send, a running pause."""
        day_start = datetime.combine(now.astimezone(self.tz).date(), time(0), tzinfo=self.tz)
        self._day = now.astimezone(self.tz).date()
        self.sent_today = int(
            session.scalar(
                select(func.coalesce(func.sum(OutboxItem.parts_sent), 0)).where(
                    OutboxItem.account == account, OutboxItem.claimed_at >= day_start
                )
            )
            or 0
        )
        self.last_send = session.scalar(
            select(func.max(OutboxItem.updated_at)).where(OutboxItem.account == account, OutboxItem.parts_sent > 0)
        )
        if self.last_send is not None:
            self.next_gap = self.policy.pacing_min_seconds
        self.refresh(session, account)

    def refresh(self, session: Session, account: str) -> None:
        state = session.get(AccountState, account)
        self.paused_until = state.paused_until if state else None
        self.manually_paused = bool(state and state.pushes_paused)

    def _roll_day(self, now: datetime) -> None:
        today = now.astimezone(self.tz).date()
        if today != self._day:
            self._day = today
            self.sent_today = 0

    def blocked_until(self, now: datetime, parts: int = 1) -> datetime | None:
        """None when `parts` messages may start now; otherwise the earliest moment worth trying again."""
        self._roll_day(now)
        if self.manually_paused:
            return now + IDLE_POLL
        if self.paused_until is not None and now < self.paused_until:
            return self.paused_until
        quiet = self.policy.quiet
        if ob.in_quiet_hours(now, quiet, self.tz):
            return ob.quiet_end_after(now, quiet, self.tz)
        # The last part must go out before quiet hours begin.
        finish = now + timedelta(seconds=self.policy.pacing_max_seconds * max(parts - 1, 0))
        if parts > 1 and ob.next_quiet_start(now, quiet, self.tz) <= finish:
            return ob.quiet_end_after(ob.next_quiet_start(now, quiet, self.tz), quiet, self.tz)
        if self.sent_today + parts > self.policy.daily_cap:
            tomorrow = datetime.combine(now.astimezone(self.tz).date() + timedelta(days=1), time(0), tzinfo=self.tz)
            return ob.quiet_end_after(tomorrow, quiet, self.tz)
        return None

    def gap_wait(self, now: datetime) -> float:
        if self.last_send is None:
            return 0.0
        return max(0.0, (self.last_send + timedelta(seconds=self.next_gap) - now).total_seconds())

    def record_send(self, now: datetime) -> None:
        self._roll_day(now)
        self.last_send = now
        self.sent_today += 1
        self.next_gap = self._rng.uniform(self.policy.pacing_min_seconds, self.policy.pacing_max_seconds)

    def pause(self, now: datetime) -> datetime:
        self.paused_until = now + self.policy.rate_limit_pause
        return self.paused_until


@dataclass(frozen=True)
class Claimed:
    id: int
    room_id: str
    group_name: str
    member_count: int | None
    slug: str
    kind: str
    title: str
    data: Mapping[str, Any]
    parts_sent: int
    attempts: int  # including this one
    due_at: datetime
    content_key: tuple[int, str] | None = None


@dataclass(frozen=True)
class StepResult:
    worked: bool  # a row was claimed and handled (whatever its outcome)
    idle_until: datetime | None = None  # when nothing could be done: the next moment worth looking again
    item_id: int | None = None
    outcome: str = ""


@dataclass(frozen=True)
class SentMessage:
    """Reported to `on_sent` after each delivered part (the rehearsal prints these)."""

    at: datetime
    item_id: int
    room_id: str
    group_name: str
    slug: str
    part: int
    parts: int
    text: str


class Dispatcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        transport: BaseTransport,
        render: Render,
        clock: Clock,
        policy: SendPolicy,
        *,
        tz: tzinfo,
        account: str = "default",
        worker_id: str | None = None,
        sleep: Sleep | None = None,
        rng: random.Random | None = None,
        on_sent: Callable[[SentMessage], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.transport = transport
        self.render = render
        self.clock = clock
        self.policy = policy
        self.tz = tz
        self.account = account
        self.worker_id = (worker_id or f"{account}-{uuid.uuid4().hex[:8]}")[:64]
        self._rng = rng or random.Random()
        self.gate = SendGate(policy, tz, self._rng)
        self._sleep = sleep or self._interruptible_sleep
        self._on_sent = on_sent
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_expiry_check: datetime | None = None
        self._postgres = sessions.kw["bind"].dialect.name == "postgresql"
        self._content: dict[int, tuple[str, str, str, str, Any]] = {}
        self._rendered: dict[tuple[int, str], list[str]] = {}
        self._refreshed_at = -1e9
        self.sent_messages = 0
        self._claim_select, self._claim_update = self._claim_statements()

    # -- lifecycle -------------------------------------------------------------------------------
    def recover(self) -> int:
        """At start-up: rows left in `sending` become `unknown`; counters and pauses are restored."""
        now = self.clock.now()
        with self.sessions.begin() as session:
            count = ob.mark_stale_sending_unknown(session, self.account, now)
            self.gate.load(session, self.account, now)
        if count:
            log.warning("%d outbox rows were in 'sending' at start-up and are now 'unknown'", count)
        return count

    async def start(self) -> None:
        self.recover()
        self._stopping.clear()
        self._task = asyncio.create_task(self.run_forever(), name=f"dispatcher-{self.account}")

    async def stop(self, timeout: float = 60) -> None:
        """Drain: an in-flight send finishes and is recorded; nothing new is claimed."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except TimeoutError:  # pragma: no cover - a transport that hangs; the row becomes unknown next start
                log.error("dispatcher did not stop within %ss", timeout)
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    def resume(self) -> None:
        """Clear a previous stop, so `run_until_idle` can finish due work after the loop was stopped."""
        self._stopping.clear()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def _interruptible_sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def run_forever(self) -> None:
        while not self.stopping:
            try:
                result = await self.step()
            except Exception:  # the boundary: log, back off, keep the bot alive
                log.exception("dispatcher step failed")
                result = StepResult(worked=False, idle_until=self.clock.now() + IDLE_POLL)
            if result.worked or self.stopping:
                continue
            now = self.clock.now()
            until = min(result.idle_until or now + IDLE_POLL, now + IDLE_POLL)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max((until - now).total_seconds(), 0.05))
            except TimeoutError:
                pass

    async def run_until_idle(self) -> StepResult:
        """Send everything that is due now (pacing included), then return the idle result."""
        while True:
            result = await self.step()
            if not result.worked or self.stopping:
                return result

    # -- one step --------------------------------------------------------------------------------
    def expire(self, now: datetime) -> list[int]:
        with self.sessions.begin() as session:
            expired = ob.expire_overdue(
                session, now, account=self.account, grace=self.policy.expiry_grace, quiet=self.policy.quiet, tz=self.tz
            )
        if expired:
            log.warning("%d outbox rows expired (past due by more than the grace period)", len(expired))
        self._last_expiry_check = now
        return expired

    def next_due(self, now: datetime) -> datetime | None:
        with self.sessions() as session:
            due = session.scalar(
                select(func.min(func.coalesce(OutboxItem.next_attempt_at, OutboxItem.due_at))).where(
                    OutboxItem.status == ob.PENDING, OutboxItem.account == self.account
                )
            )
        return due

    def _due_filter(self, now: datetime) -> Any:
        return (
            OutboxItem.status == ob.PENDING,
            OutboxItem.account == self.account,
            OutboxItem.due_at <= now,
            or_(OutboxItem.next_attempt_at.is_(None), OutboxItem.next_attempt_at <= now),
        )

    def _claim_statements(self) -> tuple[Any, Any]:
        """Built once, with the time as a bound parameter: the claim runs for every message sent."""
        now = bindparam("now", type_=OutboxItem.__table__.c.due_at.type)
        query = (
            select(OutboxItem.id, OutboxItem.parts_sent, OutboxItem.attempts, OutboxItem.due_at,
                   OutboxItem.content_id, Group.room_id, Group.name, Group.member_count, ContentItem.checksum)
            .join(Group, Group.id == OutboxItem.group_id)
            .join(ContentItem, ContentItem.id == OutboxItem.content_id)
            .where(*self._due_filter(now))
            .order_by(OutboxItem.due_at, OutboxItem.id)
            .limit(1)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True, of=OutboxItem)
        claim = (
            update(OutboxItem)
            .where(OutboxItem.id == bindparam("item_id"), OutboxItem.status == ob.PENDING)
            .values(status=ob.SENDING, claimed_by=self.worker_id, claimed_at=now, updated_at=now,
                    attempts=OutboxItem.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return query, claim

    def claim(self, now: datetime) -> Claimed | None:
        """Transaction A: pick the oldest due row nobody else holds and mark it `sending` (FOR UPDATE SKIP LOCKED on
        PostgreSQL; a status-guarded UPDATE everywhere, so two claimers can never both win)."""
        with self.sessions.begin() as session:
            row = session.execute(self._claim_select, {"now": now}).first()
            if row is None:
                return None
            item_id, parts_sent, attempts, due_at, content_id, room_id, group_name, member_count, checksum = row
            won = session.execute(self._claim_update, {"item_id": item_id, "now": now})
            if won.rowcount != 1:  # type: ignore[attr-defined]
                return None
            content = self._content.get(content_id)
            if content is None or content[0] != checksum:
                slug, kind, title, data = session.execute(
                    select(ContentItem.slug, ContentItem.kind, ContentItem.title, ContentItem.data)
                    .where(ContentItem.id == content_id)
                ).one()
                content = (checksum, slug, kind, title, data)
                if len(self._content) > 256:
                    self._content.clear()
                self._content[content_id] = content
            _checksum, slug, kind, title, data = content
            return Claimed(
                id=item_id, room_id=room_id, group_name=group_name, member_count=member_count, slug=slug, kind=kind,
                title=title, data=data, parts_sent=parts_sent, attempts=attempts + 1, due_at=due_at,
                content_key=(content_id, checksum),
            )

    def _finish(self, item_id: int, **values: Any) -> None:
        """Transaction B: record what happened to a claimed row."""
        values.setdefault("updated_at", self.clock.now())
        with self.sessions.begin() as session:
            session.execute(
                update(OutboxItem).where(OutboxItem.id == item_id).values(**values)
                .execution_options(synchronize_session=False)
            )

    def _release(self, claimed: Claimed, parts_sent: int, until: datetime | None, note: str | None) -> None:
        """Certainly not (fully) sent: back to pending, to continue at `parts_sent` no earlier than `until`."""
        self._finish(
            claimed.id, status=ob.PENDING, parts_sent=parts_sent, next_attempt_at=until, claimed_by=None,
            claimed_at=None, attempts=claimed.attempts - 1, last_error=note,
        )

    def _persist_pause(self, until: datetime) -> None:
        now = self.clock.now()
        with self.sessions.begin() as session:
            state = session.get(AccountState, self.account)
            if state is None:
                session.add(AccountState(account=self.account, paused_until=until, pushes_paused=False, updated_at=now))
            else:
                state.paused_until = until
                state.updated_at = now

    async def step(self) -> StepResult:
        now = self.clock.now()
        if self._last_expiry_check is None or now - self._last_expiry_check >= EXPIRY_CHECK_EVERY:
            self.expire(now)
        if time_module.monotonic() - self._refreshed_at >= STATE_REFRESH_SECONDS:
            # Staff's pause and another process's rate-limit pause, read at most every few (real) seconds.
            with self.sessions() as session:
                self.gate.refresh(session, self.account)
            self._refreshed_at = time_module.monotonic()
        blocked = self.gate.blocked_until(now)
        if blocked is not None:
            return StepResult(worked=False, idle_until=blocked, outcome="blocked")
        if not self.transport.ready:  # e.g. WeChat logged out: keep rows pending, look again shortly
            return StepResult(worked=False, idle_until=now + NOT_READY_POLL, outcome="not-ready")
        gap = self.gate.gap_wait(now)
        if gap > 0:
            with self.sessions() as session:
                has_due = session.scalar(select(OutboxItem.id).where(*self._due_filter(now)).limit(1)) is not None
            if not has_due:
                return StepResult(worked=False, idle_until=self.next_due(now), outcome="idle")
            await self._sleep(gap)
            if self.stopping:
                return StepResult(worked=False, outcome="stopping")
            now = self.clock.now()
            blocked = self.gate.blocked_until(now)
            if blocked is not None:
                return StepResult(worked=False, idle_until=blocked, outcome="blocked")
        claimed = self.claim(now)
        if claimed is None:
            return StepResult(worked=False, idle_until=self.next_due(now), outcome="idle")
        outcome = await self.send_claimed(claimed)
        return StepResult(worked=True, item_id=claimed.id, outcome=outcome)

    async def send_claimed(self, claimed: Claimed) -> str:
        """Send the parts of one claimed row, pacing between them; record after each part."""
        try:
            parts = self._rendered.get(claimed.content_key) if claimed.content_key else None
            if parts is None:
                parts = self.render(claimed.kind, claimed.title, claimed.data)
                if claimed.content_key:
                    if len(self._rendered) > 256:
                        self._rendered.clear()
                    self._rendered[claimed.content_key] = parts
        except Exception as exc:  # nothing was sent: a template problem is a plain failure
            log.error("cannot render %s: %s", claimed.slug, exc)
            self._finish(claimed.id, status=ob.FAILED, claimed_by=None, last_error=f"渲染失败：{type(exc).__name__}")
            return ob.FAILED
        total = len(parts)
        if claimed.parts_sent >= total:
            self._finish(claimed.id, status=ob.SENT, sent_at=self.clock.now(), member_count=claimed.member_count)
            return ob.SENT
        blocked = self.gate.blocked_until(self.clock.now(), total - claimed.parts_sent)
        if blocked is not None:
            self._release(claimed, claimed.parts_sent, blocked, None)
            return "deferred"
        member_count = claimed.member_count
        try:
            info = await self.transport.chat_info(claimed.room_id)
            if info is not None and info.member_count is not None:
                member_count = info.member_count
        except Exception:  # member count is a nice-to-have snapshot
            log.warning("chat_info failed for %s", claimed.room_id, exc_info=True)
        for index in range(claimed.parts_sent, total):
            if index > claimed.parts_sent:
                gap = self.gate.gap_wait(self.clock.now())
                if gap > 0:
                    await self._sleep(gap)
                if self.stopping:
                    self._release(claimed, index, None, "停止时尚未发完，下次启动后继续")
                    return "released"
            try:
                result: SendResult = await self.transport.send_text(claimed.room_id, parts[index])
            except Exception as exc:  # the transport broke its contract: we cannot know whether it went out
                log.error("send raised for outbox %s", claimed.id, exc_info=exc)
                self._finish(claimed.id, status=ob.UNKNOWN, parts_sent=index,
                             last_error=f"发送时出错（{type(exc).__name__}），无法确定是否已发出，请人工确认")
                return ob.UNKNOWN
            now = self.clock.now()
            if result.delivered:
                self.gate.record_send(now)
                self.sent_messages += 1
                if self._on_sent is not None:
                    self._on_sent(SentMessage(now, claimed.id, claimed.room_id, claimed.group_name, claimed.slug,
                                              index + 1, total, parts[index]))
                if index + 1 == total:
                    self._finish(claimed.id, status=ob.SENT, parts_sent=total, sent_at=now, member_count=member_count,
                                 next_attempt_at=None, last_error=None)
                else:
                    self._finish(claimed.id, parts_sent=index + 1)
                continue
            if result.uncertain:  # may have been posted: never resend automatically
                self._finish(claimed.id, status=ob.UNKNOWN, parts_sent=index, claimed_by=None,
                             last_error=result.error or "无法确定是否已发出，请人工确认")
                return ob.UNKNOWN
            if result.rate_limited:
                until = self.gate.pause(now)
                self._persist_pause(until)
                self._release(claimed, index, until, f"微信提示操作过于频繁，暂停到 {until.astimezone(self.tz):%m-%d %H:%M}")
                log.warning("rate limited: pausing account %s until %s", self.account, until)
                return "paused"
            if result.retryable and claimed.attempts < self.policy.max_attempts:
                delay = self.policy.retry_base_seconds * (1.75 ** (claimed.attempts - 1))
                delay *= 1 + self._rng.random() * 0.25
                self._finish(claimed.id, status=ob.PENDING, parts_sent=index, claimed_by=None,
                             next_attempt_at=now + timedelta(seconds=delay), last_error=result.error or "发送失败，稍后重试")
                return "retry"
            self._finish(claimed.id, status=ob.FAILED, parts_sent=index, claimed_by=None,
                         last_error=result.error or "发送失败")
            return ob.FAILED
        return ob.SENT
