"""APScheduler 3.x is only the clock: a few jobs with stable ids that enqueue (expand due pushes into the outbox)
and wake the dispatcher. The database is the schedule, so the jobs live in the memory job store and are simply
re-registered at every start-up (`replace_existing=True`)."""

from __future__ import annotations

import logging
from datetime import timedelta, tzinfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from core.clock import Clock
from scheduler.dispatcher import Dispatcher
from scheduler.outbox import EXPAND_LOOKAHEAD, expand_due_pushes

log = logging.getLogger(__name__)

EXPAND_JOB_ID = "pufa-expand-due-pushes"
WAKE_JOB_ID = "pufa-wake-dispatcher"
MORNING_JOB_ID = "pufa-morning-wake"
MISFIRE_GRACE_SECONDS = 300


def expand_job(
    sessions: sessionmaker[Session], clock: Clock, account: str, lookahead: timedelta = EXPAND_LOOKAHEAD
) -> int:
    """The enqueue job: due pushes → outbox rows (idempotent). Also used by the rehearsal."""
    with sessions.begin() as session:
        return expand_due_pushes(session, clock.now(), account=account, lookahead=lookahead)


class SchedulingService:
    """Owns the APScheduler clock and the account's dispatcher; start/stop are symmetric."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        dispatcher: Dispatcher,
        clock: Clock,
        *,
        account: str,
        tz: tzinfo,
        expand_every_seconds: float = 30,
    ) -> None:
        self.sessions = sessions
        self.dispatcher = dispatcher
        self.clock = clock
        self.account = account
        self.tz = tz
        self.expand_every_seconds = expand_every_seconds
        self.scheduler: AsyncIOScheduler | None = None

    def expand_due(self) -> int:
        try:
            added = expand_job(self.sessions, self.clock, self.account)
        except Exception:  # a job never takes the bot down
            log.exception("expanding due pushes failed")
            return 0
        if added:
            log.info("queued %d outbox rows", added)
            self.dispatcher.wake()
        return added

    def register_jobs(self, scheduler: AsyncIOScheduler) -> None:
        quiet_end = self.dispatcher.policy.quiet[1]
        common = {"replace_existing": True, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS,
                  "max_instances": 1}
        scheduler.add_job(self.expand_due, IntervalTrigger(seconds=self.expand_every_seconds, timezone=self.tz),
                          id=EXPAND_JOB_ID, name="把到期的推送排入发送队列", **common)
        scheduler.add_job(self.dispatcher.wake, IntervalTrigger(minutes=1, timezone=self.tz),
                          id=WAKE_JOB_ID, name="唤醒发送器", **common)
        scheduler.add_job(self.dispatcher.wake, CronTrigger(hour=quiet_end.hour, minute=quiet_end.minute, timezone=self.tz),
                          id=MORNING_JOB_ID, name="免打扰结束后唤醒发送器", **common)

    async def start(self) -> None:
        await self.dispatcher.start()
        self.expand_due()
        self.scheduler = AsyncIOScheduler(timezone=self.tz)
        self.register_jobs(self.scheduler)
        self.scheduler.start()
        log.info("scheduler started for account %s", self.account)

    async def stop(self) -> None:
        """Stop the clock first (no new work), then drain the dispatcher (an in-flight send is finished and
        recorded)."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await self.dispatcher.stop()
        log.info("scheduler stopped")

    async def finish_due_work(self) -> None:
        """After the console runs out of input: send what is due right now, then return (never waits for later
        pushes, nor through quiet hours)."""
        await self.stop()
        self.dispatcher.resume()
        expand_job(self.sessions, self.clock, self.account, lookahead=timedelta(0))
        await self.dispatcher.run_until_idle()
