"""Markdown files with YAML front matter, parsed with line numbers so every problem can say `file:line`.

Shared by the article library (content/) and the case library (cases/), which must not import each other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import yaml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_KEY_DATES = 3
T = TypeVar("T")


@dataclass
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class FrontMatterFile:
    path: Path
    meta: dict[str, Any]
    body: str
    body_line: int  # 1-based line number of the first body line
    key_lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def display(self) -> str:
        return display_path(self.path)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, 1)

    def problem(self, message: str, *, key: str | None = None, line: int | None = None) -> None:
        self.problems.append(Problem(self.display, line or (self.line_of(key) if key else 1), message))


def display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_front_matter(path: Path) -> FrontMatterFile:
    """Split `---` YAML front matter from the body. Problems are collected, never raised."""
    try:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        doc = FrontMatterFile(path, {}, "", 1)
        doc.problem("文件不是 UTF-8 编码")
        return doc
    lines = text.split("\n")
    doc = FrontMatterFile(path, {}, "", 1)
    if not lines or lines[0].strip() != "---":
        doc.problem("文件开头缺少 YAML 头部（第一行应是 ---）")
        doc.body = text
        return doc
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        doc.problem("YAML 头部没有结束行 ---")
        return doc
    raw = "\n".join(lines[1:end])
    doc.body = "\n".join(lines[end + 1 :])
    doc.body_line = end + 2
    for offset, line in enumerate(lines[1:end], start=2):
        match = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
        if match:
            doc.key_lines.setdefault(match.group(1), offset)
    try:
        meta = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        doc.problem("YAML 头部格式错误（常见原因：括号或引号没配对、冒号后缺空格、缩进不齐）", line=line)
        return doc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        doc.problem("YAML 头部应是“字段: 值”的形式", line=2)
        return doc
    doc.meta = meta
    return doc


# -- field helpers: each returns a clean value or records a problem --------------------------------
def require_str(doc: FrontMatterFile, key: str, *, max_len: int | None = None, label: str = "") -> str:
    name = label or key
    value = doc.meta.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        doc.problem(f"缺少字段 {key}（{name}）", key=key)
        return ""
    if not isinstance(value, str | int | float):
        doc.problem(f"字段 {key} 应是一段文字", key=key)
        return ""
    text = str(value).strip()
    if max_len is not None and len(text) > max_len:
        doc.problem(f"{name}太长：{len(text)} 个字，最多 {max_len} 个字", key=key)
    return text


def require_list(doc: FrontMatterFile, key: str, *, allow_empty: bool = False, max_items: int | None = None) -> list[str]:
    value = doc.meta.get(key)
    if value is None:
        if allow_empty and key in doc.meta:
            return []
        doc.problem(f"缺少字段 {key}", key=key)
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        doc.problem(f"字段 {key} 应是列表，例如 [a, b]", key=key)
        return []
    items = [str(v).strip() for v in value if str(v).strip()]
    if not items and not allow_empty:
        doc.problem(f"字段 {key} 不能为空", key=key)
    if max_items is not None and len(items) > max_items:
        doc.problem(f"字段 {key} 最多 {max_items} 项，现有 {len(items)} 项", key=key)
    return items


def require_date(doc: FrontMatterFile, key: str) -> date | None:
    value = doc.meta.get(key)
    if value is None:
        doc.problem(f"缺少字段 {key}（审核日期，如 2026-11-27）", key=key)
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        doc.problem(f"字段 {key} 不是日期（应形如 2026-11-27）", key=key)
        return None


def check_slug(doc: FrontMatterFile) -> str:
    slug = require_str(doc, "slug")
    if slug and not SLUG.match(slug):
        doc.problem(f"slug “{slug}” 只能用小写字母、数字和连字符", key="slug")
    elif slug and slug != doc.path.stem:
        doc.problem(f"slug “{slug}” 应与文件名 {doc.path.stem}.md 一致", key="slug")
    return slug


def check_unknown_fields(doc: FrontMatterFile, allowed: set[str]) -> None:
    for key in doc.meta:
        if key not in allowed:
            doc.problem(f"未知字段 {key}（可用字段：{'、'.join(sorted(allowed))}）", key=str(key))


def check_tags_and_key_dates(
    doc: FrontMatterFile, known_key_dates: set[str], categories: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Tags (one of them a Q&A category, when categories are given) and key dates (known ids, at most 3)."""
    tags = require_list(doc, "tags")
    cats = tuple(categories)
    if tags and cats and not any(t in cats for t in tags):
        doc.problem(f"tags 里要有一个问答类别：{'、'.join(cats)}", key="tags")
    key_dates = require_list(doc, "key_dates", allow_empty=True, max_items=MAX_KEY_DATES)
    for key in key_dates:
        if key not in known_key_dates:
            doc.problem(f"未知节点 “{key}”（可用：{'、'.join(sorted(known_key_dates))}）", key="key_dates")
    return tags, key_dates


def load_folder(directory: Path, load: Callable[[Path], tuple[T | None, list[Problem]]]) -> tuple[list[T], list[Problem]]:
    """Every `*.md` in the folder, and every problem found (all files are read, none stops the others)."""
    items: list[T] = []
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.md")):
        item, found = load(path)
        problems.extend(found)
        if item is not None:
            items.append(item)
    return items, problems
