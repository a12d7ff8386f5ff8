"""Every page behind login, CSRF on every form, session cookie flags, login rate limit, roles, audit log."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.routing import APIRoute
from sqlalchemy import select

from bot.consultations import record_consultation
from core.models import AuditLog, Consultation
from tests.web.conftest import PASSWORD, add_staff, csrf_of, login

PUBLIC = {("GET", "/login"), ("POST", "/login")}


def _routes(web):  # type: ignore[no-untyped-def]
    for route in web.routes:
        if isinstance(route, APIRoute):
            for method in sorted(route.methods):
                yield method, route.path


def test_every_route_requires_login(web, client) -> None:  # type: ignore[no-untyped-def]
    routes = list(_routes(web))
    assert len(routes) >= 6
    assert {r for r in routes if r in PUBLIC} == PUBLIC
    client.cookies.set("pufa_session", "forged-token")
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.request(method, url, follow_redirects=False)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login"), (method, path)
    # No API docs or schema left open either.
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path, follow_redirects=False).status_code in {303, 404}


def _pending(db, clock, question: str = "邻居占了我家宅基地咋办") -> int:  # type: ignore[no-untyped-def]
    with db.sessions.begin() as session:
        row = record_consultation(session, asked_at=clock.now() - timedelta(hours=1), sender_hash="h" * 64,
                                  question=question, category="土地房产", entry_id=None, score=0.1, status="pending")
        return row.id


def test_form_without_csrf_token_is_refused(admin, db, clock) -> None:  # type: ignore[no-untyped-def]
    cid = _pending(db, clock)
    refused = admin.post(f"/consultations/{cid}/handle", data={"note": "已电话回访"}, follow_redirects=False)
    assert refused.status_code == 403
    assert "安全校验码" in refused.text
    wrong = admin.post(f"/consultations/{cid}/handle", data={"note": "已电话回访", "csrf_token": "guess"})
    assert wrong.status_code == 403
    with db.sessions() as session:
        assert session.get(Consultation, cid).status == "pending"

    token = csrf_of(admin.get("/consultations?status=pending&month=").text)
    done = admin.post(f"/consultations/{cid}/handle", data={"note": "已电话回访", "csrf_token": token},
                      follow_redirects=False)
    assert done.status_code == 303
    with db.sessions() as session:
        row = session.get(Consultation, cid)
        assert (row.status, row.handled_note) == ("handled", "已电话回访")
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "consultation.handle")).one()
        assert (audit.actor, audit.target) == ("张三", f"咨询 {cid}")


def test_logout_needs_csrf_and_ends_the_session(admin) -> None:  # type: ignore[no-untyped-def]
    assert admin.post("/logout", follow_redirects=False).status_code == 403
    token = csrf_of(admin.get("/").text)
    assert admin.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert admin.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_login_form_needs_its_csrf_cookie(client, db, clock) -> None:  # type: ignore[no-untyped-def]
    add_staff(db, clock)
    response = client.post("/login", data={"name": "张三", "password": PASSWORD, "csrf_token": "x"},
                           follow_redirects=False)
    assert response.status_code == 403
    assert "pufa_session" not in response.headers.get("set-cookie", "")


def test_session_cookie_is_httponly_and_samesite(client, db, clock) -> None:  # type: ignore[no-untyped-def]
    add_staff(db, clock)
    response = login(client)
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("pufa_session="))
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    with_db_hash = cookie.split(";")[0].split("=", 1)[1]
    assert len(with_db_hash) >= 40


def test_wrong_password_then_rate_limit_then_window_passes(client, db, clock) -> None:  # type: ignore[no-untyped-def]
    add_staff(db, clock)
    for _ in range(5):
        wrong = login(client, password="not-the-password")
        assert wrong.status_code == 400
        assert "账号或密码不对" in wrong.text
    blocked = login(client)
    assert blocked.status_code == 400
    assert "登录失败次数太多" in blocked.text
    clock.advance(timedelta(minutes=16))
    assert login(client).status_code == 303
    with db.sessions() as session:
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions.count("login.failed") == 5 and actions[-1] == "login"


def test_unknown_name_and_disabled_account_cannot_log_in(client, db, clock) -> None:  # type: ignore[no-untyped-def]
    assert "账号或密码不对" in login(client, name="nobody").text
    add_staff(db, clock, name="李四", role="editor")
    from pufa.web.accounts import set_staff_enabled

    with db.sessions.begin() as session:
        set_staff_enabled(session, "李四", False, clock.now(), actor="test")
    assert login(client, name="李四").status_code == 400


def test_sessions_expire(admin, clock) -> None:  # type: ignore[no-untyped-def]
    assert admin.get("/", follow_redirects=False).status_code == 200
    clock.advance(timedelta(hours=13))
    assert admin.get("/", follow_redirects=False).status_code == 303


def test_viewer_can_read_but_not_change(client, db, clock) -> None:  # type: ignore[no-untyped-def]
    add_staff(db, clock, name="王五", role="viewer")
    login(client, name="王五")
    cid = _pending(db, clock)
    page = client.get("/consultations?status=pending&month=")
    assert page.status_code == 200 and "邻居占了我家宅基地咋办" in page.text
    assert "标记已跟进" not in page.text
    refused = client.post(f"/consultations/{cid}/handle", data={"note": "x", "csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403 and "只读" in refused.text


def test_next_after_login_stays_on_this_site(client, db, clock) -> None:  # type: ignore[no-untyped-def]
    add_staff(db, clock)
    page = client.get("/login?next=//evil.example/x")
    assert 'value="/"' in page.text
