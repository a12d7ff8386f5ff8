"""Default campaign plans: slots, content choice, idempotent apply, cancellation respected, past slots skipped."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from content.keydates import load_key_dates
from core.models import ContentItem, Push
from pufa.app import Database
from scheduler.calendar import occurrences_in
from scheduler.planner import LibraryEntry, apply_plan, library_entries, plan_campaigns
from scheduler.queue import cancel_push
from tests.conftest import TZ

REGISTRY = load_key_dates()
LIBRARY = [
    LibraryEntry("const-a", "article", "宪法一", ("constitution-day", "constitution-week"), ("宪法法治",)),
    LibraryEntry("const-b", "article", "宪法二", ("constitution-week",), ("宪法法治",)),
    LibraryEntry("traffic-a", "article", "交通", ("traffic-safety-day",), ("交通事故",)),
    *[LibraryEntry(f"case-{n}", "case", f"案例{n}", ("constitution-week",), ("宪法法治",)) for n in range(8)],
]


def plan(year: int = 2026):  # type: ignore[no-untyped-def]
    return plan_campaigns(occurrences_in(REGISTRY, [], year, pufa_month=11), LIBRARY, TZ)


def test_constitution_week_has_a_notice_a_main_article_and_a_case_every_evening() -> None:
    week = [p for p in plan() if datetime(2026, 11, 27, tzinfo=TZ) <= p.due_at < datetime(2026, 12, 8, tzinfo=TZ)]
    notice = next(p for p in week if p.key == "constitution-week" and p.role == "notice")
    assert notice.due_at == datetime(2026, 11, 28, 12, 0, tzinfo=TZ) and notice.slug == "notice-constitution-week-2026"
    evenings = [p for p in week if p.role == "case"]
    assert [p.due_at.day for p in evenings] == [1, 2, 3, 4, 5, 6, 7]
    assert all(p.due_at.hour == 19 and p.due_at.minute == 30 for p in evenings)
    assert len({p.slug for p in evenings}) == 7 and all(p.slug for p in evenings)
    day = next(p for p in week if p.key == "constitution-day" and p.role == "article")
    assert (day.slug, day.due_at) == ("const-a", datetime(2026, 12, 4, 9, 0, tzinfo=TZ))  # its first key date
    assert next(p for p in week if p.key == "traffic-safety-day" and p.role == "article").slug == "traffic-a"
    times = [p.due_at for p in plan()]
    assert len(times) == len(set(times))  # two items never share a minute


def test_the_plan_is_deterministic_and_reports_gaps() -> None:
    first, second = plan(), plan()
    assert [p.to_json() for p in first] == [p.to_json() for p in second]
    gaps = [p for p in first if p.slug is None]
    assert any(p.key == "anti-drug-day" for p in gaps)  # nothing in this library for 6·26


def seed_content(db: Database, now: datetime) -> None:
    with db.sessions.begin() as session:
        for entry in LIBRARY:
            session.add(ContentItem(slug=entry.slug, kind=entry.kind, title=entry.title, key_dates=",".join(entry.key_dates),
                                    tags=",".join(entry.tags), data={}, checksum="", reviewed=None, imported_at=now))


def test_apply_is_idempotent_skips_the_past_and_respects_cancellation(db: Database) -> None:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
    seed_content(db, now)
    with db.sessions() as session:
        entries = library_entries(session)
    planned = plan_campaigns(occurrences_in(REGISTRY, [], 2026, pufa_month=11), entries, TZ)
    future = [p for p in planned if p.slug and p.due_at > now]
    with db.sessions.begin() as session:
        report = apply_plan(session, planned, now)
    assert report.added == len(future) and report.past > 0 and report.gaps > 0
    with db.sessions.begin() as session:
        again = apply_plan(session, planned, now)
    assert (again.added, again.existing) == (0, len(future))
    with db.sessions.begin() as session:
        first = session.scalars(select(Push).order_by(Push.due_at)).first()
        assert first is not None
        cancel_push(session, first.id, now)
    with db.sessions.begin() as session:
        assert apply_plan(session, planned, now + timedelta(minutes=1)).added == 0
        assert session.scalar(select(Push).where(Push.id == first.id)).status == "cancelled"  # type: ignore[union-attr]
        notices = session.scalars(select(ContentItem).where(ContentItem.kind == "notice")).all()
        assert {n.slug for n in notices} >= {"notice-constitution-week-2026", "notice-constitution-day-2026"}
        assert all(n.data["laws"] for n in notices)


def test_plans_for_two_years_share_the_occurrence_across_the_boundary(db: Database) -> None:
    """春节前根治欠薪 2028 starts in December 2027: planning 2027 and then 2028 queues its slots once."""
    now = datetime(2027, 1, 1, 0, 0, tzinfo=TZ)
    seed_content(db, now)
    with db.sessions.begin() as session:
        entries = library_entries(session)
        plan_2027 = plan_campaigns(occurrences_in(REGISTRY, [], 2027, pufa_month=11), entries, TZ)
        plan_2028 = plan_campaigns(occurrences_in(REGISTRY, [], 2028, pufa_month=11), entries, TZ)
        apply_plan(session, plan_2027, now)
        added = apply_plan(session, plan_2028, now)
        keys = set(session.scalars(select(Push.plan_key)))
    assert "wage-arrears-campaign:2028:notice:0" in keys
    assert added.existing >= 1


def test_the_shipped_library_fills_every_required_slot_for_three_years() -> None:
    """Every notice, key-date article and evening case of 2026-2028 has content: no "内容库里没有" in a plan."""
    from pufa.library import load_library

    library = load_library({"bot_name": "普法助手", "sifasuo": "青山镇司法所", "township": "青山镇",
                            "help_line": "", "trigger": "普法"})
    kinds = {**{a.slug: "article" for a in library.articles}, **{c.slug: "case" for c in library.cases}}
    entries = [LibraryEntry(item.slug, kinds[item.slug], item.title, item.key_dates, item.tags) for item in library.items]
    for year in (2026, 2027, 2028):
        planned = plan_campaigns(occurrences_in(REGISTRY, [], year, pufa_month=11), entries, TZ)
        assert [(p.key, p.role, f"{p.due_at:%m-%d}") for p in planned if p.slug is None] == [], year
