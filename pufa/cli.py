"""The `pufa` command. Thin: open a session, call a service, print with rich, turn known errors into one line."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer._click import exceptions as click_errors  # typer 0.29 vendors click; pinned in pyproject

from core.errors import UserError, ValidationProblems
from core.logging_setup import setup_logging
from core.settings import Settings, load_settings
from pufa import __version__

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    name="pufa",
    help="普法助手：村级微信群普法推送、法律咨询解答与统计。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
groups_app = typer.Typer(help="管理村微信群（登记、列出、停用、启用）。", no_args_is_help=True)
db_app = typer.Typer(help="数据库维护。", no_args_is_help=True)
app.add_typer(groups_app, name="groups")
app.add_typer(db_app, name="db")

DEMO_GROUPS = [
    ("console-一组@chatroom", "一组", "青山村", "一组", 86),
    ("console-二组@chatroom", "二组", "青山村", "二组", 64),
    ("console-三组@chatroom", "三组", "柳树村", "三组", 112),
]


class State:
    """Settings read once per process, on first use."""

    settings: Settings | None = None


def settings() -> Settings:
    if State.settings is None:
        State.settings = load_settings()
    return State.settings


def _version(value: bool) -> None:
    if value:
        out.print(f"普法助手 pufa-bot {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", "-V", help="显示版本号后退出。", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """普法助手：村级微信群普法推送、法律咨询解答与统计。"""


def _groups() -> Any:
    """The group registry, imported on first use: it pulls in SQLAlchemy, which `pufa ask` does not need."""
    from core import groups

    return groups


def _now() -> datetime:
    return datetime.now(settings().tz)


def _open_db(migrate: bool = True) -> Any:
    from pufa.database import open_database  # light: no bot or scheduler imports

    return open_database(settings(), migrate=migrate)


@contextmanager
def session_scope(*, write: bool = False) -> Iterator[Any]:
    """One database session for a command: committed at the end when `write` (rolled back on an error), and the
    database closed either way."""
    db = _open_db()
    try:
        with db.sessions.begin() if write else db.sessions() as session:
            yield session
    finally:
        db.dispose()


# -- init / run / db ---------------------------------------------------------------------------
@app.command("init")
def init_command(
    demo: Annotated[bool, typer.Option("--demo", help="同时登记三个控制台演示群（一组、二组、三组）。")] = False,
) -> None:
    """初始化：创建数据目录，把数据库升级到最新结构。"""
    s = settings()
    s.data_dir.mkdir(parents=True, exist_ok=True)
    db = _open_db()
    try:
        with db.sessions.begin() as session:
            added = 0
            if demo:
                existing = {g.room_id for g in _groups().list_groups(session)}
                for room_id, name, village, tag, members in DEMO_GROUPS:
                    if room_id not in existing:
                        _groups().add_group(
                            session, room_id=room_id, name=name, village=village, tags=[tag],
                            member_count=members, now=_now(),
                        )
                        added += 1
            total = len(_groups().list_groups(session))
            from pufa.web.accounts import count_staff

            staff_accounts = count_staff(session)
        imported = cli_schedule.import_starter_library_if_empty(db)
    finally:
        db.dispose()
    if imported:
        out.print(imported)
    out.print(f"已初始化：数据库已是最新结构（{_safe_url(s)}），已登记群 {total} 个" + (f"（新增演示群 {added} 个）" if added else "") + "。")
    if not staff_accounts:
        out.print("网页控制台还没有账号：机器人运行时（make run 或 pufa run）会显示一个“首次设置”链接，用浏览器打开即可"
                  "创建管理员账号；也可以运行 .venv/bin/pufa staff add 您的名字 --role admin。", markup=False)


@app.command("run")
def run_command(
    transport: Annotated[str, typer.Option("--transport", "-t", help="消息通道：console（控制台模拟村群）或 wechaty（真实微信）。")] = "",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="输出调试日志。")] = False,
    no_web: Annotated[bool, typer.Option("--no-web", help="不同时启动网页控制台。")] = False,
) -> None:
    """启动机器人：接收群消息、解答咨询、按排期推送；同时在 http://127.0.0.1:8000 提供网页控制台。"""
    s = settings()
    chosen = (transport or s.transport).strip().lower()
    if chosen not in {"console", "wechaty"}:
        raise UserError(f"未知的消息通道“{chosen}”：只能是 console 或 wechaty")
    setup_logging(s.data_dir, s.log_level, verbose=verbose)
    db = _open_db()
    web = None
    if s.web_enabled and not no_web:
        web, line = cli_web.EmbeddedWeb.start(s, db)
        out.print(line, markup=False)
    try:
        if chosen == "wechaty":
            from pufa.wechaty_runner import run_wechaty

            run_wechaty(s, db)
            return
        from bot.transports.console import ConsoleTransport
        from pufa.app import build_app

        with db.sessions() as session:
            known = [(g.room_id, g.name, g.member_count) for g in _groups().list_groups(session, include_disabled=False)]
        console = ConsoleTransport(bot_name=s.bot_name, tz=s.tz, groups=known)
        bot_app = build_app(s, console, db)
        asyncio.run(bot_app.run())
    finally:
        if web is not None:
            web.stop()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库升级到最新结构（pufa init 和 pufa run 会自动做）。"""
    from core.migrate import current_revision

    db = _open_db()
    try:
        out.print(f"数据库已是最新结构：版本 {current_revision(db.engine)}（{_safe_url(settings())}）")
    finally:
        db.dispose()


def _safe_url(s: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(s.effective_database_url).render_as_string(hide_password=True)


# -- groups ------------------------------------------------------------------------------------
@groups_app.command("list")
def groups_list(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False,
) -> None:
    """列出已登记的村群。"""
    with session_scope() as session:
        rows = [
            {
                "id": g.id, "room_id": g.room_id, "name": g.name, "village": g.village,
                "tags": g.tag_list, "enabled": g.enabled, "member_count": g.member_count,
            }
            for g in _groups().list_groups(session)
        ]
    if as_json:
        out.print(json.dumps(rows, ensure_ascii=False, indent=2), markup=False)
        return
    if not rows:
        out.print("还没有登记任何群。用 pufa groups add 群ID --name 群名 登记。")
        return
    table = Table("编号", "群名", "村", "标签", "人数", "状态", "群ID")
    for r in rows:
        table.add_row(
            str(r["id"]), r["name"], r["village"], "、".join(r["tags"]),
            "" if r["member_count"] is None else str(r["member_count"]),
            "启用" if r["enabled"] else "停用", r["room_id"],
        )
    out.print(table)


@groups_app.command("add")
def groups_add(
    room_id: Annotated[str, typer.Argument(help="微信群ID（形如 12345678@chatroom）。")],
    name: Annotated[str, typer.Option("--name", help="群名，仅供显示。")] = "",
    village: Annotated[str, typer.Option("--village", help="所属村。")] = "",
    tags: Annotated[str, typer.Option("--tags", help="标签，逗号分隔，例如 一组,山区。")] = "",
    members: Annotated[int | None, typer.Option("--members", min=0, help="群成员人数。")] = None,
) -> None:
    """登记一个村群，机器人只在登记过的群里说话。"""
    with session_scope(write=True) as session:
        group = _groups().add_group(
            session, room_id=room_id, name=name or room_id, village=village,
            tags=_groups().parse_tags(tags), member_count=members, now=_now(),
        )
        gid, gname = group.id, group.name
    out.print(f"已登记群 {gid}：{gname}")


def _toggle(ident: str, enabled: bool) -> None:
    with session_scope(write=True) as session:
        group = _groups().set_enabled(session, ident, enabled, _now())
        label = group.name or group.room_id
    out.print(f"已{'启用' if enabled else '停用'}群：{label}")


@groups_app.command("disable")
def groups_disable(ident: Annotated[str, typer.Argument(help="群编号、群ID或群名。")]) -> None:
    """停用一个群：不再推送，也不在群里回答。"""
    _toggle(ident, False)


@groups_app.command("enable")
def groups_enable(ident: Annotated[str, typer.Argument(help="群编号、群ID或群名。")]) -> None:
    """重新启用一个已停用的群。"""
    _toggle(ident, True)


# -- legal Q&A --------------------------------------------------------------------------------
from pufa import cli_qa  # noqa: E402 - registered after the shared helpers above exist

app.command("ask")(cli_qa.ask_command)
app.add_typer(cli_qa.kb_app, name="kb")
app.add_typer(cli_qa.consultations_app, name="consultations")

# -- content, calendar, plan, queue, outbox, simulate ----------------------------------------
from pufa import cli_schedule  # noqa: E402 - registered after the shared helpers above exist

cli_schedule.register(app)

# -- reports, demo data ------------------------------------------------------------------------
from pufa import cli_reports  # noqa: E402 - registered after the shared helpers above exist

cli_reports.register(app)

# -- web console, staff accounts ---------------------------------------------------------------
from pufa import cli_web  # noqa: E402 - registered after the shared helpers above exist

cli_web.register(app)


# -- entry point -------------------------------------------------------------------------------
_CLICK_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"No such option: (\S+)"), lambda m: f"没有这个选项：{m.group(1)}"),
    (re.compile(r"No such command '([^']+)'"), lambda m: f"没有这个命令：{m.group(1)}"),
    (re.compile(r"Missing argument '([^']+)'"), lambda m: f"缺少参数：{m.group(1)}"),
    (re.compile(r"Missing parameter: (\\S+)"), lambda m: f"缺少参数：{m.group(1)}"),
    (re.compile(r"Missing option '([^']+)'"), lambda m: f"缺少选项：{m.group(1)}"),
    (re.compile(r"Option '([^']+)' requires an argument"), lambda m: f"选项 {m.group(1)} 需要一个值"),
    (re.compile(r"Got unexpected extra arguments? \(([^)]*)\)"), lambda m: f"多余的参数：{m.group(1)}"),
    (re.compile(r"Invalid value for '([^']+)': (.*)"), lambda m: f"参数 {m.group(1)} 的值不对：{m.group(2)}"),
]


_VALUE_PHRASES = [
    ("Input should be greater than or equal to ", "必须 ≥ "),
    ("Input should be less than or equal to ", "必须 ≤ "),
    ("Input should be a valid integer", "必须是整数"),
    ("Input should be a valid number", "必须是数字"),
    ("is not a valid integer", "不是整数"),
    ("is not in the range", "超出范围"),
]


def _chinese_usage(message: str) -> str:
    for pattern, render in _CLICK_MESSAGES:
        match = pattern.search(message)
        if match:
            message = render(match)
            break
    for english, chinese in _VALUE_PHRASES:
        message = message.replace(english, chinese)
    return message


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="pufa", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("已取消。")
        sys.exit(130)
    except click_errors.NoArgsIsHelpError as exc:
        out.print(exc.ctx.get_help() if exc.ctx else "", markup=False)
        sys.exit(0)
    except click_errors.UsageError as exc:
        err.print(f"参数错误：{_chinese_usage(exc.format_message())}（用 pufa --help 查看用法）", markup=False)
        sys.exit(2)
    except ValidationProblems as exc:
        for line in exc.problems:
            err.print(line, markup=False)
        err.print(exc.message, markup=False)
        sys.exit(exc.exit_code)
    except UserError as exc:
        err.print(f"错误：{exc.message}", markup=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # last resort: never a traceback to a user
        import logging
        from pathlib import Path

        data_dir = State.settings.data_dir if State.settings else Path("data")
        setup_logging(data_dir, to_stderr=False)
        logging.getLogger("pufa").error("unexpected error", exc_info=exc)
        err.print(f"出错了（{type(exc).__name__}）。详细信息已写入日志 data/logs/pufa.log，请联系技术人员。", markup=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
