"""Read services for the console's lists: counted and limited in SQL, newest first, so a page stays fast on a
database with a million consultations. Take a Session, never commit."""

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.models import Consultation, Group
from core.statistics import ConsultationRow


def _conditions(start: datetime | None, end: datetime | None, category: str | None, status: str | None,
                group_id: int | None) -> list:  # type: ignore[type-arg]
    found = []
    if start is not None:
        found.append(Consultation.asked_at >= start)
    if end is not None:
        found.append(Consultation.asked_at < end)
    if category:
        found.append(Consultation.category == category)
    if status:
        found.append(Consultation.status == status)
    if group_id is not None:
        found.append(Consultation.group_id == group_id)
    return found


def latest_consultations(
    session: Session, *, start: datetime | None = None, end: datetime | None = None, category: str | None = None,
    status: str | None = None, group_id: int | None = None, limit: int = 500,
) -> tuple[int, list[ConsultationRow]]:
    """(how many match, the newest `limit` of them)."""
    where = and_(*_conditions(start, end, category, status, group_id)) if (start or end or category or status
                                                                          or group_id is not None) else None
    count = select(func.count(Consultation.id))
    rows = (select(Consultation, Group.name).outerjoin(Group, Consultation.group_id == Group.id)
            .order_by(Consultation.asked_at.desc(), Consultation.id.desc()).limit(limit))
    if where is not None:
        count, rows = count.where(where), rows.where(where)
    total = int(session.scalar(count) or 0)
    found = [
        ConsultationRow(id=c.id, asked_at=c.asked_at, group=name or ("私聊" if c.chat_kind == "private" else ""),
                        category=c.category, question=c.question, entry_id=c.entry_id, score=c.score,
                        status=c.status, counted=c.counted, handled_note=c.handled_note)
        for c, name in session.execute(rows)
    ]
    return total, found
