"""The monthly report a township hands in: 汇总, 按类别, 按村/群, 按日 and 待跟进问题, from the query layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy.orm import Session

from core import statistics as q
from core.categories import ALL_CATEGORIES
from reports.tables import DATE, DATETIME, INT, PERCENT, Chart, Column, Table, mask_personal

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


@dataclass
class MonthlyReport:
    summary: MonthlySummary
    tables: list[Table]
    generated_at: datetime


def _pct(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def build_monthly_report(session: Session, month: str, tz: tzinfo, now: datetime) -> MonthlyReport:
    """All tables of one month. The 待跟进问题 rows stream from the database while a writer runs, so keep
    the session open until the file is written."""
    start, end = q.month_bounds(month, tz)
    label = f"{start:%Y-%m}"
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
    summary_table = Table("汇总", [Column("项目", width=30), Column("数值", width=18)], summary_rows, wrap_last=True)

    category_rows: list[list[object]] = []
    for category in ALL_CATEGORIES:
        person_times = sum(c.records for c in counted if c.category == category)
        pending = sum(c.records for c in counted if c.category == category and c.status == "pending")
        category_rows.append([category, person_times, _pct(person_times, summary.person_times), pending])
    category_rows.append(["合计", summary.person_times, 1.0 if summary.person_times else 0.0, summary.pending])
    category_table = Table(
        "按类别",
        [Column("类别", width=12), Column("咨询人次", INT, 10), Column("占比", PERCENT, 10),
         Column("待跟进（人次）", INT, 14)],
        category_rows,
    )

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
    group_table = Table(
        "按村群",
        [Column("村", width=12), Column("群", width=20), Column("咨询人次", INT, 10), Column("推送篇次", INT, 10),
         Column("覆盖人次", INT, 10)],
        group_rows,
    )

    per_day = q.person_times_by_day(session, start, end, tz)
    pushes_per_day = q.pushes_by_day(session, start, end, tz)
    days: list[date] = q.days_of(start, end)
    day_rows: list[list[object]] = [[d, per_day.get(d, 0), pushes_per_day.get(d, 0)] for d in days]
    day_rows.append(["合计", summary.person_times, summary.pushes])
    day_table = Table(
        "按日",
        [Column("日期", DATE, 12), Column("咨询人次", INT, 10), Column("推送篇次", INT, 10)],
        day_rows,
        chart=Chart(f"{label} 每日咨询人次与推送篇次", 0, (1, 2), len(days)),
    )

    def pending_rows():  # type: ignore[no-untyped-def]
        for p in q.iter_pending(session, start, end):
            yield [p.id, p.asked_at.astimezone(tz), p.category, p.group, mask_personal(p.question)]

    pending_table = Table(
        "待跟进问题",
        [Column("编号", INT, 8), Column("提问时间", DATETIME, 17), Column("类别", width=10), Column("群", width=16),
         Column("问题", width=70)],
        pending_rows,
        wrap_last=True,
    )
    return MonthlyReport(summary, [summary_table, category_table, group_table, day_table, pending_table], now)
