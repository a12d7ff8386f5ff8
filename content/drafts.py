"""Articles written in the staff web console: checked by exactly the rules of the file library (the same
`load_article`), with each problem attached to the form field it is about, and saved into content_items.

Console articles live only in the database (`data.path` is CONSOLE_PATH); `pufa content import` never touches
them, and articles that came from library files are edited in their files, not here, so an import cannot
silently undo a console edit.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.articles import Article, load_article
from content.store import import_items
from core.errors import UserError
from core.models import ContentItem

CONSOLE_PATH = "网页控制台"
FIELDS = ("slug", "title", "summary", "laws", "tags", "key_dates", "reviewed")
_BODY_LINE = len(FIELDS) + 3  # after the opening ---, one line per field, the closing ---


@dataclass
class ArticleDraft:
    slug: str = ""
    title: str = ""
    summary: str = ""
    laws: str = ""  # one per line or comma separated, as typed
    tags: str = ""
    key_dates: list[str] = field(default_factory=list)
    reviewed: str = ""
    body: str = ""

    @staticmethod
    def split(text: str) -> list[str]:
        return [part.strip() for part in re.split(r"[\n,，、]", text or "") if part.strip()]

    def to_markdown(self) -> str:
        """The library file this draft would be; values are JSON-quoted, which YAML reads back verbatim."""
        meta = {
            "slug": self.slug.strip(), "title": self.title.strip(), "summary": self.summary.strip(),
            "laws": self.split(self.laws), "tags": self.split(self.tags),
            "key_dates": [k for k in self.key_dates if k], "reviewed": self.reviewed.strip(),
        }
        lines = ["---"]
        for key in FIELDS:
            value = meta[key]
            if key == "reviewed" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
                lines.append(f"{key}: {value}")  # a YAML date, as in the library files
            else:
                lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        lines.append("---")
        return "\n".join(lines) + "\n" + self.body.replace("\r\n", "\n").strip() + "\n"

    @classmethod
    def from_item(cls, item: ContentItem) -> ArticleDraft:
        data = item.data
        return cls(slug=item.slug, title=item.title, summary=data.get("summary", ""), laws="\n".join(data.get("laws", [])),
                   tags="，".join(data.get("tags", [])), key_dates=list(data.get("key_dates", [])),
                   reviewed=item.reviewed.isoformat() if item.reviewed else "", body=data.get("body", ""))


def check_draft(draft: ArticleDraft, known_key_dates: set[str]) -> tuple[Article | None, dict[str, list[str]]]:
    """The article, or the problems by form field ("body" for the text, "" for anything else)."""
    text = draft.to_markdown()
    with tempfile.TemporaryDirectory(prefix="pufa-draft-") as folder:
        slug = draft.slug.strip()
        path = Path(folder) / (f"{slug}.md" if re.fullmatch(r"[A-Za-z0-9-]{1,80}", slug) else "draft.md")
        path.write_text(text, encoding="utf-8")
        article, problems = load_article(path, known_key_dates)
    errors: dict[str, list[str]] = {}
    for problem in problems:
        if problem.line >= _BODY_LINE:
            key = "body"
        elif 2 <= problem.line < 2 + len(FIELDS):
            key = FIELDS[problem.line - 2]
        else:
            key = ""
        errors.setdefault(key, []).append(problem.message)
    if article is None:
        return None, errors
    checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Article(slug=article.slug, title=article.title, summary=article.summary, body=article.body,
                   laws=article.laws, tags=article.tags, key_dates=article.key_dates, reviewed=article.reviewed,
                   path=CONSOLE_PATH, checksum=checksum), {}


def is_console_item(item: ContentItem) -> bool:
    return item.kind == "article" and item.data.get("path") == CONSOLE_PATH


def save_article(session: Session, article: Article, now: datetime, *, existing: ContentItem | None) -> None:
    """Create (existing None: the slug must be new) or update a console article, in the caller's transaction."""
    found = session.scalar(select(ContentItem).where(ContentItem.slug == article.slug))
    if existing is None and found is not None:
        raise UserError(f"slug “{article.slug}”已经有了，请换一个")
    if existing is not None:
        if not is_console_item(existing):
            raise UserError("这篇来自内容库文件，请修改文件后运行 pufa content import")
        if article.slug != existing.slug:
            raise UserError("slug 创建后不能修改")
    import_items(session, [article], now)
