"""内容库 editing: field-by-field problems, live preview JSON with the split, create and edit console articles."""

from __future__ import annotations

from sqlalchemy import select

from content.store import import_items
from core.models import AuditLog, ContentItem
from pufa.library import load_library
from pufa.qa_wiring import template_globals
from tests.web.conftest import csrf_of

LONG_BODY = "\n\n".join(["宪法是国家的根本法，规定了公民的基本权利和义务。" * 8] * 3)


def _article(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "slug": "village-constitution-talk", "title": "村里人说宪法", "summary": "宪法和咱过日子的关系。",
        "laws": "宪法\n法治宣传教育法", "tags": "宪法法治，宪法", "key_date": ["constitution-day"],
        "reviewed": "2026-11-27", "body": LONG_BODY + "\n\n有问题找{{ sifasuo }}。",
    }
    form.update(overrides)
    return form


def test_problems_are_shown_next_to_their_fields(admin, db) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(admin.get("/content/new").text)
    response = admin.post("/content/new", data={"csrf_token": token, **_article(
        slug="Bad Slug", title="标" * 31, tags="随便", key_date=["nope"], body="{% if %}")})
    assert response.status_code == 400
    html = response.text
    for name, message in [("slug", "只能用小写字母"), ("title", "标题太长"), ("tags", "问答类别"),
                          ("key_dates", "未知节点"), ("body", "正文模板错误")]:
        block = html.split(f'data-errors-for="{name}">', 1)[1].split("</div>", 1)[0]
        assert message in block, (name, block)
    assert 'value="Bad Slug"' in html  # what was typed stays in the form
    with db.sessions() as session:
        assert session.scalars(select(ContentItem)).all() == []


def test_live_preview_returns_the_split_messages(admin) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(admin.get("/content/new").text)
    result = admin.post("/content/preview", data={"csrf_token": token, **_article()}).json()
    assert len(result["parts"]) >= 2
    assert result["parts"][0].startswith("【普法】村里人说宪法") or "村里人说宪法" in result["parts"][0]
    assert all(n <= 600 + 10 for n in result["lengths"])
    assert "青山镇司法所" in result["parts"][-1]
    assert result["errors"] == {}
    bad = admin.post("/content/preview", data={"csrf_token": token, **_article(body="{{ nosuch }}")}).json()
    assert "body" in bad["errors"]
    assert admin.post("/content/preview", data=_article()).status_code == 403  # no CSRF token


def test_create_then_edit_a_console_article(admin, db) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(admin.get("/content/new").text)
    created = admin.post("/content/new", data={"csrf_token": token, **_article()}, follow_redirects=False)
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/content/village-constitution-talk?msg=saved"
    preview = admin.get(created.headers["location"]).text
    assert "文章已保存" in preview and "第 2/" in preview and "修改" in preview
    again = admin.post("/content/new", data={"csrf_token": token, **_article()})
    assert again.status_code == 400 and "已经有了" in again.text

    form = admin.get("/content/village-constitution-talk/edit")
    assert form.status_code == 200 and "村里人说宪法" in form.text
    edited = admin.post("/content/village-constitution-talk/edit",
                        data={"csrf_token": token, **_article(title="村里人聊宪法")}, follow_redirects=False)
    assert edited.status_code == 303
    with db.sessions() as session:
        item = session.scalars(select(ContentItem)).one()
        assert (item.title, item.kind, item.data["path"]) == ("村里人聊宪法", "article", "网页控制台")
        assert [a.action for a in session.scalars(select(AuditLog).where(AuditLog.action.like("content.%")))] == [
            "content.add", "content.edit"]


def test_library_file_articles_are_edited_in_their_files(admin, db, clock, settings) -> None:  # type: ignore[no-untyped-def]
    with db.sessions.begin() as session:
        import_items(session, load_library(template_globals(settings)).items, clock.now())
    page = admin.get("/content/constitution-day-basics/edit")
    assert page.status_code == 400 and "pufa content import" in page.text
    token = csrf_of(admin.get("/content/new").text)
    refused = admin.post("/content/constitution-day-basics/edit",
                         data={"csrf_token": token, **_article(slug="constitution-day-basics")})
    assert refused.status_code == 400 and "来自内容库文件" in refused.text


def _case(**overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "kind": "case", "slug": "case-village-fence", "title": "邻居砌墙占了路，咋办？", "explainer": "律师说法",
        "laws": "民法典", "tags": "土地房产", "key_date": [], "reviewed": "2026-11-27",
        "body": "## 案情\n\n老张家砌院墙占了村道。\n\n## 处理结果\n\n调解后拆除。\n\n## 说法\n\n相邻关系要互相方便。\n\n## 提醒\n\n有纠纷找{{ sifasuo }}。",
    }
    form.update(overrides)
    return form


def test_create_and_edit_a_console_case(admin, db) -> None:  # type: ignore[no-untyped-def]
    new = admin.get("/content/new?kind=case")
    assert "写新案例" in new.text and "## 案情" in new.text and "律师说法" in new.text
    token = csrf_of(new.text)
    live = admin.post("/content/preview", data={"csrf_token": token, **_case()}).json()
    assert live["errors"] == {} and "【以案说法】" in live["parts"][0] and "青山镇司法所" in "".join(live["parts"])
    missing = admin.post("/content/new", data={"csrf_token": token, **_case(body="## 案情\n\n只有案情。")})
    assert missing.status_code == 400
    assert "处理结果" in missing.text.split('data-errors-for="body">', 1)[1].split("</div>", 1)[0]
    created = admin.post("/content/new", data={"csrf_token": token, **_case()}, follow_redirects=False)
    assert created.status_code == 303, created.text
    edit = admin.get("/content/case-village-fence/edit")
    assert edit.status_code == 200 and "老张家砌院墙占了村道。" in edit.text
    changed = admin.post("/content/case-village-fence/edit", data={"csrf_token": token, **_case(title="院墙占路，咋办？")},
                         follow_redirects=False)
    assert changed.status_code == 303
    with db.sessions() as session:
        item = session.scalars(select(ContentItem)).one()
        assert (item.kind, item.title, item.data["explainer"], item.data["outcome"]) == (
            "case", "院墙占路，咋办？", "律师说法", "调解后拆除。")
