"""The outbox: one row per (content, group, time slot) with a unique idempotency key.

States: pending → sending → sent | failed | unknown | cancelled | expired. Only the dispatcher moves a row to
`sending` and out of it; staff move `unknown`/`failed`/`expired`/`cancelled` back to `pending` (retry) or cancel.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo

from sqlalchemy import Integer, String, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import groups as group_registry
from core.db import UTCDateTime
from core.errors import NotFoundError, UserError
from core.models import Group, OutboxItem, Push
from scheduler.queue import EXPANDED, QUEUED

PENDING, SENDING, SENT, FAILED, UNKNOWN, CANCELLED, EXPIRED = (
    "pending", "sending", "sent", "failed", "unknown", "cancelled", "expired",
)
STATUSES = (PENDING, SENDING, SENT, FAILED, UNKNOWN, CANCELLED, EXPIRED)
STATUS_LABELS = {
    PENDING: "待发送", SENDING: "发送中", SENT: "已发送", FAILED: "发送失败", UNKNOWN: "状态不明（需人工确认）",
    CANCELLED: "已取消", EXPIRED: "已过期（未补发）",
}
EXPAND_LOOKAHEAD = timedelta(minutes=2)


def idempotency_key(account: str, slug: str, room_id: str, due_at: datetime) -> str:
    """Same content, same group, same minute: the same row, however often a push is expanded."""
    return f"{account}|{slug}|{room_id}|{due_at.astimezone(UTC).strftime('%Y%m%dT%H%MZ')}"[:200]


def _insert(session: Session) -> object:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(OutboxItem)


def expand_due_pushes(
    session: Session, now: datetime, *, account: str, lookahead: timedelta = EXPAND_LOOKAHEAD
) -> int:
    """Turn queued pushes that are due (or due within `lookahead`) into outbox rows for their groups as they are
    now. Rows that already exist are left alone (ON CONFLICT DO NOTHING on the idempotency key). Returns rows added.

    One INSERT … SELECT per push: the rows are built inside the database, so 5,000 groups cost one statement."""
    pushes = list(
        session.scalars(
            select(Push).where(Push.status == QUEUED, Push.due_at <= now + lookahead).order_by(Push.due_at, Push.id)
        )
    )
    added = 0
    for push in pushes:
        where = [Group.enabled.is_(True)]
        if push.targets.strip() not in {"all", "全部"}:
            try:
                ids = [g.id for g in group_registry.resolve_targets(session, push.targets)]
            except UserError as exc:
                ids = []
                push.note = f"{push.note} 未找到目标群：{exc.message}"[:200]
            where.append(Group.id.in_(ids))
        prefix, suffix = idempotency_key(account, push.content.slug, "\x00", push.due_at).split("\x00")
        key = func.substr(literal(prefix, String) + Group.room_id + literal(suffix, String), 1, 200)
        source = select(
            literal(push.id, Integer), literal(push.content_id, Integer), Group.id, literal(account, String),
            literal(push.due_at, UTCDateTime()), key, literal(PENDING, String), literal(0, Integer),
            literal(0, Integer), literal(now, UTCDateTime()), literal(now, UTCDateTime()),
        ).where(*where)
        statement = _insert(session).from_select(  # type: ignore[attr-defined]
            ["push_id", "content_id", "group_id", "account", "due_at", "idempotency_key", "status", "attempts",
             "parts_sent", "created_at", "updated_at"],
            source,
        )
        statement = statement.on_conflict_do_nothing(index_elements=["idempotency_key"])
        added += len(session.execute(statement.returning(OutboxItem.id)).all())
        push.status = EXPANDED
    session.flush()
    return added


def next_push_due(session: Session) -> datetime | None:
    return session.scalar(select(Push.due_at).where(Push.status == QUEUED).order_by(Push.due_at).limit(1))


def list_outbox(session: Session, *, status: str | None = None, limit: int = 200) -> list[OutboxItem]:
    if status is not None and status not in STATUSES:
        raise UserError(f"状态只能是 {'、'.join(STATUSES)}")
    query = select(OutboxItem).order_by(OutboxItem.due_at, OutboxItem.id).limit(limit)
    if status:
        query = query.where(OutboxItem.status == status)
    return list(session.scalars(query))


def _get(session: Session, item_id: int) -> OutboxItem:
    item = session.get(OutboxItem, item_id)
    if item is None:
        raise NotFoundError(f"找不到发送记录 {item_id}，可用 pufa outbox list 查看")
    return item


def retry_item(session: Session, item_id: int, now: datetime) -> OutboxItem:
    """Staff decided: send it (again). From unknown/failed/expired/cancelled back to pending, due now."""
    item = _get(session, item_id)
    if item.status in {SENT, PENDING, SENDING}:
        raise UserError(f"发送记录 {item_id} 当前是“{STATUS_LABELS[item.status]}”，不能重发")
    item.status = PENDING
    item.due_at = now
    item.next_attempt_at = None
    item.attempts = 0
    item.claimed_by = None
    item.claimed_at = None
    item.last_error = None
    item.updated_at = now
    session.flush()
    return item


def cancel_item(session: Session, item_id: int, now: datetime) -> OutboxItem:
    item = _get(session, item_id)
    if item.status not in {PENDING, FAILED, UNKNOWN, EXPIRED}:
        raise UserError(f"发送记录 {item_id} 当前是“{STATUS_LABELS[item.status]}”，不能取消")
    item.status = CANCELLED
    item.updated_at = now
    session.flush()
    return item


def mark_stale_sending_unknown(session: Session, account: str, now: datetime) -> int:
    """At start-up: a row still in `sending` may or may not have gone out. Never re-send it automatically."""
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.status == SENDING, OutboxItem.account == account)
        .values(status=UNKNOWN, updated_at=now, last_error="发送过程中程序中断，无法确定是否已发出，请人工确认")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def in_quiet_hours(moment: datetime, quiet: tuple[time, time], tz: tzinfo) -> bool:
    start, end = quiet
    local = moment.astimezone(tz).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_end_after(moment: datetime, quiet: tuple[time, time], tz: tzinfo) -> datetime:
    """The first moment at or after `moment` outside quiet hours."""
    if not in_quiet_hours(moment, quiet, tz):
        return moment
    local = moment.astimezone(tz)
    candidate = datetime.combine(local.date(), quiet[1], tzinfo=tz)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def next_quiet_start(moment: datetime, quiet: tuple[time, time], tz: tzinfo) -> datetime:
    local = moment.astimezone(tz)
    candidate = datetime.combine(local.date(), quiet[0], tzinfo=tz)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def sendable_lateness(due: datetime, now: datetime, quiet: tuple[time, time], tz: tzinfo) -> timedelta:
    """How late an item is, not counting quiet hours (items due in the evening legitimately wait for morning)."""
    if now <= due:
        return timedelta(0)
    total = now - due
    cursor = due
    while cursor < now:
        if in_quiet_hours(cursor, quiet, tz):
            resume = min(quiet_end_after(cursor, quiet, tz), now)
            total -= resume - cursor
            cursor = resume
        else:
            cursor = min(next_quiet_start(cursor, quiet, tz), now)
    return total


def expire_overdue(
    session: Session, now: datetime, *, account: str, grace: timedelta, quiet: tuple[time, time], tz: tzinfo
) -> list[int]:
    """Pending rows later than the grace period (quiet hours not counted) become `expired`: reported, not sent."""
    candidates = session.scalars(
        select(OutboxItem).where(
            OutboxItem.status == PENDING, OutboxItem.account == account, OutboxItem.due_at < now - grace
        )
    )
    expired = []
    for item in candidates:
        if sendable_lateness(item.due_at, now, quiet, tz) > grace:
            item.status = EXPIRED
            item.updated_at = now
            item.last_error = f"超过应发时间 {grace.total_seconds() / 3600:g} 小时仍未发出，不再补发"
            expired.append(item.id)
    session.flush()
    return expired
