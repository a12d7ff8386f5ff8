"""The monthly report a township hands in: 汇总, 按类别, 按村/群, 按日 and 待跟进问题, from the query layer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import statistics as q
from core.categories import ALL_CATEGORIES
from reports.tables import DATE, DATETIME, INT, PERCENT, Chart, Column, Table, mask_personal

_T = TypeVar("_T")
STATUS_LABELS = {"answered": "已解答", "pending": "待跟进", "handled": "已跟进"}
EMPTY_NOTE = "本月没有咨询和推送记录，各项均为0。"


@dataclass(frozen=True)
class MonthlySummary:
    month: str
    person_times: int  # 咨询人次
    answered: int  # 人次 by current status
    pending: int
    handled: int
    records: int  # every question, repeats within 30 minutes included
    pending_questions: int  # questions (records) still pending: the rows of 待跟进问题
    pushes: int  # 推送篇次
    groups_reached: int  # 覆盖群数
    reach: int  # 覆盖人次

    @property
    def empty(self) -> bool:
        return self.records == 0 and self.pushes == 0


class MonthlyReport:
    """The month's tables. The aggregate tables are computed on their own database connection in a worker thread
    while a writer streams the 待跟进问题 rows (SQLite releases the GIL while it scans), so the session passed to
    `build_monthly_report` must stay open until the file is written."""

    def __init__(self, tables: list[Table], aggregates: Future[tuple[MonthlySummary, dict[str, list[list[object]]]]],
                 generated_at: datetime) -> None:
        self.tables = tables
        self._aggregates = aggregates
        self.generated_at = generated_at

    @property
    def summary(self) -> MonthlySummary:
        return self._aggregates.result()[0]


def _pct(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _in_own_session(session: Session, work: Callable[[Session], _T]) -> Future[_T]:
    """Run `work` on a separate session in a worker thread when the session is bound to an engine whose second
    connection sees the same committed data; otherwise (a bound connection, in-memory SQLite) run it here."""
    bind = session.get_bind()
    future: Future[_T] = Future()
    in_memory = isinstance(bind, Engine) and bind.url.get_backend_name() == "sqlite" and (
        bind.url.database in (None, "", ":memory:"))  # a second connection would open another, empty database
    if not isinstance(bind, Engine) or in_memory:
        future.set_result(work(session))
        return future

    def run() -> None:
        try:
            with Session(bind=bind) as own:
                future.set_result(work(own))
        except BaseException as exc:  # handed to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="monthly-report-aggregates", daemon=True).start()
    return future


def build_monthly_report(session: Session, month: str, tz: tzinfo, now: datetime) -> MonthlyReport:
    """All tables of one month; a malformed month raises UserError before anything runs."""
    start, end = q.month_bounds(month, tz)
    label = f"{start:%Y-%m}"
    aggregates = _in_own_session(session, lambda own: _aggregate_tables(own, start, end, label, tz, now))

    def deferred(name: str) -> Callable[[], list[list[object]]]:
        return lambda: aggregates.result()[1][name]

    def pending_rows():  # type: ignore[no-untyped-def]
        for p in q.iter_pending(session, start, end):
            yield [p.id, p.asked_at.astimezone(tz), p.category, p.group, mask_personal(p.question)]

    days = len(q.days_of(start, end))
    tables = [
        Table("汇总", [Column("项目", width=30), Column("数值", width=18)], deferred("汇总"), wrap_last=True),
        Table("按类别", [Column("类别", width=12), Column("咨询人次", INT, 10), Column("占比", PERCENT, 10),
                      Column("待跟进（人次）", INT, 14)], deferred("按类别")),
        Table("按村群", [Column("村", width=12), Column("群", width=20), Column("咨询人次", INT, 10),
                      Column("推送篇次", INT, 10), Column("覆盖人次", INT, 10)], deferred("按村群")),
        Table("按日", [Column("日期", DATE, 12), Column("咨询人次", INT, 10), Column("推送篇次", INT, 10)],
              deferred("按日"), chart=Chart(f"{label} 每日咨询人次与推送篇次", 0, (1, 2), days)),
        Table("待跟进问题", [Column("编号", INT, 8), Column("提问时间", DATETIME, 17), Column("类别", width=10),
                        Column("群", width=16), Column("问题", width=70)], pending_rows, wrap_last=True,
              stream_first=True),
    ]
    return MonthlyReport(tables, aggregates, now)


def _aggregate_tables(
    session: Session, start: datetime, end: datetime, label: str, tz: tzinfo, now: datetime
) -> tuple[MonthlySummary, dict[str, list[list[object]]]]:
    cells = q.consultation_cells(session, start, end)
    pushes = q.push_cells(session, start, end)
    groups = q.groups_by_id(session)

    counted = [c for c in cells if c.counted]
    by_status = {s: sum(c.records for c in counted if c.status == s) for s in STATUS_LABELS}
    summary = MonthlySummary(
        month=label,
        person_times=sum(c.records for c in counted),
        answered=by_status["answered"],
        pending=by_status["pending"],
        handled=by_status["handled"],
        records=sum(c.records for c in cells),
        pending_questions=sum(c.records for c in cells if c.status == "pending"),
        pushes=sum(p.sent for p in pushes),
        groups_reached=len({p.group_id for p in pushes if p.sent}),
        reach=sum(p.reach for p in pushes),
    )

    summary_rows: list[list[object]] = [
        ["统计月份", label],
        ["咨询人次", summary.person_times],
        ["其中：已解答（人次）", summary.answered],
        ["待跟进（人次）", summary.pending],
        ["已跟进（人次）", summary.handled],
        ["提问条数（含30分钟内同类追问）", summary.records],
        ["推送篇次", summary.pushes],
        ["覆盖群数", summary.groups_reached],
        ["覆盖人次", summary.reach],
        ["导出时间", now.astimezone(tz).strftime("%Y-%m-%d %H:%M")],
        ["统计口径", "同一人30分钟内同一类别的连续提问计1人次；覆盖人次按每次推送时的群成员数累加；不含任何个人信息。"],
    ]
    if summary.empty:
        summary_rows.append(["说明", EMPTY_NOTE])

    category_rows: list[list[object]] = []
    for category in ALL_CATEGORIES:
        person_times = sum(c.records for c in counted if c.category == category)
        pending = sum(c.records for c in counted if c.category == category and c.status == "pending")
        category_rows.append([category, person_times, _pct(person_times, summary.person_times), pending])
    category_rows.append(["合计", summary.person_times, 1.0 if summary.person_times else 0.0, summary.pending])

    group_rows: list[list[object]] = []
    for gid, group in groups.items():
        person_times = sum(c.records for c in counted if c.group_id == gid)
        sent = sum(p.sent for p in pushes if p.group_id == gid)
        reach = sum(p.reach for p in pushes if p.group_id == gid)
        if group.enabled or person_times or sent:
            group_rows.append([group.village or "—", group.name or group.room_id, person_times, sent, reach])
    private = sum(c.records for c in counted if c.group_id is None)
    if private:
        group_rows.append(["—", "私聊", private, 0, 0])
    group_rows.sort(key=lambda r: (str(r[0]) == "—", str(r[0]), str(r[1])))
    group_rows.append(["合计", "", summary.person_times, summary.pushes, summary.reach])

    per_day = q.person_times_by_day(session, start, end, tz)
    pushes_per_day = q.pushes_by_day(session, start, end, tz)
    days: list[date] = q.days_of(start, end)
    day_rows: list[list[object]] = [[d, per_day.get(d, 0), pushes_per_day.get(d, 0)] for d in days]
    day_rows.append(["合计", summary.person_times, summary.pushes])
    return summary, {"汇总": summary_rows, "按类别": category_rows, "按村群": group_rows, "按日": day_rows}
