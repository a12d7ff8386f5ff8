"""普法 articles: Markdown files with YAML front matter under content/library/, loaded and validated with file:line
problems, rendered to WeChat text with content/templates/article.txt.j2."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateSyntaxError

from core.categories import CATEGORIES  # every item's tags include the Q&A category it belongs to
from core.frontmatter import (
    FrontMatterFile,
    Problem,
    check_slug,
    check_tags_and_key_dates,
    check_unknown_fields,
    load_folder,
    read_front_matter,
    require_date,
    require_list,
    require_str,
)
from core.templating import render_problems, string_environment, text_environment
from core.text import split_message

PACKAGE = Path(__file__).resolve().parent
LIBRARY_DIR = PACKAGE / "library"
TEMPLATES_DIR = PACKAGE / "templates"
MAX_TITLE = 30
MAX_SUMMARY = 60

ARTICLE_FIELDS = {"slug", "title", "summary", "laws", "tags", "key_dates", "reviewed"}


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    summary: str
    body: str
    laws: tuple[str, ...]
    tags: tuple[str, ...]
    key_dates: tuple[str, ...]
    reviewed: date | None
    path: str = ""
    checksum: str = ""
    kind: str = field(default="article", init=False)

    def to_data(self) -> dict[str, Any]:
        """What content_items.data stores: everything the template needs."""
        return {
            "summary": self.summary,
            "body": self.body,
            "laws": list(self.laws),
            "tags": list(self.tags),
            "key_dates": list(self.key_dates),
            "path": self.path,
        }


def check_template(doc: FrontMatterFile, env: Environment, source: str, first_line: int, name: str) -> None:
    """A body is Jinja2 template text: syntax errors are reported at their line in the file."""
    try:
        env.parse(source)
    except TemplateSyntaxError as exc:
        doc.problem(f"{name}模板错误：{exc.message}", line=first_line + max((exc.lineno or 1) - 1, 0))


def load_article(path: Path, known_key_dates: set[str], env: Environment | None = None) -> tuple[Article | None, list[Problem]]:
    doc = read_front_matter(path)
    if doc.problems:
        return None, doc.problems
    env = env or string_environment()
    slug = check_slug(doc)
    title = require_str(doc, "title", max_len=MAX_TITLE, label="标题")
    summary = require_str(doc, "summary", max_len=MAX_SUMMARY, label="摘要")
    laws = require_list(doc, "laws")
    tags, key_dates = check_tags_and_key_dates(doc, known_key_dates, CATEGORIES)
    reviewed = require_date(doc, "reviewed")
    check_unknown_fields(doc, ARTICLE_FIELDS)
    body = doc.body.strip()
    if not body:
        doc.problem("正文为空", line=doc.body_line)
    else:
        check_template(doc, env, doc.body, doc.body_line, "正文")
    if doc.problems:
        return None, doc.problems
    raw = path.read_bytes()
    return (
        Article(
            slug=slug, title=title, summary=summary, body=body, laws=tuple(laws), tags=tuple(tags),
            key_dates=tuple(key_dates), reviewed=reviewed, path=doc.display,
            checksum=hashlib.sha256(raw).hexdigest(),
        ),
        [],
    )


def load_articles(
    directory: Path = LIBRARY_DIR, known_key_dates: Iterable[str] = ()
) -> tuple[list[Article], list[Problem]]:
    """Every article in the folder, and every problem found (all files are read, none stops the others)."""
    known = set(known_key_dates)
    env = string_environment()
    return load_folder(directory, lambda path: load_article(path, known, env))


class ArticleRenderer:
    """Renders an article (its body is itself a sandboxed template) through article.txt.j2, then splits it."""

    def __init__(self, globals_: Mapping[str, Any], env: Environment | None = None) -> None:
        self._env = env or text_environment([TEMPLATES_DIR])
        self._bodies = string_environment()
        self._globals = dict(globals_)

    def render_text(self, title: str, data: Mapping[str, Any]) -> str:
        body = self._bodies.from_string(data["body"]).render(self._globals).strip()
        template = self._env.get_template("article.txt.j2")
        return template.render({**self._globals, **data, "title": title, "body": body}).strip()

    def render(self, title: str, data: Mapping[str, Any]) -> list[str]:
        return split_message(self.render_text(title, data))

    def render_notice_text(self, data: Mapping[str, Any]) -> str:
        return self._env.get_template("notice.txt.j2").render({**self._globals, **data}).strip()

    def render_notice(self, data: Mapping[str, Any]) -> list[str]:
        return split_message(self.render_notice_text(data))

    def check(self, article: Article) -> list[str]:
        return render_problems(lambda: self.render(article.title, article.to_data()))
