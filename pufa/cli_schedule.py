"""`pufa content|calendar|plan|queue|outbox|simulate`: the push side of the CLI. Thin: open a session, call a
service, print with rich; known problems are one Chinese line (UserError) or a problems list (ValidationProblems).

Registered in pufa/cli.py with `register(app)`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from core.errors import UserError

content_app = typer.Typer(help="内容库：检查、导入、预览普法文章和以案说法。", no_args_is_help=True)
calendar_app = typer.Typer(help="普法节点日历：查看某年的节点，添加本镇自己的节点，按年调整日期。")
plan_app = typer.Typer(help="推送计划：按节点生成某年的默认推送计划，审核后应用。")
queue_app = typer.Typer(help="推送队列：手动安排、查看、取消推送。", no_args_is_help=True)
outbox_app = typer.Typer(help="发送记录：查看每条消息的发送状态，重发或取消。", no_args_is_help=True)

ROLE_LABELS = {"notice": "预告", "article": "文章", "case": "案例"}
KIND_LABELS = {"article": "文章", "case": "案例", "notice": "预告"}


def _cli() -> Any:
    from pufa import cli

    return cli


def _globals() -> dict[str, Any]:
    from pufa.qa_wiring import template_globals

    return template_globals(_cli().settings())


def _print_json(rows: Any) -> None:
    _cli().out.print(json.dumps(rows, ensure_ascii=False, indent=2), markup=False)


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(_cli().settings().tz).strftime("%Y-%m-%d %H:%M")


def _year(year: int | None) -> int:
    if year is None:
        return _cli()._now().year
    if not 2000 <= year <= 2100:
        raise UserError("年份应在 2000 到 2100 之间")
    return year


# -- content ---------------------------------------------------------------------------------------
@content_app.command("check")
def content_check() -> None:
    """检查内容库的每个文件：头部格式、字段、节点、模板、标题长度。有问题时逐条列出（文件:行号）并返回非零。"""
    from core.errors import ValidationProblems
    from pufa.library import load_library

    library = load_library(_globals())
    if library.problems:
        raise ValidationProblems(
            [str(p) for p in library.problems], f"内容库检查未通过：共 {len(library.problems)} 个问题"
        )
    _cli().out.print(f"内容库检查通过：文章 {len(library.articles)} 篇，案例 {len(library.cases)} 个。")


def import_library(db: Any) -> tuple[Any, Any]:
    from content.store import import_items
    from pufa.library import load_library, require_clean

    library = require_clean(load_library(_globals()))
    with db.sessions.begin() as session:
        report = import_items(session, library.items, _cli()._now())
    return library, report


def import_starter_library_if_empty(db: Any) -> str:
    """For `pufa init`: a fresh database gets the starter library, so `make run` has content to push."""
    from content.store import count_items

    with db.sessions() as session:
        if count_items(session):
            return ""
    from core.errors import ValidationProblems

    try:
        library, report = import_library(db)
    except ValidationProblems as exc:  # init still succeeds; `pufa content check` lists the problems
        return f"注意：{exc.message}。请运行 pufa content check 查看。"
    return f"已导入内容库：文章 {len(library.articles)} 篇，案例 {len(library.cases)} 个（新增 {report.added}）。"


@content_app.command("import")
def content_import() -> None:
    """把内容库导入数据库：全部通过检查才导入，有任何问题则一条也不导入。"""
    db = _cli()._open_db()
    try:
        library, report = import_library(db)
    finally:
        db.dispose()
    _cli().out.print(
        f"已导入：文章 {len(library.articles)} 篇，案例 {len(library.cases)} 个"
        f"（新增 {report.added}，更新 {report.updated}，未变 {report.unchanged}）。"
    )


@content_app.command("list")
def content_list(
    kind: Annotated[str, typer.Option("--kind", help="只看某一类：article（文章）、case（案例）或 notice（预告）。")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """列出数据库里的内容（slug、类型、标题、节点、标签）。"""
    from content.store import list_items

    if kind and kind not in KIND_LABELS:
        raise UserError("--kind 只能是 article、case 或 notice")
    with _cli().session_scope() as session:
        rows = [
            {"slug": i.slug, "kind": i.kind, "title": i.title, "key_dates": [k for k in i.key_dates.split(",") if k],
             "tags": [t for t in i.tags.split(",") if t], "reviewed": i.reviewed.isoformat() if i.reviewed else None}
            for i in list_items(session, kind or None)
        ]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        _cli().out.print("数据库里还没有内容。用 pufa content import 导入内容库。")
        return
    table = Table("slug", "类型", "标题", "节点", "标签")
    for r in rows:
        table.add_row(r["slug"], KIND_LABELS.get(r["kind"], r["kind"]), r["title"], "、".join(r["key_dates"]), "、".join(r["tags"]))
    _cli().out.print(table)


@content_app.command("preview")
def content_preview(slug: Annotated[str, typer.Argument(help="文章或案例的 slug，例如 constitution-day-basics。")]) -> None:
    """按发送时的样子逐条显示一篇文章或案例（超过600字会分成几条并编号）。"""
    from content.store import get_item
    from core.errors import NotFoundError
    from pufa.library import load_library
    from scheduler.rendering import ContentRenderer

    renderer = ContentRenderer(_globals())
    with _cli().session_scope() as session:
        try:
            item = get_item(session, slug)
            parts = renderer.render(item.kind, item.title, item.data)
            source = ""
        except NotFoundError:
            library = load_library(_globals())
            found = next((i for i in library.items if i.slug == slug.strip()), None)
            if found is None:
                raise
            parts = renderer.render(found.kind, found.title, found.to_data())
            source = "（此内容还未导入数据库，以下按文件预览）"
    out = _cli().out
    if source:
        out.print(source)
    for number, part in enumerate(parts, 1):
        out.print(f"—— 第 {number}/{len(parts)} 条（{len(part)} 字）——")
        out.print(part, markup=False)
        out.print("")


# -- calendar --------------------------------------------------------------------------------------
def _occurrences(session: Any, year: int) -> list[Any]:
    """Every key-date occurrence of a year: built-in rules, staff dates and per-year overrides."""
    from content.keydates import load_key_dates
    from scheduler.calendar import custom_rows, occurrences_in

    return occurrences_in(load_key_dates(), custom_rows(session), year, pufa_month=_cli().settings().pufa_month)


@calendar_app.callback(invoke_without_command=True)
def calendar_show(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option("--year", "-y", help="年份，默认今年。")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """列出某年的全部普法节点：日期、名称、相关法律。"""
    if ctx.invoked_subcommand is not None:
        return
    chosen = _year(year)
    with _cli().session_scope() as session:
        occurrences = _occurrences(session, chosen)
    if as_json:
        _print_json([o.to_json() for o in occurrences])
        return
    table = Table("日期", "节点", "标识", "相关法律", title=f"{chosen} 年普法节点")
    for o in occurrences:
        when = o.start.isoformat() if o.start == o.end else f"{o.start.isoformat()} 至 {o.end.isoformat()}"
        note = "（本年已调整）" if o.overridden else ("（本镇）" if o.custom else "")
        table.add_row(when, o.name + note, o.key, "、".join(o.laws))
    _cli().out.print(table)


@calendar_app.command("add")
def calendar_add(
    key: Annotated[str, typer.Argument(help="节点标识：小写字母、数字和连字符，例如 village-fair。")],
    name: Annotated[str, typer.Option("--name", help="节点名称，例如 村规民约宣传日。")],
    start: Annotated[str, typer.Option("--date", "--from", help="日期：每年固定写 12-20，只办一次写 2026-12-20。")],
    end: Annotated[str, typer.Option("--to", help="结束日期（一段时间的节点才需要）。")] = "",
    year: Annotated[int | None, typer.Option("--year", help="只在这一年办（日期写成 12-20 时用）。")] = None,
    laws: Annotated[str, typer.Option("--laws", help="相关法律，逗号分隔，例如 民法典,村民委员会组织法。")] = "",
    tags: Annotated[str, typer.Option("--tags", help="标签，逗号分隔，用来从内容库挑选内容。")] = "",
) -> None:
    """添加本镇自己的普法节点（每年固定或只办一次）。"""
    from content.keydates import load_key_dates
    from core.groups import parse_tags
    from scheduler.calendar import add_custom_date

    law_list = [x.strip() for x in laws.replace("，", ",").split(",") if x.strip()]
    with _cli().session_scope(write=True) as session:
        row = add_custom_date(
            session, load_key_dates(), key=key, name=name, start=start, end=end, year=year,
            laws=law_list, tags=parse_tags(tags), now=_cli()._now(),
        )
        label = f"{row.name}（{row.key}）"
    _cli().out.print(f"已添加节点：{label}")


@calendar_app.command("override")
def calendar_override(
    key: Annotated[str, typer.Argument(help="要调整的节点标识，例如 constitution-week。")],
    year: Annotated[int, typer.Option("--year", help="调整哪一年。")],
    start: Annotated[str, typer.Option("--from", help="开始日期，例如 12-02 或 2026-12-02。")],
    end: Annotated[str, typer.Option("--to", help="结束日期，例如 12-08。")] = "",
) -> None:
    """按年调整节点日期（例如国家通知把宪法宣传周改到别的日子）。"""
    from content.keydates import load_key_dates
    from scheduler.calendar import set_override

    with _cli().session_scope(write=True) as session:
        row = set_override(session, load_key_dates(), key, _year(year), start, end, _cli()._now())
        text = f"已调整 {year} 年的{row.name}：{row.rule['start']} 至 {row.rule['end']}"
    _cli().out.print(text)


# -- plan ------------------------------------------------------------------------------------------
def _build_plan(session: Any, year: int) -> list[Any]:
    from scheduler.planner import library_entries, plan_campaigns

    entries = library_entries(session)
    if not entries:
        raise UserError("数据库里还没有内容，请先运行 pufa content import")
    return plan_campaigns(_occurrences(session, year), entries, _cli().settings().tz)


@plan_app.callback(invoke_without_command=True)
def plan_show(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option("--year", "-y", help="年份，默认今年。")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """显示某年的默认推送计划（只看不改），审核后用 pufa plan apply 应用。"""
    if ctx.invoked_subcommand is not None:
        return
    chosen = _year(year)
    with _cli().session_scope() as session:
        planned = _build_plan(session, chosen)
        from sqlalchemy import select

        from core.models import Push

        queued = {k: s for k, s in session.execute(select(Push.plan_key, Push.status).where(Push.plan_key.is_not(None)))}
    if as_json:
        _print_json([{**p.to_json(), "applied": queued.get(p.plan_key)} for p in planned])
        return
    table = Table("时间", "节点", "类型", "内容", "状态", title=f"{chosen} 年推送计划")
    for p in planned:
        content = f"{p.title}（{p.slug}）" if p.slug else "（内容库里没有合适的内容）"
        state = {"queued": "已排期", "expanded": "已排期", "cancelled": "已取消"}.get(queued.get(p.plan_key, ""), "未应用")
        table.add_row(_local(p.due_at), p.key_name, ROLE_LABELS[p.role], content, state)
    _cli().out.print(table)
    gaps = sum(1 for p in planned if p.slug is None)
    _cli().out.print(f"共 {len(planned)} 条，其中缺内容 {gaps} 条。确认无误后运行：pufa plan apply --year {chosen}")


@plan_app.command("apply")
def plan_apply(
    year: Annotated[int | None, typer.Option("--year", "-y", help="年份，默认今年。")] = None,
    groups: Annotated[str, typer.Option("--groups", help="推送到哪些群：all（全部）、tag:标签 或 群编号列表。")] = "all",
) -> None:
    """应用某年的推送计划：把还没排期的推送加入队列。可重复运行，不会重复添加，已取消的不会恢复。"""
    from core import groups as group_registry
    from scheduler.planner import apply_plan

    chosen = _year(year)
    with _cli().session_scope(write=True) as session:
        group_registry.resolve_targets(session, groups)
        report = apply_plan(session, _build_plan(session, chosen), _cli()._now(), targets=groups)
    _cli().out.print(
        f"{chosen} 年推送计划已应用：新增 {report.added} 条，已存在 {report.existing} 条，"
        f"时间已过 {report.past} 条，缺内容 {report.gaps} 条。"
    )


# -- queue -----------------------------------------------------------------------------------------
@queue_app.command("add")
def queue_add(
    slug: Annotated[str, typer.Argument(help="文章或案例的 slug。")],
    at: Annotated[str, typer.Option("--at", help="推送时间，例如 \"2026-12-04 09:00\"。")],
    groups: Annotated[str, typer.Option("--groups", help="推送到哪些群：all（全部）、tag:标签 或 群编号列表（如 1,2）。")] = "all",
) -> None:
    """手动安排一次推送。"""
    from scheduler.outbox import in_quiet_hours
    from scheduler.queue import add_push, parse_local_time

    s = _cli().settings()
    due = parse_local_time(at, s.tz)
    with _cli().session_scope(write=True) as session:
        push = add_push(session, slug=slug, due_at=due, targets=groups, now=_cli()._now())
        push_id = push.id
    _cli().out.print(f"已加入推送队列：编号 {push_id}，{_local(due)} 推送 {slug} 到 {groups}。")
    if in_quiet_hours(due, s.quiet_hours, s.tz):
        _cli().out.print(f"注意：这个时间在免打扰时段（{s.quiet_start}-{s.quiet_end}）内，会等到 {s.quiet_end} 以后再发。")


@queue_app.command("list")
def queue_list(
    show_all: Annotated[bool, typer.Option("--all", help="也显示已取消和已排入发送队列的推送。")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """列出推送队列。"""
    from scheduler.queue import PUSH_STATUS_LABELS, list_pushes

    with _cli().session_scope() as session:
        rows = [
            {"id": p.id, "time": p.due_at.isoformat(), "slug": p.content.slug, "title": p.content.title,
             "targets": p.targets, "source": p.source, "status": p.status, "note": p.note}
            for p in list_pushes(session, include_done=show_all)
        ]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        _cli().out.print("推送队列是空的。用 pufa queue add 或 pufa plan apply 安排推送。")
        return
    table = Table("编号", "时间", "内容", "目标群", "来源", "状态", "备注")
    for r in rows:
        table.add_row(str(r["id"]), _local(datetime.fromisoformat(r["time"])), f"{r['title']}（{r['slug']}）", r["targets"],
                      "计划" if r["source"] == "plan" else "手动", PUSH_STATUS_LABELS.get(r["status"], r["status"]), r["note"])
    _cli().out.print(table)


@queue_app.command("cancel")
def queue_cancel(push_id: Annotated[int, typer.Argument(help="推送编号（见 pufa queue list）。")]) -> None:
    """取消一次推送（还没发出的消息一并取消）。"""
    from scheduler.queue import cancel_push

    with _cli().session_scope(write=True) as session:
        _push, rows = cancel_push(session, push_id, _cli()._now())
    _cli().out.print(f"已取消推送 {push_id}" + (f"，并取消了 {rows} 条待发送消息。" if rows else "。"))


# -- outbox ----------------------------------------------------------------------------------------
@outbox_app.command("list")
def outbox_list(
    status: Annotated[str, typer.Option("--status", help="只看某种状态：pending、sending、sent、failed、unknown、cancelled、expired。")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000, help="最多显示多少条。")] = 200,
) -> None:
    """列出发送记录。状态为“状态不明”的需要人工确认群里是否已收到，再决定重发或取消。"""
    from scheduler.outbox import STATUS_LABELS, list_outbox

    with _cli().session_scope() as session:
        rows = [
            {"id": i.id, "due_at": i.due_at.isoformat(), "group": i.group.name or i.group.room_id,
             "slug": i.content.slug, "status": i.status, "parts_sent": i.parts_sent, "attempts": i.attempts,
             "sent_at": i.sent_at.isoformat() if i.sent_at else None, "member_count": i.member_count,
             "error": i.last_error}
            for i in list_outbox(session, status=status.strip() or None, limit=limit)
        ]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        _cli().out.print("没有符合条件的发送记录。")
        return
    table = Table("编号", "应发时间", "群", "内容", "状态", "已发段数", "尝试", "说明")
    for r in rows:
        table.add_row(str(r["id"]), _local(datetime.fromisoformat(r["due_at"])), r["group"], r["slug"],
                      STATUS_LABELS.get(r["status"], r["status"]), str(r["parts_sent"]), str(r["attempts"]), r["error"] or "")
    _cli().out.print(table)


@outbox_app.command("retry")
def outbox_retry(item_id: Annotated[int, typer.Argument(help="发送记录编号（见 pufa outbox list）。")]) -> None:
    """人工确认后重发一条发送记录（状态不明、失败、过期或已取消的）。"""
    from scheduler.outbox import retry_item

    with _cli().session_scope(write=True) as session:
        item = retry_item(session, item_id, _cli()._now())
        start = item.parts_sent
    extra = f"（从第 {start + 1} 段继续）" if start else ""
    _cli().out.print(f"已安排重发发送记录 {item_id}{extra}，机器人运行时会尽快发出。")


@outbox_app.command("cancel")
def outbox_cancel(item_id: Annotated[int, typer.Argument(help="发送记录编号（见 pufa outbox list）。")]) -> None:
    """取消一条还没发出的发送记录。"""
    from scheduler.outbox import cancel_item

    with _cli().session_scope(write=True) as session:
        cancel_item(session, item_id, _cli()._now())
    _cli().out.print(f"已取消发送记录 {item_id}。")


# -- simulate --------------------------------------------------------------------------------------
def _rehearsal_inputs() -> tuple[list[Any], list[dict[str, Any]], str]:
    """Content and staff dates from the real database when there is one (nothing is written to it), else the
    library files."""
    from sqlalchemy import select

    from content.store import stored_library
    from core.models import CustomKeyDate
    from pufa.library import load_library, require_clean

    s = _cli().settings()
    has_db = bool(s.database_url) or (s.data_dir / "pufa.db").exists()
    items: list[Any] = []
    dates: list[dict[str, Any]] = []
    if has_db:
        with _cli().session_scope() as session:
            items = list(stored_library(session))
            dates = [
                {"key": r.key, "year": r.year, "name": r.name, "rule": r.rule, "laws": r.laws, "tags": r.tags}
                for r in session.scalars(select(CustomKeyDate))
            ]
    if items:
        return items, dates, "数据库"
    return list(require_clean(load_library(_globals())).items), dates, "内容库文件"


def _parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"{option} 的日期“{value}”格式不对：写成 2026-12-01") from None


def simulate_command(
    start: Annotated[str, typer.Option("--from", help="演练开始日期，例如 2026-12-01。")],
    end: Annotated[str, typer.Option("--to", help="演练结束日期（不含当天），例如 2026-12-08。")],
    groups: Annotated[int, typer.Option("--groups", min=1, max=5000, help="模拟多少个村群。")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="每条消息输出一行 JSON（time、group、slug、text）。")] = False,
    seed: Annotated[int, typer.Option("--seed", help="随机间隔的种子（同一种子结果相同）。")] = 1,
) -> None:
    """推送演练：用虚拟时钟把计划、排期和发送完整跑一遍，列出每条消息的发送时间和群，几秒钟完成，不会真的发送。"""
    from content.keydates import load_key_dates
    from scheduler.dispatcher import SendPolicy
    from scheduler.rendering import ContentRenderer
    from scheduler.simulate import run_simulation

    s = _cli().settings()
    first, last = _parse_date(start, "--from"), _parse_date(end, "--to")
    if last <= first:
        raise UserError("--to 要晚于 --from")
    if last - first > timedelta(days=92):
        raise UserError("一次最多演练三个月")
    items, dates, source = _rehearsal_inputs()
    out = _cli().out
    tz = s.tz

    def show(message: Any) -> None:
        at = message.at.astimezone(tz)
        if as_json:
            out.print(json.dumps({"time": at.isoformat(), "group": message.group_name, "slug": message.slug,
                                  "text": message.text}, ensure_ascii=False), markup=False, soft_wrap=True)
        else:
            out.print(f"[{at:%Y-%m-%d %H:%M:%S}] 群【{message.group_name}】 {message.slug}（{message.part}/{message.parts}）",
                      markup=False)
            out.print(message.text + "\n", markup=False)

    policy = SendPolicy.from_settings(s)
    report = asyncio.run(
        run_simulation(
            start=first, end=last, group_count=groups, items=items, registry=load_key_dates(), custom_dates=dates,
            policy=policy, tz=tz, pufa_month=s.pufa_month, render=ContentRenderer(_globals()).render, seed=seed,
            on_sent=show,
        )
    )
    if as_json:
        return
    gap = report.min_gap_seconds
    quiet = report.in_quiet_hours(s.quiet_hours, tz)
    statuses = "，".join(f"{k} {v}" for k, v in sorted(report.statuses.items()))
    out.print(
        f"演练结束（内容来自{source}）：{first} 至 {last}，{groups} 个群，排期 {report.planned} 次推送，"
        f"发出 {len(report.messages)} 条消息；最小间隔 {'—' if gap is None else f'{gap:.0f} 秒'}"
        f"（设置的最短间隔 {s.pacing_min_seconds:g} 秒）；免打扰时段内 {len(quiet)} 条；发送记录：{statuses or '无'}。"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(content_app, name="content")
    app.add_typer(calendar_app, name="calendar")
    app.add_typer(plan_app, name="plan")
    app.add_typer(queue_app, name="queue")
    app.add_typer(outbox_app, name="outbox")
    app.command("simulate")(simulate_command)
