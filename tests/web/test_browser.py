"""The console in a real browser: Playwright driving Debian's headless Chromium against a live server.

Marked `browser`; .ci/run installs /usr/bin/chromium so these run in CI (Playwright cannot download browsers here).
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import uvicorn
from sqlalchemy import select

from bot.consultations import record_consultation
from content.store import import_items
from core import groups as group_registry
from core.models import Consultation, Push
from pufa.library import load_library
from pufa.qa_wiring import template_globals
from pufa.web.app import create_web_app
from tests.web.conftest import PASSWORD, add_staff

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_url(settings, db, clock) -> Iterator[str]:  # type: ignore[no-untyped-def]
    library = load_library(template_globals(settings))
    with db.sessions.begin() as session:
        import_items(session, library.items, clock.now())
        for room, name in (("g1@chatroom", "一组"), ("g2@chatroom", "二组"), ("g3@chatroom", "三组")):
            group_registry.add_group(session, room_id=room, name=name, village="青山村", now=clock.now())
        record_consultation(session, asked_at=clock.now() - timedelta(hours=3), sender_hash="c" * 64,
                            question="包工头跑了工钱找谁要<b>急</b>", category="劳动用工", entry_id=None, score=0.1,
                            status="pending")
    add_staff(db, clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_web_app(settings, db, clock), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(live_url):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context(accept_downloads=True, viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15000)
        page.base_url = live_url  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()


def _login(page) -> None:  # type: ignore[no-untyped-def]
    page.goto(page.base_url + "/")
    assert "/login" in page.url
    page.get_by_label("账号").fill("张三")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(page.base_url + "/")


def test_create_an_article_see_the_split_queue_it_to_two_groups_see_it_on_the_calendar(page, db) -> None:  # type: ignore[no-untyped-def]
    _login(page)
    assert page.get_by_test_id("pending-count").inner_text() == "1"

    page.get_by_role("link", name="内容库").click()
    page.get_by_role("link", name="写新文章").click()
    page.get_by_label("slug").fill("village-constitution-day")
    page.get_by_label("标题").fill("宪法日：村里人说宪法")
    page.get_by_label("摘要").fill("宪法和咱过日子的关系。")
    page.get_by_label("法律依据").fill("宪法")
    page.get_by_label("标签").fill("宪法法治")
    page.get_by_label("国家宪法日").check()
    paragraph = "宪法是国家的根本法，规定了公民的基本权利和义务，咱每天过日子背后都有宪法撑着。" * 9
    page.get_by_label("正文").fill(f"{paragraph}\n\n{paragraph}\n\n有问题找{{{{ sifasuo }}}}。")
    page.locator("#live-preview .split-marker", has_text="第 2/2 条").wait_for()  # the live preview shows the split
    assert "青山镇司法所" in page.locator("#live-preview").inner_text()
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**/content/village-constitution-day?msg=saved")
    assert page.locator(".split-marker").count() == 2
    title = "宪法日：村里人说宪法"

    page.get_by_role("link", name="安排推送").first.click()
    page.locator("input[name=day]").fill("2026-12-04")
    page.locator("input[name=time]").fill("09:00")
    page.get_by_label("选定的群：").check()
    page.get_by_label("一组").check()
    page.get_by_label("二组").check()
    page.get_by_role("button", name="加入推送队列").click()
    page.wait_for_url("**/calendar?month=2026-12&msg=queued")
    assert "已加入推送队列" in page.locator(".flash").inner_text()
    cell = page.locator('td[data-day="2026-12-04"]')
    assert title in cell.inner_text() and "一组、二组" in cell.inner_text()
    with db.sessions() as session:
        push = session.scalars(select(Push)).one()
        assert push.content.title == title and len(push.targets.split(",")) == 2


def test_download_the_monthly_xlsx_and_mark_a_consultation_handled(page, db) -> None:  # type: ignore[no-untyped-def]
    _login(page)
    page.get_by_role("link", name="统计报表").click()
    with page.expect_download() as info:
        page.get_by_role("link", name="下载 Excel（xlsx）").click()
    download = info.value
    assert download.suggested_filename == "普法统计-2026-12.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert book.sheetnames

    page.get_by_role("link", name="咨询记录").click()
    page.get_by_role("link", name="全部待跟进").click()
    row = page.locator("tr[data-consultation]")
    assert "包工头跑了工钱找谁要<b>急</b>" in row.inner_text()  # shown as text, not as markup
    row.get_by_placeholder("跟进情况").fill("已联系劳动监察大队")
    row.get_by_role("button", name="标记已跟进").click()
    page.wait_for_url("**msg=handled")
    assert "已标记为已跟进" in page.locator(".flash").inner_text()
    with db.sessions() as session:
        consultation = session.scalars(select(Consultation)).one()
        assert (consultation.status, consultation.handled_note) == ("handled", "已联系劳动监察大队")
