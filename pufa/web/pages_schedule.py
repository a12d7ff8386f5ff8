"""排期日历 (month view, queue, cancel, apply a key date's suggested plan), 内容库 (list, search, preview),
群管理 and 发送队列. Each handler opens a session from the shared factory, calls services, renders."""

import calendar as month_calendar
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from content.drafts import is_console_item
from content.keydates import load_key_dates
from content.store import get_item, list_items
from core import groups as group_registry
from core.clock import Clock
from core.errors import NotFoundError, UserError
from core.settings import Settings
from core.text import MAX_MESSAGE_CHARS
from pufa.app import Database
from pufa.qa_wiring import template_globals
from pufa.web import accounts
from pufa.web.accounts import StaffUser
from scheduler import outbox
from scheduler.calendar import custom_rows, merged_registry, occurrences_in
from scheduler.planner import apply_plan, library_entries, plan_campaigns
from scheduler.queue import PUSH_STATUS_LABELS, add_push, cancel_push, list_pushes, parse_local_time
from scheduler.rendering import ContentRenderer

KIND_LABELS = {"article": "文章", "case": "案例", "notice": "预告"}
OUTBOX_ATTENTION = ("failed", "unknown", "expired")


def _month_start(text: str, today: date) -> date:
    text = (text or "").strip()
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        return date(today.year, today.month, 1)


def _weeks(first: date) -> list[list[date | None]]:
    return [[date(first.year, first.month, d) if d else None for d in week]
            for week in month_calendar.Calendar(firstweekday=0).monthdayscalendar(first.year, first.month)]


def targets_from_form(mode: str, tag: str, group_ids: list[str]) -> str:
    """The queue's target spec from the form's radio buttons: all | tag:X | 1,2."""
    if mode == "tag":
        if not tag.strip():
            raise UserError("请选择一个标签")
        return f"tag:{tag.strip()}"
    if mode == "groups":
        chosen = [g for g in group_ids if g.strip().isdigit()]
        if not chosen:
            raise UserError("请至少勾选一个群")
        return ",".join(chosen)
    return "all"


def register(app: FastAPI, *, render: Any, settings: Settings, db: Database, clock: Clock, staff: Any,
             editor: Any) -> None:
    tz = settings.tz
    Staff = Annotated[StaffUser, Depends(staff)]
    Editor = Annotated[StaffUser, Depends(editor)]
    renderer = ContentRenderer(template_globals(settings))

    def group_labels(session: Any) -> dict[int, str]:
        return {g.id: g.name or g.room_id for g in group_registry.list_groups(session)}

    def describe_targets(spec: str, labels: dict[int, str]) -> str:
        if spec in {"all", "全部"}:
            return "全部群"
        if spec.startswith("tag:"):
            return f"标签：{spec[4:]}"
        return "、".join(labels.get(int(p), p) if p.strip().isdigit() else p for p in spec.split(","))

    # -- 排期日历 -------------------------------------------------------------------------------
    def calendar_page(request: Request, user: StaffUser, month: str, day: str, slug: str, error: str = "",
                      form: dict[str, Any] | None = None, status_code: int = 200) -> Response:
        local = clock.now().astimezone(tz)
        first = _month_start(month, local.date())
        last = date(first.year, first.month, month_calendar.monthrange(first.year, first.month)[1])
        start = datetime(first.year, first.month, 1, tzinfo=tz)
        end = datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1)
        with db.sessions() as session:
            rows = custom_rows(session)
            registry = merged_registry(load_key_dates(), rows)
            occs = [o for o in occurrences_in(registry, rows, first.year, pufa_month=settings.pufa_month)
                    if o.start <= last and o.end >= first]
            labels = group_labels(session)
            pushes = [
                {"id": p.id, "due_at": p.due_at, "day": p.due_at.astimezone(tz).date(), "title": p.content.title,
                 "slug": p.content.slug, "kind": p.content.kind, "targets": describe_targets(p.targets, labels),
                 "status": p.status, "status_label": PUSH_STATUS_LABELS.get(p.status, p.status), "source": p.source}
                for p in list_pushes(session, include_done=True, since=start) if p.due_at < end
            ]
            items = [{"slug": i.slug, "title": i.title, "kind": i.kind, "keys": set(i.key_dates.split(","))}
                     for i in list_items(session) if i.kind in {"article", "case"}]
            groups = [{"id": g.id, "name": g.name or g.room_id, "village": g.village, "tags": g.tag_list}
                      for g in group_registry.list_groups(session, include_disabled=False)]
        tags = sorted({t for g in groups for t in g["tags"]})
        days = {}
        for week in _weeks(first):
            for d in week:
                if d is not None:
                    days[d] = {"keydates": [o.name for o in occs if o.start <= d <= o.end],
                               "pushes": [p for p in pushes if p["day"] == d]}
        chosen_day = form.get("day", day) if form else day
        try:
            on_day = date.fromisoformat(chosen_day) if chosen_day else None
        except ValueError:
            on_day = None
        day_keys = {o.key for o in occs if on_day and o.start <= on_day <= o.end}
        suggested = [i for i in items if i["keys"] & day_keys]
        day_names = [o.name for o in occs if o.key in day_keys]
        previous = (first - timedelta(days=1)).replace(day=1)
        following = last + timedelta(days=1)
        form = form or {}
        return render(request, "calendar.html", user, suggested=suggested, day_names=day_names, status_code=status_code, first=first, weeks=_weeks(first),
                      days=days, today=local.date(), occurrences=occs, items=items, groups=groups, tags=tags,
                      prev_month=f"{previous:%Y-%m}", next_month=f"{following:%Y-%m}", month=f"{first:%Y-%m}",
                      form_slug=form.get("slug", slug), form_day=form.get("day", day or ""),
                      form_time=form.get("time", "09:00"), form_mode=form.get("mode", "all"),
                      form_tag=form.get("tag", ""), form_groups=form.get("group_ids", []), error=error,
                      kind_labels=KIND_LABELS)

    @app.get("/calendar", response_class=HTMLResponse)
    def calendar_view(request: Request, user: Staff, month: str = "", day: str = "", slug: str = "") -> Response:
        return calendar_page(request, user, month or day[:7], day, slug)

    @app.post("/queue")
    def queue_add(request: Request, user: Editor, slug: Annotated[str, Form()] = "",
                  day: Annotated[str, Form()] = "", time: Annotated[str, Form()] = "09:00",
                  mode: Annotated[str, Form()] = "all", tag: Annotated[str, Form()] = "",
                  group_ids: Annotated[list[str], Form()] = []) -> Response:  # noqa: B006 - FastAPI copies defaults
        now = clock.now()
        form = {"slug": slug, "day": day, "time": time, "mode": mode, "tag": tag, "group_ids": group_ids}
        try:
            if not slug:
                raise UserError("请选择要推送的文章或案例")
            targets = targets_from_form(mode, tag, group_ids)
            due = parse_local_time(f"{day} {time}", tz)
            with db.sessions.begin() as session:
                push = add_push(session, slug=slug, due_at=due, targets=targets, now=now)
                accounts.record_audit(session, actor=user.name, action="push.add", now=now, target=f"推送 {push.id}",
                                      detail=f"{slug} {due.astimezone(tz):%Y-%m-%d %H:%M} → {targets}")
        except UserError as exc:
            return calendar_page(request, user, day[:7], day, slug, error=exc.message, form=form, status_code=400)
        return RedirectResponse(f"/calendar?month={due.astimezone(tz):%Y-%m}&msg=queued", status_code=303)

    @app.post("/queue/{push_id}/cancel")
    def queue_cancel(push_id: int, user: Editor, month: Annotated[str, Form()] = "") -> Response:
        now = clock.now()
        with db.sessions.begin() as session:
            _push, rows = cancel_push(session, push_id, now)
            accounts.record_audit(session, actor=user.name, action="push.cancel", now=now, target=f"推送 {push_id}",
                                  detail=f"取消待发送消息 {rows} 条")
        back = month if len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit() else ""
        return RedirectResponse(f"/calendar?month={back}&msg=cancelled", status_code=303)

    @app.post("/calendar/plan")
    def plan_apply(user: Editor, key: Annotated[str, Form()] = "", year: Annotated[int, Form()] = 0,
                   mode: Annotated[str, Form()] = "all", tag: Annotated[str, Form()] = "") -> Response:
        now = clock.now()
        targets = targets_from_form(mode, tag, [])
        with db.sessions.begin() as session:
            group_registry.resolve_targets(session, targets)
            rows = custom_rows(session)
            registry = merged_registry(load_key_dates(), rows)
            entries = library_entries(session)
            if not entries:
                raise UserError("数据库里还没有内容，请先导入内容库（pufa content import）")
            occs = occurrences_in(registry, rows, year, pufa_month=settings.pufa_month) if year else []
            planned = [p for p in plan_campaigns(occs, entries, tz) if p.key == key and p.occurrence.year == year]
            if not planned:
                raise UserError("这个节点没有可应用的推荐计划")
            report = apply_plan(session, planned, now, targets=targets)
            accounts.record_audit(session, actor=user.name, action="plan.apply", now=now, target=f"{key} {year}",
                                  detail=f"新增 {report.added}，已存在 {report.existing}，已过 {report.past}，缺内容 {report.gaps}")
        month = f"{planned[0].due_at.astimezone(tz):%Y-%m}"
        return RedirectResponse(f"/calendar?month={month}&msg=planned", status_code=303)

    # -- 内容库 ---------------------------------------------------------------------------------
    @app.get("/content", response_class=HTMLResponse)
    def content_list(request: Request, user: Staff, q: str = "", kind: str = "") -> Response:
        kind = kind if kind in KIND_LABELS else ""
        words = q.strip().lower()
        with db.sessions() as session:
            items = [
                {"slug": i.slug, "title": i.title, "kind": i.kind, "key_dates": i.key_dates.replace(",", "、"),
                 "tags": i.tags.replace(",", "、")}
                for i in list_items(session, kind or None)
                if not words or words in f"{i.slug} {i.title} {i.tags} {i.key_dates}".lower()
            ]
        return render(request, "content.html", user, items=items, q=q, kind=kind, kind_labels=KIND_LABELS)

    @app.get("/content/{slug}", response_class=HTMLResponse)
    def content_preview(request: Request, user: Staff, slug: str) -> Response:
        with db.sessions() as session:
            try:
                item = get_item(session, slug)
            except NotFoundError:
                return render(request, "error.html", user, status_code=404, error=f"内容库里没有“{slug[:80]}”")
            parts = renderer.render(item.kind, item.title, item.data)
            info = {"slug": item.slug, "title": item.title, "kind": item.kind, "key_dates": item.key_dates,
                    "tags": item.tags, "console": is_console_item(item)}
        return render(request, "content_preview.html", user, item=info, parts=parts, limit=MAX_MESSAGE_CHARS,
                      kind_labels=KIND_LABELS)

    # -- 群管理 ---------------------------------------------------------------------------------
    @app.get("/groups", response_class=HTMLResponse)
    def groups_page(request: Request, user: Staff) -> Response:
        with db.sessions() as session:
            groups = [{"id": g.id, "name": g.name, "room_id": g.room_id, "village": g.village, "tags": g.tag_list,
                       "members": g.member_count, "enabled": g.enabled} for g in group_registry.list_groups(session)]
        return render(request, "groups.html", user, groups=groups)

    @app.post("/groups/{group_id}/edit")
    def groups_edit(request: Request, group_id: int, user: Editor, name: Annotated[str, Form()] = "",
                    village: Annotated[str, Form()] = "", tags: Annotated[str, Form()] = "",
                    members: Annotated[str, Form()] = "") -> Response:
        now = clock.now()
        members = members.strip()
        if members and not members.isdigit():
            raise UserError("群成员人数要写数字")
        with db.sessions.begin() as session:
            group = group_registry.update_group(session, str(group_id), now=now, name=name, village=village,
                                                tags=group_registry.parse_tags(tags),
                                                member_count=int(members) if members else None)
            accounts.record_audit(session, actor=user.name, action="group.edit", now=now,
                                  target=f"群 {group.id} {group.name}"[:200],
                                  detail=f"村：{group.village}；标签：{group.tags}；人数：{group.member_count}")
        return RedirectResponse("/groups?msg=groupsaved", status_code=303)

    @app.post("/groups/{group_id}/toggle")
    def groups_toggle(group_id: int, user: Editor, enable: Annotated[str, Form()] = "") -> Response:
        now = clock.now()
        enabled = enable == "1"
        with db.sessions.begin() as session:
            group = group_registry.set_enabled(session, str(group_id), enabled, now)
            accounts.record_audit(session, actor=user.name, action="group.enable" if enabled else "group.disable",
                                  now=now, target=f"群 {group.id} {group.name}"[:200])
        return RedirectResponse("/groups?msg=" + ("enabled" if enabled else "disabled"), status_code=303)

    # -- 发送队列 -------------------------------------------------------------------------------
    @app.get("/outbox", response_class=HTMLResponse)
    def outbox_page(request: Request, user: Staff, status: str = "") -> Response:
        status = status if status in outbox.STATUS_LABELS else ""
        with db.sessions() as session:
            if status:
                found = outbox.list_outbox(session, status=status)
            else:
                found = [i for s in OUTBOX_ATTENTION for i in outbox.list_outbox(session, status=s)]
            rows = [{"id": i.id, "due_at": i.due_at, "group": i.group.name or i.group.room_id, "title": i.content.title,
                     "status": i.status, "label": outbox.STATUS_LABELS.get(i.status, i.status),
                     "parts_sent": i.parts_sent, "attempts": i.attempts, "error": i.last_error or ""}
                    for i in found]
        rows.sort(key=lambda r: r["due_at"], reverse=True)
        return render(request, "outbox.html", user, rows=rows, status=status, labels=outbox.STATUS_LABELS)

    @app.post("/outbox/{item_id}/retry")
    def outbox_retry(item_id: int, user: Editor) -> Response:
        now = clock.now()
        with db.sessions.begin() as session:
            outbox.retry_item(session, item_id, now)
            accounts.record_audit(session, actor=user.name, action="outbox.retry", now=now, target=f"发送记录 {item_id}")
        return RedirectResponse("/outbox?msg=retried", status_code=303)

    @app.post("/outbox/{item_id}/cancel")
    def outbox_cancel(item_id: int, user: Editor) -> Response:
        now = clock.now()
        with db.sessions.begin() as session:
            outbox.cancel_item(session, item_id, now)
            accounts.record_audit(session, actor=user.name, action="outbox.cancel", now=now, target=f"发送记录 {item_id}")
        return RedirectResponse("/outbox?msg=outboxcancelled", status_code=303)
