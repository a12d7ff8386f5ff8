"""Default campaign plans: for every key-date occurrence of a year, a notice three days before, the main article on
the day at 09:00 and a case in the evening at 19:30; through a campaign week one case every evening (and an article
every morning while the library has them); through a month, an article and a case every week.

Slots are filled from the library by matching key dates first, then tags. A plan is deterministic, so applying it
twice adds nothing the second time (`pushes.plan_key` is unique), and a push that staff cancelled is never
re-created.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import ContentItem, Push
from scheduler.calendar import Occurrence

NOTICE_DAYS_BEFORE = 3
NOTICE_TIME = time(12, 0)
ARTICLE_TIME = time(9, 0)
CASE_TIME = time(19, 30)
LONG_ARTICLE_DAYS = (0, 7, 14, 21)
LONG_CASE_DAYS = (3, 10, 17, 24)
SHAPE_PRIORITY = {"day": 0, "week": 1, "long": 2}
REUSE_AFTER_DAYS = 90
ROLE_LABELS = {"notice": "预告", "article": "文章", "case": "案例"}


@dataclass(frozen=True)
class LibraryEntry:
    slug: str
    kind: str  # article | case
    title: str
    key_dates: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class PlannedPush:
    plan_key: str
    due_at: datetime
    key: str
    key_name: str
    role: str  # notice | article | case
    slug: str | None  # None: the library has nothing for this slot
    title: str
    occurrence: Occurrence

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_key": self.plan_key, "time": self.due_at.isoformat(), "key": self.key, "name": self.key_name,
            "role": self.role, "slug": self.slug, "title": self.title,
        }


@dataclass
class ApplyReport:
    added: int = 0
    existing: int = 0
    past: int = 0
    gaps: int = 0
    push_ids: list[int] = field(default_factory=list)


def notice_slug(occ: Occurrence) -> str:
    return f"notice-{occ.key}-{occ.year}"


def library_entries(session: Session) -> list[LibraryEntry]:
    rows = session.execute(
        select(ContentItem.slug, ContentItem.kind, ContentItem.title, ContentItem.key_dates, ContentItem.tags)
        .where(ContentItem.kind.in_(("article", "case")))
        .order_by(ContentItem.slug)
    )
    return [
        LibraryEntry(slug, kind, title, tuple(k for k in keys.split(",") if k), tuple(t for t in tags.split(",") if t))
        for slug, kind, title, keys, tags in rows
    ]


def _matches(entry: LibraryEntry, occ: Occurrence, kind: str, rank: int) -> bool:
    """rank 0: the item's first key date is this one; 1: any of its key dates is; 2: it shares a tag."""
    if entry.kind != kind:
        return False
    if rank == 0:
        return bool(entry.key_dates) and entry.key_dates[0] == occ.key
    if rank == 1:
        return occ.key in entry.key_dates
    return bool(set(occ.tags) & set(entry.tags))


def _slots(occ: Occurrence) -> list[tuple[str, str, date, time, bool]]:
    """(role, index, day, time, required) for one occurrence, by its shape. An optional slot that finds no content
    is dropped quietly; a required one is reported as a gap."""
    slots: list[tuple[str, str, date, time, bool]] = [
        ("notice", "0", occ.start - timedelta(days=NOTICE_DAYS_BEFORE), NOTICE_TIME, True)
    ]
    if occ.shape == "day":
        slots += [("article", "0", occ.start, ARTICLE_TIME, True), ("case", "0", occ.start, CASE_TIME, True)]
    elif occ.shape == "week":
        for offset in range(occ.days):
            day = occ.start + timedelta(days=offset)
            slots += [("article", str(offset), day, ARTICLE_TIME, offset == 0), ("case", str(offset), day, CASE_TIME, True)]
    else:
        slots += [
            ("article", str(d), occ.start + timedelta(days=d), ARTICLE_TIME, d == LONG_ARTICLE_DAYS[0])
            for d in LONG_ARTICLE_DAYS if d < occ.days
        ]
        slots += [
            ("case", str(d), occ.start + timedelta(days=d), CASE_TIME, d == LONG_CASE_DAYS[0])
            for d in LONG_CASE_DAYS if d < occ.days
        ]
    return slots


def plan_campaigns(
    occurrences: Iterable[Occurrence], library: Sequence[LibraryEntry], tz: tzinfo
) -> list[PlannedPush]:
    """The default plan for these occurrences, deterministic for a given library.

    Two items never share a minute: when slots collide (国家宪法日 inside 宪法宣传周) the more specific key date
    owns the minute and the other fills it only if the first finds no content. Content is chosen in three passes
    over all slots — items whose first key date is this one, then any key-date match, then a shared tag — so an
    item goes to the date it was written for; no item is used twice in one plan."""
    ordered = sorted(occurrences, key=lambda o: (SHAPE_PRIORITY[o.shape], o.start, o.key))
    minutes: dict[datetime, list[tuple[Occurrence, str, str]]] = {}
    required: set[tuple[str, int, str, str]] = set()
    for occ in ordered:
        for role, index, day, at, needed in _slots(occ):
            minutes.setdefault(datetime.combine(day, at, tzinfo=tz), []).append((occ, role, index))
            if needed:
                required.add((occ.key, occ.year, role, index))
    chosen: dict[datetime, tuple[Occurrence, str, str, LibraryEntry | None]] = {}
    for due, candidates in minutes.items():
        occ, role, index = candidates[0]
        if role == "notice":
            chosen[due] = (occ, role, index, None)
    entries = sorted(library, key=lambda e: (len(e.key_dates), e.slug))
    used: dict[str, list[date]] = {}

    def free(entry: LibraryEntry, day: date, rank: int) -> bool:
        if rank < 3:
            return entry.slug not in used
        return all(abs((day - other).days) >= REUSE_AFTER_DAYS for other in used.get(entry.slug, []))

    # Ranks 0-2 never reuse an item; rank 3 lets a key-date match be used again months apart rather than leave a
    # campaign evening empty.
    for rank in (0, 1, 2, 3):
        for due, candidates in minutes.items():
            if due in chosen:
                continue
            for occ, role, index in candidates:
                if role == "notice":
                    continue
                pool = [
                    e for e in entries
                    if free(e, due.date(), rank) and _matches(e, occ, role, 1 if rank == 3 else rank)
                ]
                if rank != 2:
                    pool.sort(key=lambda e: (e.key_dates.index(occ.key), len(e.key_dates), e.slug))
                else:
                    pool.sort(key=lambda e: (-len(set(occ.tags) & set(e.tags)), bool(e.key_dates), e.slug))
                if pool:
                    used.setdefault(pool[0].slug, []).append(due.date())
                    chosen[due] = (occ, role, index, pool[0])
                    break
    planned: list[PlannedPush] = []
    for due, candidates in minutes.items():
        if due in chosen:
            occ, role, index, entry = chosen[due]
        else:
            occ, role, index = candidates[0]
            entry = None
            if (occ.key, occ.year, role, index) not in required:
                continue
        plan_key = f"{occ.key}:{occ.year}:{role}:{index}"
        if role == "notice":
            slug: str | None = notice_slug(occ)
            title = f"{occ.name}预告"
        else:
            slug, title = (entry.slug, entry.title) if entry else (None, "")
        planned.append(PlannedPush(plan_key, due, occ.key, occ.name, role, slug, title, occ))
    planned.sort(key=lambda p: (p.due_at, p.plan_key))
    return planned


def _ensure_notice(session: Session, item: PlannedPush, now: datetime, cache: dict[str, int]) -> int:
    slug = item.slug or ""
    if slug in cache:
        return cache[slug]
    occ = item.occurrence
    data = {
        "name": occ.name, "dates": occ.label(), "start": occ.start.isoformat(), "end": occ.end.isoformat(),
        "laws": list(occ.laws), "tags": list(occ.tags), "key_dates": [occ.key],
    }
    row = session.scalar(select(ContentItem).where(ContentItem.slug == slug))
    if row is None:
        row = ContentItem(
            slug=slug, kind="notice", title=item.title[:80], key_dates=occ.key, tags=",".join(occ.tags), data=data,
            checksum="", reviewed=None, imported_at=now,
        )
        session.add(row)
        session.flush()
    cache[slug] = row.id
    return row.id


def apply_plan(session: Session, planned: Sequence[PlannedPush], now: datetime, *, targets: str = "all") -> ApplyReport:
    """Queue every planned push that is not yet queued and still in the future. Idempotent."""
    report = ApplyReport()
    keys = [p.plan_key for p in planned]
    existing: set[str] = set()
    for chunk_start in range(0, len(keys), 500):
        chunk = keys[chunk_start : chunk_start + 500]
        existing.update(session.scalars(select(Push.plan_key).where(Push.plan_key.in_(chunk))))
    slugs = {p.slug for p in planned if p.slug and p.role != "notice"}
    content_ids: dict[str, int] = {}
    if slugs:
        rows = session.execute(select(ContentItem.slug, ContentItem.id).where(ContentItem.slug.in_(slugs)))
        content_ids = {slug: content_id for slug, content_id in rows}
    notices: dict[str, int] = {}
    for item in planned:
        if item.slug is None:
            report.gaps += 1
            continue
        if item.plan_key in existing:
            report.existing += 1
            continue
        if item.due_at <= now:
            report.past += 1
            continue
        if item.role == "notice":
            content_id = _ensure_notice(session, item, now, notices)
        else:
            content_id = content_ids.get(item.slug)
            if content_id is None:
                report.gaps += 1
                continue
        push = Push(
            content_id=content_id, due_at=item.due_at, targets=targets, source="plan", plan_key=item.plan_key,
            status="queued", note=f"{item.key_name}·{ROLE_LABELS[item.role]}"[:200], created_at=now,
        )
        session.add(push)
        report.added += 1
    session.flush()
    return report
