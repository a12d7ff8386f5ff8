"""All tables. Times are stored as UTC and come back tz-aware (core.db.UTCDateTime)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.db import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Group(Base):
    """A village WeChat group the bot serves, identified by the stable room id (never by its name)."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    village: Mapped[str] = mapped_column(String(64), default="")
    tags: Mapped[str] = mapped_column(String(256), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    member_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


class ContentItem(Base):
    """An imported article or case; `data` holds every field the templates need."""

    __tablename__ = "content_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # article | case
    title: Mapped[str] = mapped_column(String(80))
    key_dates: Mapped[str] = mapped_column(String(256), default="")
    tags: Mapped[str] = mapped_column(String(256), default="")
    data: Mapped[dict[str, Any]]
    checksum: Mapped[str] = mapped_column(String(64))
    reviewed: Mapped[date | None] = mapped_column(Date, nullable=True)
    imported_at: Mapped[datetime]


class Push(Base):
    """A request to push one content item to a set of groups at a time (by staff or by the campaign plan)."""

    __tablename__ = "pushes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content_items.id"))
    due_at: Mapped[datetime]
    targets: Mapped[str] = mapped_column(String(512), default="all")  # all | tag:X | ids:1,2
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual | plan
    plan_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | cancelled
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]

    content: Mapped[ContentItem] = relationship()


class OutboxItem(Base):
    """One message-set to one group. States: pending → sending → sent | failed | unknown | cancelled | expired."""

    __tablename__ = "outbox"
    # The dispatcher claims "the oldest due pending row" (ORDER BY due_at, id LIMIT 1): with id in the index the
    # database reads the first match instead of sorting every pending row of a campaign (85,000 for 5,000 groups).
    __table_args__ = (Index("ix_outbox_status_due_id", "status", "due_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    push_id: Mapped[int | None] = mapped_column(ForeignKey("pushes.id"), nullable=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("content_items.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    account: Mapped[str] = mapped_column(String(64), default="default")
    due_at: Mapped[datetime]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    member_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    content: Mapped[ContentItem] = relationship()
    group: Mapped[Group] = relationship()


class AccountState(Base):
    """Per WeChat account: rate-limit pause and the staff's manual push pause."""

    __tablename__ = "account_state"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_until: Mapped[datetime | None] = mapped_column(nullable=True)
    pushes_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class Consultation(Base):
    """One addressed legal question. The sender is stored only as a keyed hash (HMAC), never the WeChat id."""

    __tablename__ = "consultations"
    __table_args__ = (
        Index("ix_consultations_asked_at", "asked_at"),
        Index("ix_consultations_sender_cat", "sender_hash", "category", "asked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asked_at: Mapped[datetime]
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    chat_kind: Mapped[str] = mapped_column(String(8), default="group")  # group | private
    sender_hash: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    entry_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="answered")  # answered | pending | handled
    counted: Mapped[bool] = mapped_column(Boolean, default=True)  # counts as one 人次
    handled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    handled_note: Mapped[str | None] = mapped_column(Text, nullable=True)

    group: Mapped[Group | None] = relationship()


class PendingMenu(Base):
    """A numbered menu offered to one asker in one chat; a reply "1"/"2" before `expires_at` picks an entry."""

    __tablename__ = "pending_menus"
    __table_args__ = (UniqueConstraint("chat_hash", "sender_hash", name="uq_pending_menus_chat_sender"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_hash: Mapped[str] = mapped_column(String(64))
    sender_hash: Mapped[str] = mapped_column(String(64))
    options: Mapped[list[Any]]
    consultation_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"), nullable=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class CustomKeyDate(Base):
    """A key date added by staff, or a per-year override of a built-in one (`year` set)."""

    __tablename__ = "custom_key_dates"
    __table_args__ = (UniqueConstraint("key", "year", name="uq_custom_key_dates_key_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str] = mapped_column(String(64))
    rule: Mapped[dict[str, Any]]
    laws: Mapped[list[Any]]
    tags: Mapped[list[Any]]
    created_at: Mapped[datetime]


class StaffAccount(Base):
    """A township staff member who logs in to the web console. Only the argon2 hash of the password is kept."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # admin | editor | viewer
    password_hash: Mapped[str] = mapped_column(String(256))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None] = mapped_column(nullable=True)


class StaffSession(Base):
    """A logged-in browser. The cookie carries a random token; only its SHA-256 is stored (a leaked table logs
    nobody in). `csrf_token` is the synchronizer token every form of this session must echo."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    staff: Mapped[StaffAccount] = relationship()


class AuditLog(Base):
    """Who changed what, when: content, schedule, group and account changes, and logins (failed ones feed the
    login rate limit)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
