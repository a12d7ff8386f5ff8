"""Article loading and validation (file:line problems), rendering, all-or-nothing import, and the real library."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from content.articles import ArticleRenderer, load_articles
from content.keydates import load_key_dates
from content.store import import_items
from core.errors import ValidationProblems
from core.models import ContentItem
from core.text import MAX_MESSAGE_CHARS
from pufa.app import Database
from pufa.library import load_library, require_clean
from tests.conftest import TZ

GLOBALS = {"bot_name": "普法助手", "sifasuo": "青山镇司法所", "township": "青山镇",
           "help_line": "青山镇司法所或12348", "trigger": "普法"}
KEYS = load_key_dates().ids

GOOD = """---
slug: {slug}
title: 宪法和咱有啥关系
summary: 一句话。
laws:
  - 宪法
tags: [宪法法治, 宪法]
key_dates: [constitution-day]
reviewed: 2026-11-27
---
第一段，{{{{ sifasuo }}}}欢迎大家。

第二段。
"""


def write(folder: Path, slug: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug}.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_article_loads_and_renders_with_the_sender_line(tmp_path: Path) -> None:
    write(tmp_path, "good-one", GOOD.format(slug="good-one"))
    articles, problems = load_articles(tmp_path, KEYS)
    assert problems == []
    [article] = articles
    assert article.key_dates == ("constitution-day",)
    [text] = ArticleRenderer(GLOBALS).render(article.title, article.to_data())
    assert text.startswith("【普法】宪法和咱有啥关系")
    assert "第一段，青山镇司法所欢迎大家。" in text
    assert "法律依据：宪法" in text


@pytest.mark.parametrize(
    ("change", "line", "expected"),
    [
        (lambda t: t.replace("title: 宪法和咱有啥关系", "title: " + "很长" * 16), 3, "标题太长"),
        (lambda t: t.replace("[constitution-day]", "[constitution-dya]"), 8, "未知节点 “constitution-dya”"),
        (lambda t: t.replace("summary: 一句话。\n", ""), 1, "缺少字段 summary"),
        (lambda t: t.replace("laws:\n  - 宪法\n", "laws: [宪法\n"), 6, "YAML 头部格式错误"),
        (lambda t: t.replace("第二段。", "第二段{% if %}。"), 13, "正文模板错误"),
        (lambda t: t.replace("tags: [宪法法治, 宪法]", "tags: [宪法]"), 7, "问答类别"),
        (lambda t: t.replace("slug: bad", "slug: other"), 2, "应与文件名"),
        (lambda t: t.replace("reviewed: 2026-11-27", "reviewed: 昨天"), 9, "不是日期"),
    ],
)
def test_every_problem_names_file_and_line(tmp_path: Path, change, line: int, expected: str) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, "bad", change(GOOD.format(slug="bad")))
    articles, problems = load_articles(tmp_path, KEYS)
    assert articles == []
    assert problems, expected
    rendered = [str(p) for p in problems]
    assert any(expected in r for r in rendered), rendered
    assert any(r.split(":")[0].endswith("bad.md") and r.split(":")[1] == str(line) for r in rendered), rendered


def test_all_files_are_checked_and_all_problems_reported(tmp_path: Path) -> None:
    write(tmp_path, "one", GOOD.format(slug="one").replace("constitution-day]", "nope]"))
    write(tmp_path, "two", "no front matter")
    write(tmp_path, "three", GOOD.format(slug="three"))
    articles, problems = load_articles(tmp_path, KEYS)
    assert [a.slug for a in articles] == ["three"]
    assert {Path(p.path).name for p in problems} == {"one.md", "two.md"}


def test_import_is_all_or_nothing(db: Database, tmp_path: Path) -> None:
    now = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)
    write(tmp_path / "a", "good-one", GOOD.format(slug="good-one"))
    write(tmp_path / "a", "broken", GOOD.format(slug="broken").replace("[constitution-day]", "[oops]"))
    library = load_library(GLOBALS, articles_dir=tmp_path / "a", cases_dir=tmp_path / "none")
    with pytest.raises(ValidationProblems) as problems:
        require_clean(library)
    assert any("broken.md" in line for line in problems.value.problems)
    with db.sessions() as session:
        assert session.scalars(select(ContentItem)).all() == []

    (tmp_path / "a" / "broken.md").unlink()
    library = require_clean(load_library(GLOBALS, articles_dir=tmp_path / "a", cases_dir=tmp_path / "none"))
    with db.sessions.begin() as session:
        report = import_items(session, library.items, now)
    assert (report.added, report.updated, report.unchanged) == (1, 0, 0)
    with db.sessions.begin() as session:
        report = import_items(session, library.items, now)
    assert (report.added, report.unchanged) == (0, 1)
    with db.sessions() as session:
        row = session.scalar(select(ContentItem))
        assert row is not None and row.kind == "article" and row.key_dates == "constitution-day"


def test_the_starter_library_passes_the_check_and_covers_every_key_date() -> None:
    library = load_library(GLOBALS)
    assert [str(p) for p in library.problems] == []
    assert len(library.articles) >= 40 and len(library.cases) >= 25
    used = {k for item in library.items for k in item.key_dates}
    assert used == KEYS
    for article in library.articles:
        for part in ArticleRenderer(GLOBALS).render(article.title, article.to_data()):
            assert len(part) <= MAX_MESSAGE_CHARS
