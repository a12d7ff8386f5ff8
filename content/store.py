"""The content_items table: all-or-nothing import of the library (articles and cases alike), look-ups.

Articles and cases are both accepted here structurally (`LibraryItem`): the case package must not be imported by
this one, and does not need to be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, ValidationProblems
from core.models import ContentItem


class LibraryItem(Protocol):
    slug: str
    kind: str
    title: str
    tags: tuple[str, ...]
    key_dates: tuple[str, ...]
    reviewed: date | None
    checksum: str

    def to_data(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StoredItem:
    """A content_items row read back as a LibraryItem (e.g. to copy the live library into a rehearsal)."""

    slug: str
    kind: str
    title: str
    tags: tuple[str, ...]
    key_dates: tuple[str, ...]
    reviewed: date | None
    checksum: str
    data: dict[str, Any]

    def to_data(self) -> dict[str, Any]:
        return dict(self.data)


def stored_library(session: Session) -> list[StoredItem]:
    """Every imported article and case, in the shape `import_items` takes."""
    rows = session.scalars(select(ContentItem).where(ContentItem.kind.in_(("article", "case"))))
    return [
        StoredItem(
            row.slug, row.kind, row.title, tuple(t for t in row.tags.split(",") if t),
            tuple(k for k in row.key_dates.split(",") if k), row.reviewed, row.checksum, dict(row.data),
        )
        for row in rows
    ]


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def import_items(session: Session, items: Sequence[LibraryItem], now: datetime) -> ImportReport:
    """Upsert every item by slug in the caller's transaction: the caller commits all of it or none of it."""
    slugs = [item.slug for item in items]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise ValidationProblems([f"slug 重复：{s}" for s in duplicates], "内容库有重复的 slug，未导入任何内容")
    existing = {row.slug: row for row in session.scalars(select(ContentItem))}
    report = ImportReport()
    for item in items:
        row = existing.get(item.slug)
        if row is not None and row.checksum == item.checksum and row.kind == item.kind:
            report.unchanged += 1
            continue
        values = {
            "kind": item.kind,
            "title": item.title,
            "key_dates": ",".join(item.key_dates),
            "tags": ",".join(item.tags),
            "data": item.to_data(),
            "checksum": item.checksum,
            "reviewed": item.reviewed,
            "imported_at": now,
        }
        if row is None:
            session.add(ContentItem(slug=item.slug, **values))
            report.added += 1
        else:
            for key, value in values.items():
                setattr(row, key, value)
            report.updated += 1
    session.flush()
    return report


def count_items(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ContentItem)) or 0


def list_items(session: Session, kind: str | None = None) -> list[ContentItem]:
    query = select(ContentItem).order_by(ContentItem.kind, ContentItem.slug)
    if kind:
        query = query.where(ContentItem.kind == kind)
    return list(session.scalars(query))


def get_item(session: Session, slug: str) -> ContentItem:
    item = session.scalar(select(ContentItem).where(ContentItem.slug == slug.strip()))
    if item is None:
        raise NotFoundError(f"内容库里没有“{slug}”，可用 pufa content list 查看（新文件需先 pufa content import）")
    return item
