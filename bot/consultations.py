"""Consultation records: every addressed legal question, with the 人次 counting rule.

Counting rule: the same sender asking in the same category within 30 minutes counts once (`counted=False` for the
repeats; the window starts at the question that was counted, so a long conversation counts once per half hour); a menu pick updates the consultation it belongs to instead of adding one. Senders are keyed hashes only.
Listing and counting live in core.statistics, the one query layer for the bot, CLI, exports and web console.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, UserError
from core.models import Consultation, PendingMenu

COUNT_WINDOW = timedelta(minutes=30)
MENU_TTL = timedelta(minutes=10)
STATUSES = ("answered", "pending", "handled")


def record_consultation(
    session: Session,
    *,
    asked_at: datetime,
    sender_hash: str,
    question: str,
    category: str,
    entry_id: str | None,
    score: float,
    status: str,
    group_id: int | None = None,
    chat_kind: str = "group",
) -> Consultation:
    if status not in STATUSES:
        raise ValueError(f"unknown consultation status {status}")
    repeat = session.scalar(
        select(func.count(Consultation.id)).where(
            Consultation.sender_hash == sender_hash,
            Consultation.category == category,
            Consultation.counted.is_(True),
            Consultation.asked_at > asked_at - COUNT_WINDOW,
            Consultation.asked_at <= asked_at,
        )
    )
    row = Consultation(
        asked_at=asked_at,
        group_id=group_id,
        chat_kind=chat_kind,
        sender_hash=sender_hash,
        question=question[:2000],
        category=category,
        entry_id=entry_id,
        score=float(score),
        status=status,
        counted=not repeat,
    )
    session.add(row)
    session.flush()
    return row


def offer_menu(
    session: Session, *, chat_hash: str, sender_hash: str, options: list[str], consultation_id: int, now: datetime
) -> PendingMenu:
    existing = session.scalar(
        select(PendingMenu).where(PendingMenu.chat_hash == chat_hash, PendingMenu.sender_hash == sender_hash)
    )
    if existing is not None:
        session.delete(existing)
        session.flush()
    menu = PendingMenu(
        chat_hash=chat_hash,
        sender_hash=sender_hash,
        options=list(options),
        consultation_id=consultation_id,
        created_at=now,
        expires_at=now + MENU_TTL,
    )
    session.add(menu)
    session.flush()
    return menu


def take_menu_choice(session: Session, *, chat_hash: str, sender_hash: str, choice: int, now: datetime) -> str | None:
    """The entry id picked from a live menu (and the menu is used up), or None if there is no such menu/option."""
    menu = session.scalar(
        select(PendingMenu).where(PendingMenu.chat_hash == chat_hash, PendingMenu.sender_hash == sender_hash)
    )
    if menu is None:
        return None
    if menu.expires_at <= now:
        session.delete(menu)
        return None
    if not 1 <= choice <= len(menu.options):
        return None
    entry_id = str(menu.options[choice - 1])
    if menu.consultation_id is not None:
        consultation = session.get(Consultation, menu.consultation_id)
        if consultation is not None:
            consultation.entry_id = entry_id
    session.delete(menu)
    return entry_id


def mark_handled(session: Session, consultation_id: int, note: str, now: datetime) -> Consultation:
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFoundError(f"找不到编号为 {consultation_id} 的咨询记录")
    if consultation.status != "pending":
        raise UserError(f"咨询 {consultation_id} 不是待跟进状态（当前：{consultation.status}）")
    note = note.strip()
    if not note or len(note) > 500:
        raise UserError("跟进说明不能为空，且不超过500字")
    consultation.status = "handled"
    consultation.handled_at = now
    consultation.handled_note = note
    return consultation
