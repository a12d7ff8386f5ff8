"""The push queue (table pushes): staff add, list and cancel; the clock's job expands due pushes into the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from content.store import get_item
from core import groups as group_registry
from core.errors import NotFoundError, UserError
from core.models import OutboxItem, Push

QUEUED, EXPANDED, CANCELLED = "queued", "expanded", "cancelled"
PUSH_STATUS_LABELS = {QUEUED: "待发", EXPANDED: "已排入发送队列", CANCELLED: "已取消"}


def parse_local_time(text: str, tz: tzinfo) -> datetime:
    """"2026-12-04 09:00" (or 2026-12-04T09:00) in the configured time zone → tz-aware datetime."""
    value = text.strip().replace("T", " ").replace("/", "-")
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d %H:%M")  # noqa: DTZ007 - the zone is attached just below
    except ValueError:
        raise UserError(f"时间“{text}”格式不对：写成 \"2026-12-04 09:00\"") from None
    return parsed.replace(tzinfo=tz)


def add_push(
    session: Session, *, slug: str, due_at: datetime, targets: str, now: datetime, note: str = ""
) -> Push:
    if due_at.tzinfo is None:
        raise ValueError("due_at must be tz-aware")
    item = get_item(session, slug)
    if item.kind not in {"article", "case"}:
        raise UserError(f"“{slug}”不是文章或案例")
    if due_at < now - timedelta(minutes=1):
        raise UserError("推送时间已经过去了，请写一个将来的时间")
    targets = (targets or "all").strip()
    group_registry.resolve_targets(session, targets)  # refuse unknown groups now, not at send time
    push = Push(content_id=item.id, due_at=due_at, targets=targets, source="manual", plan_key=None,
                status=QUEUED, note=note[:200], created_at=now)
    session.add(push)
    session.flush()
    return push


def list_pushes(session: Session, *, include_done: bool = False, since: datetime | None = None) -> list[Push]:
    query = select(Push).order_by(Push.due_at, Push.id)
    if not include_done:
        query = query.where(Push.status == QUEUED)
    if since is not None:
        query = query.where(Push.due_at >= since)
    return list(session.scalars(query))


def cancel_push(session: Session, push_id: int, now: datetime) -> tuple[Push, int]:
    """Cancel a push and every outbox row of it that has not been sent yet. Returns (push, rows cancelled)."""
    push = session.get(Push, push_id)
    if push is None:
        raise NotFoundError(f"找不到推送 {push_id}，可用 pufa queue list 查看")
    if push.status == CANCELLED:
        raise UserError(f"推送 {push_id} 已经取消过了")
    push.status = CANCELLED
    result = session.execute(
        update(OutboxItem)
        .where(OutboxItem.push_id == push_id, OutboxItem.status == "pending")
        .values(status="cancelled", updated_at=now, last_error="随推送一起取消")
    )
    session.flush()
    return push, int(result.rowcount or 0)  # type: ignore[attr-defined]
