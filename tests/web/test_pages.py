"""The pages render what the services return, escape villagers' text, and refuse bad input politely."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import openpyxl

from bot.consultations import record_consultation
from core import groups as group_registry


def _seed(db, clock) -> None:  # type: ignore[no-untyped-def]
    with db.sessions.begin() as session:
        g1 = group_registry.add_group(session, room_id="g1@chatroom", name="一组", now=clock.now(), member_count=50)
        g2 = group_registry.add_group(session, room_id="g2@chatroom", name="二组", now=clock.now())
        asked = clock.now() - timedelta(hours=2)
        record_consultation(session, asked_at=asked, sender_hash="a" * 64, question="<script>alert('x')</script>欠工钱",
                            category="劳动用工", entry_id=None, score=0.2, status="pending", group_id=g1.id)
        record_consultation(session, asked_at=asked, sender_hash="b" * 64, question="离婚孩子归谁",
                            category="婚姻家庭", entry_id="marriage-custody", score=0.9, status="answered",
                            group_id=g2.id)


def test_home_shows_month_figures_pending_and_key_dates(admin, db, clock) -> None:  # type: ignore[no-untyped-def]
    _seed(db, clock)
    page = admin.get("/")
    assert page.status_code == 200
    assert "2026年12月咨询人次" in page.text
    assert 'data-testid="person-times">2<' in page.text
    assert 'data-testid="pending-count">1<' in page.text
    assert "宪法日" in page.text  # 12·4 is three days after the test clock's 12月1日
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;欠工钱" in page.text


def test_consultations_filter_by_category_group_status(admin, db, clock) -> None:  # type: ignore[no-untyped-def]
    _seed(db, clock)
    everything = admin.get("/consultations").text
    assert "离婚孩子归谁" in everything and "欠工钱" in everything
    assert "<script>alert" not in everything
    by_category = admin.get("/consultations", params={"category": "婚姻家庭"}).text
    assert "离婚孩子归谁" in by_category and "欠工钱" not in by_category
    with db.sessions() as session:
        g2 = group_registry.find_group(session, "二组").id
    by_group = admin.get("/consultations", params={"group": str(g2)}).text
    assert "离婚孩子归谁" in by_group and "欠工钱" not in by_group
    pending = admin.get("/consultations", params={"status": "pending", "month": ""}).text
    assert "欠工钱" in pending and "离婚孩子归谁" not in pending
    other_month = admin.get("/consultations", params={"month": "2026-10"}).text
    assert "没有符合条件的记录" in other_month
    bad = admin.get("/consultations", params={"month": "十二月"})
    assert bad.status_code == 200 and "格式不对" in bad.text


def test_mark_handled_with_empty_note_is_a_polite_refusal(admin, db, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import csrf_of

    _seed(db, clock)
    page = admin.get("/consultations?status=pending&month=")
    response = admin.post("/consultations/1/handle", data={"note": "  ", "csrf_token": csrf_of(page.text)})
    assert response.status_code == 400
    assert "跟进说明不能为空" in response.text
    missing = admin.post("/consultations/999/handle", data={"note": "x", "csrf_token": csrf_of(page.text)})
    assert missing.status_code == 400 and "找不到编号为 999" in missing.text


def test_reports_page_and_downloads(admin, db, clock) -> None:  # type: ignore[no-untyped-def]
    _seed(db, clock)
    page = admin.get("/reports?month=2026-12")
    assert page.status_code == 200
    assert "咨询 <b>2</b> 人次" in page.text
    assert "复制这段文字" in page.text
    xlsx = admin.get("/reports/monthly?month=2026-12&format=xlsx")
    assert xlsx.status_code == 200
    assert "filename*=UTF-8''" in xlsx.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(book.sheetnames) >= 3
    csv = admin.get("/reports/monthly?month=2026-12&format=csv")
    assert csv.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(csv.content)).namelist()
    assert admin.get("/reports/monthly?month=2026-13").status_code == 400
    assert admin.get("/reports/monthly?month=2026-12&format=pdf").status_code == 400


def test_wrong_parameter_types_get_a_chinese_page(admin) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/consultations/abc/handle", data={"note": "x"})
    assert response.status_code in {400, 403}
    assert "detail" not in response.text[:20]


def test_latest_consultations_counts_all_and_returns_the_newest(db, clock) -> None:  # type: ignore[no-untyped-def]
    from pufa.web.queries import latest_consultations

    with db.sessions.begin() as session:
        for hours, question in ((3, "最早"), (2, "中间"), (1, "最新")):
            record_consultation(session, asked_at=clock.now() - timedelta(hours=hours), sender_hash=question * 10,
                                question=question, category="劳动用工", entry_id=None, score=0.1, status="pending")
    with db.sessions() as session:
        total, rows = latest_consultations(session, status="pending", limit=2)
        assert total == 3 and [r.question for r in rows] == ["最新", "中间"]
        assert latest_consultations(session, category="婚姻家庭") == (0, [])
