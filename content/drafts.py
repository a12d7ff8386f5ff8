"""Articles and cases written in the staff web console: checked by exactly the rules of the file library (the
library's own loader runs on the file the draft would be), with each problem attached to the form field it is
about, and saved into content_items.

Console items live only in the database (`data.path` is CONSOLE_PATH); `pufa content import` never touches them,
and items that came from library files are edited in their files, not here, so an import cannot silently undo a
console edit. Cases are loaded by cases/ (which this layer may not import): the composition root passes
`cases.library.load_case` in as the loader.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from content.articles import load_article
from content.store import import_items
from core.errors import UserError
from core.frontmatter import Problem
from core.models import ContentItem

CONSOLE_PATH = "网页控制台"
FIELDS = {
    "article": ("slug", "title", "summary", "laws", "tags", "key_dates", "reviewed"),
    "case": ("slug", "title", "explainer", "laws", "tags", "key_dates", "reviewed"),
}
# The four parts of a case, as `## 标题` sections of its body (cases.library.SECTIONS).
CASE_SECTIONS = (("案情", "facts"), ("处理结果", "outcome"), ("说法", "explanation"), ("提醒", "tip"))
CASE_BODY_TEMPLATE = "\n\n".join(f"## {name}\n\n" for name, _key in CASE_SECTIONS).rstrip() + "\n"
Loader = Callable[[Path, set[str]], tuple[Any, list[Problem]]]


@dataclass
class Draft:
    kind: str = "article"  # article | case
    slug: str = ""
    title: str = ""
    summary: str = ""  # articles
    explainer: str = "法官说法"  # cases: 法官说法 | 律师说法
    laws: str = ""  # one per line or comma separated, as typed
    tags: str = ""
    key_dates: list[str] = field(default_factory=list)
    reviewed: str = ""
    body: str = ""  # a case's body holds its four `## ` sections

    @staticmethod
    def split(text: str) -> list[str]:
        return [part.strip() for part in re.split(r"[\n,，、]", text or "") if part.strip()]

    @property
    def fields(self) -> tuple[str, ...]:
        return FIELDS["case" if self.kind == "case" else "article"]

    def to_markdown(self) -> str:
        """The library file this draft would be; values are JSON-quoted, which YAML reads back verbatim."""
        meta = {
            "slug": self.slug.strip(), "title": self.title.strip(), "summary": self.summary.strip(),
            "explainer": self.explainer.strip(), "laws": self.split(self.laws), "tags": self.split(self.tags),
            "key_dates": [k for k in self.key_dates if k], "reviewed": self.reviewed.strip(),
        }
        lines = ["---"]
        for key in self.fields:
            value = meta[key]
            if key == "reviewed" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
                lines.append(f"{key}: {value}")  # a YAML date, as in the library files
            else:
                lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        lines.append("---")
        return "\n".join(lines) + "\n" + self.body.replace("\r\n", "\n").strip() + "\n"

    def sections(self) -> dict[str, str]:
        """A case body's sections by key, leniently (for a preview while it is still being written)."""
        found: dict[str, str] = {key: "" for _name, key in CASE_SECTIONS}
        names = dict(CASE_SECTIONS)
        current = None
        for line in self.body.replace("\r\n", "\n").split("\n"):
            heading = re.match(r"^##\s*(.+?)\s*$", line)
            if heading:
                current = names.get(heading.group(1))
                continue
            if current:
                found[current] += line + "\n"
        return {key: text.strip() for key, text in found.items()}

    def preview_data(self) -> dict[str, Any]:
        common = {"laws": self.split(self.laws), "tags": self.split(self.tags), "key_dates": self.key_dates, "path": ""}
        if self.kind == "case":
            return {**common, "explainer": self.explainer.strip(),
                    **{key: text or "（待填写）" for key, text in self.sections().items()}}
        return {**common, "summary": self.summary.strip(), "body": self.body.strip() or "（正文）"}

    @classmethod
    def from_item(cls, item: ContentItem) -> Draft:
        data = item.data
        if item.kind == "case":
            body = "\n\n".join(f"## {name}\n\n{data.get(key, '')}" for name, key in CASE_SECTIONS)
        else:
            body = data.get("body", "")
        return cls(kind=item.kind, slug=item.slug, title=item.title, summary=data.get("summary", ""),
                   explainer=data.get("explainer", "法官说法"), laws="\n".join(data.get("laws", [])),
                   tags="，".join(data.get("tags", [])), key_dates=list(data.get("key_dates", [])),
                   reviewed=item.reviewed.isoformat() if item.reviewed else "", body=body)



def check_draft(draft: Draft, known_key_dates: set[str], loader: Loader | None = None) -> tuple[Any, dict[str, list[str]]]:
    """The item (Article or Case), or the problems by form field ("body" for the text, "" for anything else)."""
    loader = loader or load_article
    text = draft.to_markdown()
    with tempfile.TemporaryDirectory(prefix="pufa-draft-") as folder:
        slug = draft.slug.strip()
        path = Path(folder) / (f"{slug}.md" if re.fullmatch(r"[A-Za-z0-9-]{1,80}", slug) else "draft.md")
        path.write_text(text, encoding="utf-8")
        item, problems = loader(path, known_key_dates)
    fields = draft.fields
    body_line = len(fields) + 3  # after the opening ---, one line per field, the closing ---
    errors: dict[str, list[str]] = {}
    for problem in problems:
        if problem.line >= body_line:
            key = "body"
        elif 2 <= problem.line < 2 + len(fields):
            key = fields[problem.line - 2]
        else:
            key = ""
        errors.setdefault(key, []).append(problem.message)
    if item is None:
        return None, errors
    checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return dataclasses.replace(item, path=CONSOLE_PATH, checksum=checksum), {}


def is_console_item(item: ContentItem) -> bool:
    return item.kind in {"article", "case"} and item.data.get("path") == CONSOLE_PATH


def save_item(session: Session, item: Any, now: datetime, *, existing: ContentItem | None) -> None:
    """Create (existing None: the slug must be new) or update a console item, in the caller's transaction."""
    found = session.scalar(select(ContentItem).where(ContentItem.slug == item.slug))
    if existing is None and found is not None:
        raise UserError(f"slug “{item.slug}”已经有了，请换一个")
    if existing is not None:
        if not is_console_item(existing):
            raise UserError("这篇来自内容库文件，请修改文件后运行 pufa content import")
        if item.slug != existing.slug or item.kind != existing.kind:
            raise UserError("slug 和类型创建后不能修改")
    import_items(session, [item], now)
