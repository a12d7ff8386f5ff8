"""The staff web console: `create_web_app(settings, db, clock)` builds a FastAPI app; nothing happens at import.

Every route but /login and the first-run /setup requires a logged-in staff member (the `staff` dependency); every POST also checks the
session's CSRF token (`form_staff`). Handlers open a session from the shared factory, call a service, render a
template from one autoescaping Jinja2 environment: text villagers wrote is always escaped.
"""


import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.clock import Clock, SystemClock
from core.errors import UserError
from core.settings import Settings
from pufa.app import Database
from pufa.web import accounts
from pufa.web.accounts import StaffUser

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "pufa_session"
LOGIN_CSRF_COOKIE = "pufa_login_csrf"

NAV = [
    ("/", "首页"),
    ("/calendar", "排期日历"),
    ("/content", "内容库"),
    ("/consultations", "咨询记录"),
    ("/reports", "统计报表"),
    ("/groups", "群管理"),
    ("/outbox", "发送队列"),
    ("/kb", "知识库"),
    ("/login-state", "登录状态"),
]

# Fixed confirmations shown after a redirect: the query string carries only a key, never text to reflect.
MESSAGES = {
    "handled": "已标记为已跟进。",
    "saved": "文章已保存，可以安排推送了。",
    "queued": "已加入推送队列，到时间会自动发送。",
    "cancelled": "已取消这次推送（还没发出的消息一并取消）。",
    "planned": "已应用推荐计划（已存在的不会重复添加）。",
    "groupsaved": "已保存群信息。",
    "enabled": "已启用这个群。",
    "disabled": "已停用这个群：不再推送，也不在群里回答。",
    "retried": "已安排重发，机器人运行时会尽快发出。",
    "outboxcancelled": "已取消这条发送记录。",
    "loggedout": "已退出登录。",
    "staffadded": "已添加账号，请把账号名和初始密码告诉这位同事。",
    "staffenabled": "已启用这个账号。",
    "staffdisabled": "已停用这个账号：它已登录的地方都已退出。",
    "passwordreset": "已设新密码：这个账号需要用新密码重新登录。",
    "passwordchanged": "密码已修改，请用新密码登录。",
}


class LoginRequired(Exception):
    """Raised by the `staff` dependency; answered with a redirect to the login page."""


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def html_environment() -> Environment:
    """The console's one Jinja2 environment: autoescape ON (HTML), StrictUndefined."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env


def first_run_setup_code(db: Database) -> str | None:
    """A one-time code for creating the first admin in the browser, while no staff account exists; else None.

    Shown only in the terminal that started the console (never logged), so someone who merely reaches the page on
    the network cannot claim the console before the township does."""
    with db.sessions() as session:
        return None if accounts.count_staff(session) else accounts.secrets.token_urlsafe(12)


def create_web_app(
    settings: Settings, db: Database, clock: Clock | None = None, *, setup_code: str | None = None
) -> FastAPI:
    clock = clock or SystemClock(settings.tz)
    tz = settings.tz
    env = html_environment()
    env.filters["local"] = lambda value, fmt="%Y-%m-%d %H:%M": value.astimezone(tz).strftime(fmt) if value else ""
    env.globals.update(nav=NAV, township=settings.township, bot_name=settings.bot_name)
    app = FastAPI(title="普法助手控制台", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings, app.state.db, app.state.clock = settings, db, clock

    def render(request: Request, template: str, user: StaffUser | None, status_code: int = 200, **context: Any) -> HTMLResponse:
        message = MESSAGES.get(request.query_params.get("msg", ""), "")
        body = env.get_template(template).render(request_path=request.url.path, user=user, message=message,
                                             csrf=user.csrf_token if user else "", **context)
        return HTMLResponse(body, status_code=status_code, headers=_SECURITY_HEADERS)

    app.state.render = render

    # -- auth dependencies ------------------------------------------------------------------
    def staff(request: Request) -> StaffUser:
        with db.sessions() as session:
            user = accounts.user_for_token(session, request.cookies.get(SESSION_COOKIE), clock.now())
        if user is None:
            raise LoginRequired
        return user

    async def form_staff(request: Request, user: Annotated[StaffUser, Depends(staff)]) -> StaffUser:
        form = await request.form()
        given = form.get("csrf_token")
        if not accounts.csrf_matches(user.csrf_token, given if isinstance(given, str) else None):
            raise Forbidden("表单已过期或来源不明（缺少安全校验码），请刷新页面后重试")
        return user

    def editor(user: Annotated[StaffUser, Depends(form_staff)]) -> StaffUser:
        if not user.can("editor"):
            raise Forbidden("只读账号不能修改，请让管理员给您“编辑”权限")
        return user

    app.state.deps = {"staff": staff, "form_staff": form_staff, "editor": editor}

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "error.html", None, status_code=403, error=exc.message)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> Response:
        return render(request, "error.html", None, status_code=400, error="请求的参数不对，请从页面上的链接和按钮操作")

    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError) -> Response:
        return render(request, "error.html", None, status_code=400, error=exc.message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("web console error on %s", request.url.path, exc_info=exc)
        return render(request, "error.html", None, status_code=500,
                      error=f"出错了（{type(exc).__name__}）。详细信息已写入日志，请联系技术人员。")

    # -- login / logout ---------------------------------------------------------------------
    def fresh_form(request: Request, template: str, **context: Any) -> Response:
        """A page whose form is checked against a new token in a cookie (no session yet: login, first run)."""
        token = accounts.secrets.token_urlsafe(24)
        response = render(request, template, None, login_csrf=token, error="", name="", **context)
        _set_cookie(response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        return fresh_form(request, "login.html", next=_safe_next(next), setup_pending=setup_open())

    @app.post("/login", response_class=HTMLResponse)
    def login_submit(
        request: Request,
        name: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        if not accounts.csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
            raise Forbidden("登录页面已过期，请刷新后重新登录")
        address = request.client.host if request.client else "unknown"
        try:
            with db.sessions.begin() as session:
                outcome = accounts.login(session, name=name, password=password, address=address, now=clock.now())
        except UserError as exc:
            outcome, error = None, exc.message
        else:
            error = "账号或密码不对"
        if outcome is None:
            return render(request, "login.html", None, status_code=400, login_csrf=csrf_token,
                          next=_safe_next(next), error=error, name=name[:64], setup_pending=setup_open())
        token, _user = outcome
        response = RedirectResponse(_safe_next(next), status_code=303)
        _set_cookie(response, SESSION_COOKIE, token, max_age=int(accounts.SESSION_TTL.total_seconds()))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    # -- first run: the first admin account, created in the browser with the code from the terminal -----------
    app.state.setup_code = setup_code

    def setup_open() -> bool:
        if app.state.setup_code is None:
            return False
        with db.sessions() as session:
            if accounts.count_staff(session):
                app.state.setup_code = None  # someone added an account with `pufa staff add` meanwhile
        return app.state.setup_code is not None

    @app.get("/setup", response_class=HTMLResponse)
    def setup_page(request: Request, code: str = "") -> Response:
        if not setup_open():
            return RedirectResponse("/login", status_code=303)
        return fresh_form(request, "setup.html", code=code[:64])

    @app.post("/setup", response_class=HTMLResponse)
    def setup_submit(
        request: Request,
        code: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        password2: Annotated[str, Form()] = "",
        csrf_token: Annotated[str, Form()] = "",
    ) -> Response:
        if not setup_open():
            return RedirectResponse("/login", status_code=303)
        if not accounts.csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
            raise Forbidden("页面已过期，请刷新后重试")

        def again(error: str) -> Response:
            return render(request, "setup.html", None, status_code=400, login_csrf=csrf_token, code=code[:64],
                          error=error, name=name[:64])

        if not accounts.csrf_matches(app.state.setup_code, code.strip()):
            return again("设置码不对：请复制启动程序的终端窗口里显示的完整链接")
        address = request.client.host if request.client else "unknown"
        try:
            with db.sessions.begin() as session:
                if accounts.count_staff(session):
                    return RedirectResponse("/login", status_code=303)
                accounts.create_staff(session, name=name, role="admin", password=accounts.confirmed(password, password2),
                                      now=clock.now(), actor="首次设置")
            with db.sessions.begin() as session:
                outcome = accounts.login(session, name=name.strip(), password=password, address=address,
                                         now=clock.now())
        except UserError as exc:
            return again(exc.message)
        app.state.setup_code = None  # used up
        response = RedirectResponse("/", status_code=303)
        if outcome is not None:
            _set_cookie(response, SESSION_COOKIE, outcome[0], max_age=int(accounts.SESSION_TTL.total_seconds()))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, _user: Annotated[StaffUser, Depends(form_staff)]) -> Response:
        with db.sessions.begin() as session:
            accounts.logout(session, request.cookies.get(SESSION_COOKIE), clock.now())
        response = RedirectResponse("/login?msg=loggedout", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    from pufa.web import pages, pages_content, pages_kb, pages_schedule, pages_staff, pages_status

    pages.register(app, render=render, settings=settings, db=db, clock=clock,
                   staff=staff, editor=editor)
    pages_content.register(app, render=render, settings=settings, db=db, clock=clock, staff=staff,
                           form_staff=form_staff, editor=editor)  # before /content/{slug}
    pages_schedule.register(app, render=render, settings=settings, db=db, clock=clock, staff=staff, editor=editor)
    pages_kb.register(app, render=render, settings=settings, staff=staff)
    pages_status.register(app, render=render, settings=settings, staff=staff)
    pages_status.register_audit(app, render=render, db=db, staff=staff)
    pages_staff.register(app, render=render, db=db, clock=clock, staff=staff, form_staff=form_staff)
    return app


_SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _safe_next(target: str) -> str:
    """Only same-site paths after login (no //evil.example or scheme)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _set_cookie(response: Response, key: str, value: str, *, max_age: int) -> None:
    response.set_cookie(key, value, max_age=max_age, path="/", httponly=True, samesite="lax")


def download(data: bytes, filename: str, media_type: str) -> Response:
    return Response(
        data, media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"},
    )


def write_to_bytes(writer: Callable[[Path], Any], suffix: str) -> bytes:
    """Run a file writer (reports/ writes paths) into a temporary file and return its bytes."""
    with tempfile.TemporaryDirectory(prefix="pufa-web-") as folder:
        path = Path(folder) / f"export{suffix}"
        writer(path)
        return path.read_bytes()
