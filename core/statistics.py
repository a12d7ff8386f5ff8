"""The one query layer for consultation and push statistics, used by the bot (#统计), the CLI, the exports
(reports/) and (later) the web console. It lives in core so every layer above can share it.

Counting rules (the figures a township reports):
- 咨询人次: consultations with `counted` (the same sender, same category, within 30 minutes counts once).
- 推送篇次: outbox rows `sent` in the period (one content item delivered to one group).
- 覆盖人次: the sum, over those rows, of the member count snapshot taken when the push was sent (falling back to the
  group's registered count for rows sent before snapshots existed).
Periods are half-open [start, end) in local time; every function takes a Session and never commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from core.errors import UserError
from core.models import Consultation, ContentItem, Group, OutboxItem, Push

SENT = "sent"
# On SQLite, reading a time range through ix_consultations_asked_at costs a table look-up per row; past about a
# third of the table a plain scan is faster (measured in benchmarks/reports.py: 2.8 s vs 1.0 s for 1M rows).
SCAN_SHARE = 1 / 3


def asked_column(session: Session, start: datetime, end: datetime) -> Any:
    """Consultation.asked_at as the queries over [start, end) should name it: on SQLite, when the period holds
    much of the table, behind a unary + that hides it from the index so the table is scanned (and sorted) instead
    of looked up row by row. PostgreSQL's planner decides on its own."""
    column: Any = Consultation.asked_at
    if session.get_bind().dialect.name != "sqlite":
        return column
    decided = session.info.setdefault("pufa_scan_periods", {})  # one decision per period and session
    if (start, end) not in decided:
        in_range = session.scalar(select(func.count()).where(column >= start, column < end)) or 0
        total = session.scalar(select(func.count(Consultation.id))) or 0 if in_range > 10_000 else 0
        decided[(start, end)] = in_range > 10_000 and in_range > SCAN_SHARE * total
    if decided[(start, end)]:
        column = UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)
    return column


def asked_between(session: Session, start: datetime, end: datetime) -> tuple[Any, Any]:
    column = asked_column(session, start, end)
    return column >= start, column < end


# -- periods ------------------------------------------------------------------------------------
def month_bounds(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """'2026-11' → [2026-11-01 00:00, 2026-12-01 00:00) in the local time zone."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", (month or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1970:
        raise UserError(f"月份“{month}”格式不对，应写成 2026-11 这样的“年-月”")
    year, mon = int(match.group(1)), int(match.group(2))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start, end


def parse_year(year: str | int) -> int:
    text = str(year).strip()
    if not re.fullmatch(r"\d{4}", text) or not 1970 <= int(text) <= 9998:
        raise UserError(f"年份“{year}”格式不对，应写成 2026 这样的四位数")
    return int(text)


def year_bounds(year: str | int, tz: tzinfo) -> tuple[datetime, datetime]:
    y = parse_year(year)
    return datetime(y, 1, 1, tzinfo=tz), datetime(y + 1, 1, 1, tzinfo=tz)


def days_of(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


# -- consultation listings ---------------------------------------------------------------------
@dataclass(frozen=True)
class ConsultationRow:
    id: int
    asked_at: datetime
    group: str
    category: str
    question: str
    entry_id: str | None
    score: float
    status: str
    counted: bool
    handled_note: str | None


def _chat_label(group_name: str | None, chat_kind: str) -> str:
    return group_name or ("私聊" if chat_kind == "private" else "")


def _listing(
    start: datetime | None, end: datetime | None, category: str | None, status: str | None, group_id: int | None = None
) -> Select:
    query = select(Consultation, Group.name).outerjoin(Group, Consultation.group_id == Group.id)
    conditions = []
    if start is not None:
        conditions.append(Consultation.asked_at >= start)
    if end is not None:
        conditions.append(Consultation.asked_at < end)
    if category:
        conditions.append(Consultation.category == category)
    if status:
        conditions.append(Consultation.status == status)
    if group_id is not None:
        conditions.append(Consultation.group_id == group_id)
    if conditions:
        query = query.where(and_(*conditions))
    return query.order_by(Consultation.asked_at, Consultation.id)


def list_consultations(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    category: str | None = None,
    status: str | None = None,
    group_id: int | None = None,
) -> list[ConsultationRow]:
    rows = []
    for consultation, group_name in session.execute(_listing(start, end, category, status, group_id)):
        rows.append(
            ConsultationRow(
                id=consultation.id,
                asked_at=consultation.asked_at,
                group=_chat_label(group_name, consultation.chat_kind),
                category=consultation.category,
                question=consultation.question,
                entry_id=consultation.entry_id,
                score=consultation.score,
                status=consultation.status,
                counted=consultation.counted,
                handled_note=consultation.handled_note,
            )
        )
    return rows


@dataclass(frozen=True)
class PendingQuestion:
    """A question staff still have to follow up, as exported: no sender, no WeChat id."""

    id: int
    asked_at: datetime
    category: str
    group: str
    question: str


def iter_pending(session: Session, start: datetime, end: datetime, batch: int = 5000) -> Iterator[PendingQuestion]:
    """Pending questions asked in the period, oldest first, streamed (a month can hold many)."""
    asked = asked_column(session, start, end)
    query = (
        select(Consultation.id, Consultation.asked_at, Consultation.category, Group.name, Consultation.chat_kind,
               Consultation.question)
        .outerjoin(Group, Consultation.group_id == Group.id)
        .where(asked >= start, asked < end, Consultation.status == "pending")
        .order_by(asked, Consultation.id)
        .execution_options(yield_per=batch)
    )
    for cid, asked_at, category, group_name, chat_kind, question in session.execute(query):
        yield PendingQuestion(cid, asked_at, category, _chat_label(group_name, chat_kind), question)


def count_person_times(session: Session, start: datetime, end: datetime) -> int:
    """解答法律咨询 N 人次 for a period, by the counting rule."""
    return int(
        session.scalar(
            select(func.count(Consultation.id)).where(*asked_between(session, start, end),
                                                      Consultation.counted.is_(True))
        )
        or 0
    )


# -- aggregates ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsultationCell:
    """One group of the consultation breakdown: how many records share these values."""

    category: str
    group_id: int | None
    chat_kind: str
    status: str
    counted: bool
    records: int


def consultation_cells(session: Session, start: datetime, end: datetime) -> list[ConsultationCell]:
    """Everything the totals, by-status, by-category and by-group tables need, in one grouped scan."""
    query = (
        select(Consultation.category, Consultation.group_id, Consultation.chat_kind, Consultation.status,
               Consultation.counted, func.count(Consultation.id))
        .where(*asked_between(session, start, end))
        .group_by(Consultation.category, Consultation.group_id, Consultation.chat_kind, Consultation.status,
                  Consultation.counted)
    )
    return [ConsultationCell(c, g, k, s, bool(n), int(r)) for c, g, k, s, n, r in session.execute(query)]


@dataclass(frozen=True)
class PushCell:
    group_id: int
    kind: str
    sent: int  # 推送篇次
    reach: int  # 覆盖人次


def push_cells(session: Session, start: datetime, end: datetime) -> list[PushCell]:
    """Sent outbox rows in the period by group and content kind, with the summed member-count snapshots."""
    members = func.coalesce(OutboxItem.member_count, Group.member_count, 0)
    query = (
        select(OutboxItem.group_id, ContentItem.kind, func.count(OutboxItem.id), func.coalesce(func.sum(members), 0))
        .join(Group, Group.id == OutboxItem.group_id)
        .join(ContentItem, ContentItem.id == OutboxItem.content_id)
        .where(OutboxItem.status == SENT, OutboxItem.sent_at >= start, OutboxItem.sent_at < end)
        .group_by(OutboxItem.group_id, ContentItem.kind)
    )
    return [PushCell(int(g), k, int(n), int(r)) for g, k, n, r in session.execute(query)]


def distinct_contents_sent(session: Session, start: datetime, end: datetime, kind: str) -> int:
    """以案说法 M 期: how many different items of this kind went out in the period."""
    return int(
        session.scalar(
            select(func.count(func.distinct(OutboxItem.content_id)))
            .join(ContentItem, ContentItem.id == OutboxItem.content_id)
            .where(OutboxItem.status == SENT, OutboxItem.sent_at >= start, OutboxItem.sent_at < end,
                   ContentItem.kind == kind)
        )
        or 0
    )


def _utc_hour(session: Session, column):  # type: ignore[no-untyped-def]
    """'YYYY-MM-DD HH' of a stored time in UTC, computed by the database (SQLite stores UTC text)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.substr(column, 1, 13)


def _by_local_day(rows, tz: tzinfo) -> dict[date, int]:  # type: ignore[no-untyped-def]
    """Fold hourly UTC buckets into local days (exact for whole-hour offsets such as China Standard Time)."""
    days: dict[date, int] = {}
    for bucket, count in rows:
        hour = datetime.strptime(str(bucket), "%Y-%m-%d %H").replace(tzinfo=UTC)
        day = hour.astimezone(tz).date()
        days[day] = days.get(day, 0) + int(count)
    return days


def person_times_by_day(session: Session, start: datetime, end: datetime, tz: tzinfo) -> dict[date, int]:
    bucket = _utc_hour(session, Consultation.asked_at)
    query = (
        select(bucket, func.count(Consultation.id))
        .where(*asked_between(session, start, end), Consultation.counted.is_(True))
        .group_by(bucket)
    )
    return _by_local_day(session.execute(query), tz)


def pushes_by_day(session: Session, start: datetime, end: datetime, tz: tzinfo) -> dict[date, int]:
    bucket = _utc_hour(session, OutboxItem.sent_at)
    query = (
        select(bucket, func.count(OutboxItem.id))
        .where(OutboxItem.status == SENT, OutboxItem.sent_at >= start, OutboxItem.sent_at < end)
        .group_by(bucket)
    )
    return _by_local_day(session.execute(query), tz)


def groups_by_id(session: Session) -> dict[int, Group]:
    return {g.id: g for g in session.scalars(select(Group).order_by(Group.id))}


def person_times_by_category(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    query = (
        select(Consultation.category, func.count(Consultation.id))
        .where(*asked_between(session, start, end), Consultation.counted.is_(True))
        .group_by(Consultation.category)
    )
    return {category: int(n) for category, n in session.execute(query)}


def person_times_by_period_category(
    session: Session, periods: list[tuple[datetime, datetime]]
) -> dict[tuple[int, str], int]:
    """人次 by (index of the period, category) for consecutive periods (e.g. the months of a year), in one scan:
    each row is put into its period by a CASE over the period ends."""
    if not periods:
        return {}
    start, end = periods[0][0], periods[-1][1]
    column = asked_column(session, start, end)
    bucket = case(*((column < p_end, index) for index, (_p_start, p_end) in enumerate(periods)), else_=-1)
    query = (
        select(bucket, Consultation.category, func.count(Consultation.id))
        .where(column >= start, column < end, Consultation.counted.is_(True))
        .group_by(bucket, Consultation.category)
    )
    return {(int(index), category): int(n) for index, category, n in session.execute(query)}


def keydate_pushes(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Campaign pushes (from `pufa plan`) that reached at least one group in the period, by key-date id."""
    query = (
        select(Push.plan_key)
        .where(Push.source == "plan", Push.plan_key.is_not(None))
        .where(
            select(OutboxItem.id)
            .where(OutboxItem.push_id == Push.id, OutboxItem.status == SENT, OutboxItem.sent_at >= start,
                   OutboxItem.sent_at < end)
            .exists()
        )
    )
    counts: dict[str, int] = {}
    for (plan_key,) in session.execute(query):
        key = str(plan_key).split(":", 1)[0]
        counts[key] = counts.get(key, 0) + 1
    return counts
