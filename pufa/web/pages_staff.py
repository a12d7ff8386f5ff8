"""账号管理 (administrators): add colleagues' accounts, disable or enable them, set a new password for a forgotten
one. Every change goes through pufa.web.accounts and into the audit log under the administrator's name."""

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.errors import UserError
from pufa.web import accounts
from pufa.web.accounts import ROLES, StaffUser


def register(app: FastAPI, *, render: Any, db: Any, clock: Any, staff: Any, form_staff: Any) -> None:
    from pufa.web.app import Forbidden

    def admin_only(user: StaffUser) -> StaffUser:
        if not user.can("admin"):
            raise Forbidden("只有管理员能管理账号")
        return user

    def viewing_admin(user: Annotated[StaffUser, Depends(staff)]) -> StaffUser:
        return admin_only(user)

    def posting_admin(user: Annotated[StaffUser, Depends(form_staff)]) -> StaffUser:
        return admin_only(user)

    Admin = Annotated[StaffUser, Depends(viewing_admin)]
    PostingAdmin = Annotated[StaffUser, Depends(posting_admin)]

    def page(request: Request, user: StaffUser, status_code: int = 200, **form: Any) -> Response:
        with db.sessions() as session:
            rows = [{"name": a.name, "role": ROLES.get(a.role, a.role), "enabled": a.enabled,
                     "last_login_at": a.last_login_at, "created_at": a.created_at}
                    for a in accounts.list_staff(session)]
        context = {"error": "", "name": "", "role": "editor", "reset_error": "", "reset_name": "", **form}
        return render(request, "staff.html", user, status_code=status_code, rows=rows, roles=ROLES, **context)

    @app.get("/staff", response_class=HTMLResponse)
    def staff_page(request: Request, user: Admin) -> Response:
        return page(request, user)

    @app.post("/staff", response_class=HTMLResponse)
    def staff_add(
        request: Request,
        user: PostingAdmin,
        name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "editor",
        password: Annotated[str, Form()] = "",
        password2: Annotated[str, Form()] = "",
    ) -> Response:
        try:
            with db.sessions.begin() as session:
                accounts.create_staff(session, name=name, role=role, password=accounts.confirmed(password, password2),
                                      now=clock.now(), actor=user.name)
        except UserError as exc:
            return page(request, user, status_code=400, error=exc.message, name=name[:64], role=role)
        return RedirectResponse("/staff?msg=staffadded", status_code=303)

    @app.post("/staff/password", response_class=HTMLResponse)
    def staff_password(
        request: Request,
        user: PostingAdmin,
        name: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        password2: Annotated[str, Form()] = "",
    ) -> Response:
        try:
            with db.sessions.begin() as session:
                accounts.reset_password(session, name, accounts.confirmed(password, password2), clock.now(),
                                        actor=user.name)
        except UserError as exc:
            return page(request, user, status_code=400, reset_error=exc.message, reset_name=name[:64])
        if name.strip() == user.name:
            return RedirectResponse("/login?msg=passwordchanged", status_code=303)  # own logins ended too
        return RedirectResponse("/staff?msg=passwordreset", status_code=303)

    @app.post("/staff/enable", response_class=HTMLResponse)
    def staff_enable(request: Request, user: PostingAdmin, name: Annotated[str, Form()] = "") -> Response:
        return _toggle(request, user, name, True)

    @app.post("/staff/disable", response_class=HTMLResponse)
    def staff_disable(request: Request, user: PostingAdmin, name: Annotated[str, Form()] = "") -> Response:
        return _toggle(request, user, name, False)

    def _toggle(request: Request, user: StaffUser, name: str, enabled: bool) -> Response:
        try:
            if not enabled and name.strip() == user.name:
                raise UserError("不能停用自己正在用的账号")
            with db.sessions.begin() as session:
                accounts.set_staff_enabled(session, name, enabled, clock.now(), actor=user.name)
        except UserError as exc:
            return page(request, user, status_code=400, error=exc.message)
        return RedirectResponse(f"/staff?msg={'staffenabled' if enabled else 'staffdisabled'}", status_code=303)
