"""First run: the first admin account is created in the browser with the one-time code from the terminal."""

from __future__ import annotations

import re
import warnings

from sqlalchemy import select

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from core.models import AuditLog, StaffAccount
from pufa.web.app import create_web_app, first_run_setup_code
from tests.web.conftest import PASSWORD, add_staff, csrf_of, login


def _form(client: TestClient, code: str = "") -> str:
    page = client.get(f"/setup?code={code}")
    assert page.status_code == 200 and "创建管理员账号" in page.text
    return csrf_of(page.text)


def _submit(client: TestClient, token: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {"csrf_token": token, "name": "王干事", "password": PASSWORD, "password2": PASSWORD, **fields}
    return client.post("/setup", data=data, follow_redirects=False)


def test_the_first_admin_is_created_in_the_browser_once(settings, db, clock) -> None:  # type: ignore[no-untyped-def]
    code = first_run_setup_code(db)
    assert code and len(code) >= 16
    with TestClient(create_web_app(settings, db, clock, setup_code=code)) as client:
        assert "首次设置" in client.get("/login").text
        token = _form(client, code)
        # wrong code, mismatched or short passwords, bad name: a clear message and no account
        for fields, message in [({"code": "guess"}, "设置码不对"),
                                ({"code": code, "password2": "不一样的密码123"}, "两次输入的密码不一样"),
                                ({"code": code, "password": "short", "password2": "short"}, "密码至少8位"),
                                ({"code": code, "name": "a"}, "账号名要2-32个字符")]:
            refused = _submit(client, token, **fields)
            assert refused.status_code == 400 and message in refused.text, fields
        with db.sessions() as session:
            assert session.scalars(select(StaffAccount)).all() == []
        assert _submit(client, "forged", code=code).status_code == 403  # CSRF checked too
        done = _submit(client, token, code=code)
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert "王干事" in client.get("/").text  # logged in straight away
        with db.sessions() as session:
            [account] = session.scalars(select(StaffAccount)).all()
            assert (account.name, account.role) == ("王干事", "admin")
            assert session.scalar(select(AuditLog.actor).where(AuditLog.action == "staff.add")) == "首次设置"
        # used up: the page and the form are gone, whatever code is sent
        assert client.get(f"/setup?code={code}", follow_redirects=False).headers["location"] == "/login"
        again = _submit(client, token, code=code, name="李四")
        assert again.status_code == 303 and again.headers["location"] == "/login"
    with db.sessions() as session:
        assert len(session.scalars(select(StaffAccount)).all()) == 1
    assert first_run_setup_code(db) is None  # the next start offers no setup at all


def test_no_setup_once_an_account_exists(settings, db, clock) -> None:  # type: ignore[no-untyped-def]
    code = first_run_setup_code(db)
    assert code is not None
    with TestClient(create_web_app(settings, db, clock, setup_code=code)) as client:
        add_staff(db, clock)  # e.g. `pufa staff add` in another terminal while the console runs
        assert client.get(f"/setup?code={code}", follow_redirects=False).status_code == 303
        assert "首次设置" not in client.get("/login").text
        assert login(client).status_code == 303


def test_the_setup_page_escapes_what_it_echoes(settings, db, clock) -> None:  # type: ignore[no-untyped-def]
    code = first_run_setup_code(db)
    with TestClient(create_web_app(settings, db, clock, setup_code=code)) as client:
        page = client.get('/setup?code="><script>alert(1)</script>')
        assert "<script>alert(1)" not in page.text and re.search(r"&lt;script&gt;|&#34;&gt;", page.text)
