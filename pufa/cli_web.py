"""`pufa web` (the staff web console) and `pufa staff add|password|list|disable|enable` (its accounts).

Registered in pufa/cli.py with `register(app)`. Thin: open a session, call pufa.web.accounts, print one line.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from core.errors import UserError

staff_app = typer.Typer(help="网页控制台的工作人员账号（添加、设新密码、列出、停用、启用；也可以在网页控制台的“账号管理”里操作）。", no_args_is_help=True)


def _cli() -> Any:
    from pufa import cli

    return cli


def web_command(
    host: Annotated[str | None, typer.Option("--host", help="监听地址；默认 PUFA_WEB_HOST（127.0.0.1，只允许本机访问）。")] = None,
    port: Annotated[int | None, typer.Option("--port", min=1, max=65535, help="端口；默认 PUFA_WEB_PORT（8000）。")] = None,
) -> None:
    """只启动网页控制台（浏览器打开 http://127.0.0.1:8000）；pufa run 也会同时启动它。"""
    import uvicorn

    from pufa.web.app import create_web_app, first_run_setup_code

    cli = _cli()
    s = cli.settings()
    host = host or s.web_host
    port = port or s.web_port
    from core.logging_setup import setup_logging

    setup_logging(s.data_dir, s.log_level)
    db = cli._open_db()
    try:
        code = first_run_setup_code(db)
        web = create_web_app(s, db, setup_code=code)
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
        cli.out.print(f"网页控制台：http://{shown}:{port}  （按 Ctrl+C 停止）", markup=False)
        if code:
            cli.out.print(setup_hint(shown, port, code), markup=False)
        try:
            uvicorn.run(web, host=host, port=port, log_level="warning")
        except OSError as exc:
            raise UserError(f"无法在 {host}:{port} 启动网页控制台：{exc.strerror or exc}（端口被占用可换 --port）") from None
    finally:
        db.dispose()


def setup_hint(host: str, port: int, code: str) -> str:
    """The first-run link, printed in the terminal only (it carries the one-time code; never logged)."""
    return (f"首次使用：用浏览器打开 http://{host}:{port}/setup?code={code} 创建管理员账号"
            "（链接只在本窗口显示，用过即失效）")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("设置密码（至少8位）", hide_input=True, confirmation_prompt="再输入一次",
                                prompt_suffix="：")
    if not password:
        raise UserError("密码不能为空")
    return password


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Argument(help="账号名（登录时输入），例如 张三。")],
    role: Annotated[str, typer.Option("--role", help="admin（管理员）、editor（编辑）或 viewer（只读）。")] = "editor",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取密码（一行），不提示。")] = False,
) -> None:
    """添加一个可以登录网页控制台的工作人员账号。"""
    from pufa.web.accounts import ROLES, create_staff

    if role not in ROLES:
        raise UserError("角色只能是 admin（管理员）、editor（编辑）或 viewer（只读）")
    cli = _cli()
    password = _read_password(password_stdin)
    with cli.session_scope(write=True) as session:
        account = create_staff(session, name=name, role=role, password=password, now=cli._now())
        label = f"{account.name}（{ROLES[account.role]}）"
    cli.out.print(f"已添加账号 {label}。运行 pufa web 后在浏览器打开 http://127.0.0.1:8000 登录。", markup=False)


@staff_app.command("password")
def staff_password(
    name: Annotated[str, typer.Argument(help="账号名。")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取新密码（一行），不提示。")] = False,
) -> None:
    """给账号设新密码（忘了密码时用）：这个账号已登录的地方都会退出。"""
    from pufa.web.accounts import reset_password

    cli = _cli()
    password = _read_password(password_stdin)
    with cli.session_scope(write=True) as session:
        account = reset_password(session, name, password, cli._now(), actor="命令行")
        shown = account.name
    cli.out.print(f"已给账号 {shown} 设新密码，请用新密码登录网页控制台。", markup=False)


@staff_app.command("list")
def staff_list() -> None:
    """列出工作人员账号。"""
    from pufa.web.accounts import ROLES, list_staff

    cli = _cli()
    with cli.session_scope() as session:
        rows = [(a.name, ROLES.get(a.role, a.role), a.enabled, a.last_login_at) for a in list_staff(session)]
    if not rows:
        cli.out.print("还没有账号。用 pufa staff add 名字 --role admin 添加。", markup=False)
        return
    from rich.table import Table

    tz = cli.settings().tz
    table = Table("账号", "角色", "状态", "最近登录")
    for name, role, enabled, last in rows:
        seen = last.astimezone(tz).strftime("%Y-%m-%d %H:%M") if last else "从未登录"
        table.add_row(name, role, "启用" if enabled else "停用", seen)
    cli.out.print(table)


def _toggle(name: str, enabled: bool) -> None:
    from pufa.web.accounts import set_staff_enabled

    cli = _cli()
    with cli.session_scope(write=True) as session:
        set_staff_enabled(session, name, enabled, cli._now(), actor="命令行")
    cli.out.print(f"已{'启用' if enabled else '停用'}账号 {name.strip()}", markup=False)


@staff_app.command("disable")
def staff_disable(name: Annotated[str, typer.Argument(help="账号名。")]) -> None:
    """停用账号：立即退出它的所有登录，不能再登录。"""
    _toggle(name, False)


@staff_app.command("enable")
def staff_enable(name: Annotated[str, typer.Argument(help="账号名。")]) -> None:
    """重新启用账号。"""
    _toggle(name, True)


def register(app: typer.Typer) -> None:
    app.command("web")(web_command)
    app.add_typer(staff_app, name="staff")


class EmbeddedWeb:
    """The web console served from a background thread of `pufa run`, next to the bot, on the same database.

    The socket is bound here first, so a port in use costs one line of advice instead of stopping the bot (uvicorn
    would exit the process). uvicorn installs no signal handlers off the main thread; the bot keeps its own."""

    def __init__(self, server: Any, thread: Any) -> None:
        self._server = server
        self._thread = thread

    @classmethod
    def start(cls, settings: Any, db: Any) -> tuple[EmbeddedWeb | None, str]:
        import socket
        import threading
        import time

        import uvicorn

        from pufa.web.app import create_web_app, first_run_setup_code

        host, port = settings.web_host, settings.web_port
        try:
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)  # browsers queue here until the server thread is up
        except OSError as exc:
            sock.close()
            return None, (f"网页控制台没有启动：{host}:{port} 无法使用（{exc.strerror or exc}）。"
                          "可在 .env 里改 PUFA_WEB_PORT，或设 PUFA_WEB_ENABLED=false 关闭。")
        code = first_run_setup_code(db)
        config = uvicorn.Config(create_web_app(settings, db, setup_code=code), log_level="warning", lifespan="off",
                                log_config=None)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="pufa-web", daemon=True)
        thread.start()
        for _ in range(100):
            if server.started or not thread.is_alive():
                break
            time.sleep(0.05)
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
        message = f"网页控制台：http://{shown}:{port}"
        return cls(server, thread), (f"{message}\n{setup_hint(shown, port, code)}" if code else message)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
