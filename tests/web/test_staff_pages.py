"""账号管理: administrators add, disable, enable accounts and set new passwords in the browser; nobody else can."""

from __future__ import annotations

from sqlalchemy import select

from core.models import AuditLog, StaffAccount, StaffSession
from tests.web.conftest import PASSWORD, add_staff, csrf_of, login

NEW_PASSWORD = "新的密码abc123"


def _post(client, path: str, **data: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/staff").text)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def test_an_admin_adds_a_colleague_who_can_then_log_in(admin, client, db) -> None:  # type: ignore[no-untyped-def]
    page = admin.get("/staff")
    assert page.status_code == 200 and "账号管理" in page.text and "张三" in page.text
    for data, message in [({"name": "李四", "password": PASSWORD, "password2": "别的密码12345"}, "两次输入的密码不一样"),
                          ({"name": "李四", "password": "short", "password2": "short"}, "密码至少8位"),
                          ({"name": "张三", "password": PASSWORD, "password2": PASSWORD}, "已经存在"),
                          ({"name": "李四", "role": "boss", "password": PASSWORD, "password2": PASSWORD}, "角色只能是")]:
        refused = _post(admin, "/staff", **{"role": "editor", **data})
        assert refused.status_code == 400 and message in refused.text, data
    added = _post(admin, "/staff", name="李四", role="editor", password=PASSWORD, password2=PASSWORD)
    assert added.status_code == 303 and added.headers["location"] == "/staff?msg=staffadded"
    with db.sessions() as session:
        assert session.scalar(select(StaffAccount.role).where(StaffAccount.name == "李四")) == "editor"
        assert session.scalar(select(AuditLog.actor).where(AuditLog.target == "李四")) == "张三"
    admin.cookies.clear()
    assert login(admin, "李四").status_code == 303


def test_only_admins_reach_account_management(client, db, clock) -> None:  # type: ignore[no-untyped-def]
    add_staff(db, clock, "王编辑", "editor")
    assert login(client, "王编辑").status_code == 303
    assert client.get("/staff").status_code == 403
    assert "账号管理" not in client.get("/").text
    token = csrf_of(client.get("/").text)
    denied = client.post("/staff", data={"csrf_token": token, "name": "黑客", "role": "admin", "password": PASSWORD,
                                         "password2": PASSWORD}, follow_redirects=False)
    assert denied.status_code == 403
    with db.sessions() as session:
        assert session.scalar(select(StaffAccount.id).where(StaffAccount.name == "黑客")) is None


def test_disable_enable_and_the_last_admin_is_protected(admin, db, clock) -> None:  # type: ignore[no-untyped-def]
    assert "不能停用自己" in _post(admin, "/staff/disable", name="张三").text
    add_staff(db, clock, "赵五", "viewer")
    assert _post(admin, "/staff/disable", name="赵五").headers["location"] == "/staff?msg=staffdisabled"
    with db.sessions() as session:
        assert session.scalar(select(StaffAccount.enabled).where(StaffAccount.name == "赵五")) is False
    assert _post(admin, "/staff/enable", name="赵五").headers["location"] == "/staff?msg=staffenabled"
    assert "找不到账号" in _post(admin, "/staff/disable", name="没这个人").text
    # From the command line (no "self" there): the only enabled admin cannot be disabled either.
    from core.errors import UserError
    from pufa.web.accounts import set_staff_enabled

    with db.sessions.begin() as session:
        try:
            set_staff_enabled(session, "张三", False, clock.now(), actor="命令行")
        except UserError as exc:
            assert "唯一启用的管理员" in exc.message
        else:
            raise AssertionError("the last admin was disabled")


def test_a_new_password_ends_that_accounts_logins(admin, client, db, clock) -> None:  # type: ignore[no-untyped-def]
    add_staff(db, clock, "钱六", "editor")
    from fastapi.testclient import TestClient

    other = TestClient(client.app)
    assert login(other, "钱六").status_code == 303
    assert other.get("/", follow_redirects=False).status_code == 200
    assert "两次输入的密码不一样" in _post(admin, "/staff/password", name="钱六", password=NEW_PASSWORD,
                                             password2="x" * 10).text
    done = _post(admin, "/staff/password", name="钱六", password=NEW_PASSWORD, password2=NEW_PASSWORD)
    assert done.headers["location"] == "/staff?msg=passwordreset"
    assert other.get("/", follow_redirects=False).status_code == 303  # logged out everywhere
    assert login(other, "钱六").status_code == 400  # the old password no longer works
    assert login(other, "钱六", NEW_PASSWORD).status_code == 303
    with db.sessions() as session:
        assert session.scalar(select(AuditLog.action).where(AuditLog.target == "钱六", AuditLog.actor == "张三")
                              .order_by(AuditLog.id.desc()).limit(1)) == "staff.password"
    # Own password: this login ends too, back to the login page.
    mine = _post(admin, "/staff/password", name="张三", password=NEW_PASSWORD, password2=NEW_PASSWORD)
    assert mine.headers["location"].startswith("/login")
    with db.sessions() as session:
        me = session.scalar(select(StaffAccount.id).where(StaffAccount.name == "张三"))
        assert session.scalar(select(StaffSession.id).where(StaffSession.staff_id == me)) is None
