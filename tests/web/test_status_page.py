"""登录状态: shows what the bot published in data/wechat_status.json, with the QR code while a scan is needed."""

from __future__ import annotations

import base64

from pufa.wechaty_runner import StatusFile


def test_login_state_page(admin, settings) -> None:  # type: ignore[no-untyped-def]
    first = admin.get("/login-state")
    assert first.status_code == 200 and "还没有记录" in first.text
    publish = StatusFile(settings.data_dir / "wechat_status.json", settings.tz)
    publish("waiting_for_scan", "https://login.weixin.qq.com/l/abc<def>")
    waiting = admin.get("/login-state").text
    assert "等待扫码登录" in waiting and 'http-equiv="refresh"' in waiting
    uri = waiting.split('src="data:image/svg+xml;base64,', 1)[1].split('"', 1)[0]
    assert base64.b64decode(uri).startswith(b"<?xml")
    assert "abc<def>" not in waiting and "login.weixin" not in waiting  # the link is only inside the QR image
    publish("logged_in", None)
    logged_in = admin.get("/login-state").text
    assert "已登录" in logged_in and "data:image" not in logged_in and 'http-equiv="refresh"' not in logged_in


def test_audit_log_is_for_admins(admin, client, db, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import add_staff, login

    page = admin.get("/audit")
    assert page.status_code == 200 and "登录" in page.text and "张三" in page.text
    add_staff(db, clock, name="李四", role="editor")
    admin.cookies.clear()
    login(admin, name="李四")
    refused = admin.get("/audit")
    assert refused.status_code == 403 and "只有管理员" in refused.text
    assert 'href="/audit"' not in admin.get("/").text
