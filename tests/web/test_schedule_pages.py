"""排期日历, 内容库, 群管理, 发送队列: queue to chosen groups, cancel, apply a key date's plan, preview splits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from content.store import import_items
from core import groups as group_registry
from core.models import AuditLog, Group, OutboxItem, Push
from pufa.library import load_library
from pufa.qa_wiring import template_globals
from tests.web.conftest import csrf_of


def _library(db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    library = load_library(template_globals(settings))
    with db.sessions.begin() as session:
        import_items(session, library.items, clock.now())
        for room, name, tag in (("g1@chatroom", "一组", "山区"), ("g2@chatroom", "二组", "平原"),
                                ("g3@chatroom", "三组", "山区")):
            group_registry.add_group(session, room_id=room, name=name, village="青山村", tags=[tag],
                                     now=clock.now())


def test_queue_an_article_to_two_groups_and_see_it_on_the_calendar(admin, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    _library(db, clock, settings)
    page = admin.get("/calendar?day=2026-12-04&slug=constitution-day-basics")
    assert page.status_code == 200
    assert "国家宪法日" in page.text
    with db.sessions() as session:
        ids = [str(g.id) for g in session.scalars(select(Group).where(Group.name.in_(["一组", "二组"])))]
    response = admin.post("/queue", data={"csrf_token": csrf_of(page.text), "slug": "constitution-day-basics",
                                          "day": "2026-12-04", "time": "09:00", "mode": "groups", "group_ids": ids},
                          follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/calendar?month=2026-12&msg=queued"
    with db.sessions() as session:
        push = session.scalars(select(Push)).one()
        assert push.targets == ",".join(ids)
        assert push.due_at.astimezone(settings.tz).strftime("%m-%d %H:%M") == "12-04 09:00"
        assert session.scalars(select(AuditLog).where(AuditLog.action == "push.add")).one().actor == "张三"
    calendar = admin.get(response.headers["location"]).text
    assert "已加入推送队列" in calendar
    assert f'data-push="{push.id}"' in calendar and "一组、二组" in calendar

    cancel = admin.post(f"/queue/{push.id}/cancel", data={"csrf_token": csrf_of(calendar), "month": "2026-12"},
                        follow_redirects=False)
    assert cancel.status_code == 303
    with db.sessions() as session:
        assert session.get(Push, push.id).status == "cancelled"


def test_queue_form_errors_are_shown_next_to_the_form(admin, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    _library(db, clock, settings)
    token = csrf_of(admin.get("/calendar").text)
    for data, expected in [
        ({"slug": "", "day": "2026-12-04"}, "请选择要推送的文章或案例"),
        ({"slug": "constitution-day-basics", "day": "2026-11-01"}, "已经过去"),
        ({"slug": "constitution-day-basics", "day": "四号"}, "格式不对"),
        ({"slug": "constitution-day-basics", "day": "2026-12-04", "mode": "groups"}, "请至少勾选一个群"),
        ({"slug": "no-such-thing", "day": "2026-12-04"}, "no-such-thing"),
    ]:
        response = admin.post("/queue", data={"csrf_token": token, "time": "09:00", **data})
        assert response.status_code == 400, data
        assert expected in response.text, (data, expected)
        assert 'id="queue"' in response.text  # the form is shown again, with the message above it
    with db.sessions() as session:
        assert session.scalars(select(Push)).all() == []


def test_apply_the_suggested_plan_for_one_key_date(admin, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    _library(db, clock, settings)
    page = admin.get("/calendar?month=2026-12")
    response = admin.post("/calendar/plan", data={"csrf_token": csrf_of(page.text), "key": "constitution-day",
                                                  "year": "2026", "mode": "all"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    with db.sessions() as session:
        pushes = session.scalars(select(Push)).all()
        assert pushes and all(p.source == "plan" and "constitution-day" in (p.plan_key or "") for p in pushes)
    again = admin.post("/calendar/plan", data={"csrf_token": csrf_of(page.text), "key": "constitution-day",
                                               "year": "2026"}, follow_redirects=False)
    assert again.status_code == 303
    with db.sessions() as session:
        assert len(session.scalars(select(Push)).all()) == len(pushes)


def test_content_search_and_preview_shows_the_split(admin, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    _library(db, clock, settings)
    listing = admin.get("/content", params={"q": "宪法"}).text
    assert "constitution-day-basics" in listing and "drunk-driving" not in listing
    preview = admin.get("/content/constitution-day-basics")
    assert preview.status_code == 200
    assert "第 1/" in preview.text and 'class="bubble"' in preview.text
    assert admin.get("/content/nope").status_code == 404


def test_groups_enable_disable_and_outbox_retry_cancel(admin, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    _library(db, clock, settings)
    page = admin.get("/groups")
    assert "一组" in page.text and "山区" in page.text
    with db.sessions() as session:
        gid = session.scalars(select(Group.id).where(Group.name == "一组")).one()
    assert admin.post(f"/groups/{gid}/toggle", data={"csrf_token": csrf_of(page.text), "enable": "0"},
                      follow_redirects=False).status_code == 303
    with db.sessions() as session:
        assert session.get(Group, gid).enabled is False
        actions = [a.action for a in session.scalars(select(AuditLog))]
    assert "group.disable" in actions

    from content.store import get_item

    with db.sessions.begin() as session:
        item = get_item(session, "constitution-day-basics")
        now = clock.now()
        session.add(OutboxItem(content_id=item.id, group_id=gid, due_at=now - timedelta(hours=1),
                               idempotency_key="k-unknown", status="unknown", created_at=now, updated_at=now,
                               last_error="发送中断"))
    outbox_page = admin.get("/outbox")
    assert "状态不明" in outbox_page.text and "发送中断" in outbox_page.text
    with db.sessions() as session:
        oid = session.scalars(select(OutboxItem.id)).one()
    assert admin.post(f"/outbox/{oid}/retry", data={"csrf_token": csrf_of(outbox_page.text)},
                      follow_redirects=False).status_code == 303
    with db.sessions() as session:
        assert session.get(OutboxItem, oid).status == "pending"
    assert admin.post(f"/outbox/{oid}/cancel", data={"csrf_token": csrf_of(outbox_page.text)},
                      follow_redirects=False).status_code == 303
    with db.sessions() as session:
        assert session.get(OutboxItem, oid).status == "cancelled"


def test_a_day_suggests_the_content_written_for_its_key_dates(admin, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    _library(db, clock, settings)
    page = admin.get("/calendar?day=2026-12-04").text
    suggested = page.split('<optgroup label="适合', 1)[1].split("</optgroup>", 1)[0]
    assert "国家宪法日" in suggested.split('"', 1)[0]
    assert "constitution-day-basics" in suggested and "drunk-driving-is-a-crime" not in suggested
    assert '<optgroup label="适合' not in admin.get("/calendar?month=2026-12").text


def test_edit_a_groups_village_tags_and_members(admin, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    _library(db, clock, settings)
    with db.sessions() as session:
        gid = session.scalars(select(Group.id).where(Group.name == "一组")).one()
    token = csrf_of(admin.get("/groups").text)
    saved = admin.post(f"/groups/{gid}/edit", data={"csrf_token": token, "name": "一组<新>", "village": "柳树村",
                                                    "tags": "山区，重点", "members": "88"}, follow_redirects=False)
    assert saved.status_code == 303
    with db.sessions() as session:
        group = session.get(Group, gid)
        assert (group.name, group.village, group.tag_list, group.member_count, group.room_id) == (
            "一组<新>", "柳树村", ["山区", "重点"], 88, "g1@chatroom")
    page = admin.get(saved.headers["location"]).text
    assert "已保存群信息" in page and "一组&lt;新&gt;" in page
    for data, expected in [({"members": "很多"}, "要写数字"), ({"tags": "有 空格"}, "不合规")]:
        refused = admin.post(f"/groups/{gid}/edit", data={"csrf_token": token, "name": "一组", **data})
        assert refused.status_code == 400 and expected in refused.text
