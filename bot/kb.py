"""The legal Q&A knowledge base: YAML files under bot/kb/, one list of entries per category file.

Loading is all-or-nothing: every problem is collected with file and line, and a knowledge base with any problem is
refused as a whole (the bot will not start half-loaded).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Template, TemplateError

from core.categories import CATEGORIES
from core.errors import ValidationProblems
from core.templating import string_environment

KB_DIR = Path(__file__).resolve().parent / "kb"


_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
_REQUIRED = ("id", "category", "questions", "keywords", "laws", "reviewed", "answer")
_ARTICLE = re.compile(r"^第[一二三四五六七八九十百千零〇两0-9]+条(之[一二三四五六七八九十]+)?(第[一二三四五六七八九十0-9]+款)?$")


@dataclass(frozen=True)
class PlainText:
    """An answer without template syntax renders as itself: compiling a few hundred such answers with Jinja would
    cost every start of the bot and of `pufa ask` about a tenth of a second."""

    text: str

    def render(self, variables: Mapping[str, Any]) -> str:
        return self.text


@dataclass(frozen=True)
class Law:
    law: str
    article: str | None = None

    def __str__(self) -> str:
        return f"《{self.law}》{self.article or ''}"


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    questions: tuple[str, ...]
    keywords: tuple[str, ...]
    laws: tuple[Law, ...]
    reviewed: date
    answer: Template | PlainText
    answer_source: str
    source: str  # "bot/kb/labor.yaml:12"

    def render_answer(self, variables: Mapping[str, Any]) -> str:
        return self.answer.render(variables).strip()


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.id: e for e in self.entries})

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)  # type: ignore[attr-defined]

    def by_category(self) -> dict[str, int]:
        counts = Counter(e.category for e in self.entries)
        return {c: counts.get(c, 0) for c in CATEGORIES}


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 5x faster start-up


class _LineLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """Safe loader that remembers the line of every mapping (as key `__line__`)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        parent = KB_DIR.parent.parent
        try:
            return path.resolve().relative_to(parent).as_posix()
        except ValueError:
            return path.as_posix()


def _strings(value: Any) -> list[str] | None:
    """A list of non-empty texts; bare numbers (a hotline like 12315) are taken as text."""
    if not isinstance(value, list):
        return None
    items = [str(v).strip() if isinstance(v, (str, int)) and not isinstance(v, bool) else "" for v in value]
    return items if all(items) else None


def _parse_entry(
    raw: Any, where: str, env: Any, variables: Mapping[str, Any], problems: list[str]
) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: 每个条目必须是一组“键: 值”")
        return None
    line = raw.get("__line__", 0)
    at = f"{where.rsplit(':', 1)[0]}:{line}"
    before = len(problems)
    for key in _REQUIRED:
        if key not in raw or raw[key] in (None, "", []):
            problems.append(f"{at}: 缺少 {key}")
    unknown = sorted(set(raw) - set(_REQUIRED) - {"__line__"})
    if unknown:
        problems.append(f"{at}: 不认识的字段 {', '.join(map(str, unknown))}")
    if len(problems) > before:
        return None
    entry_id = str(raw["id"])
    if not _ID.match(entry_id):
        problems.append(f"{at}: id “{entry_id}” 只能用小写字母、数字和连字符")
    category = str(raw["category"])
    if category not in CATEGORIES:
        problems.append(f"{at}: 未知类别“{category}”（可用：{'、'.join(CATEGORIES)}）")
    questions = _strings(raw["questions"])
    if questions is None or len(questions) < 2:
        problems.append(f"{at}: questions 需要至少两种问法（文字列表）")
    keywords = _strings(raw["keywords"])
    if keywords is None:
        problems.append(f"{at}: keywords 必须是文字列表")
    laws: list[Law] = []
    if not isinstance(raw["laws"], list):
        problems.append(f"{at}: laws 必须是列表")
    else:
        for item in raw["laws"]:
            if not isinstance(item, dict) or not str(item.get("law", "")).strip():
                problems.append(f"{at}: laws 的每一项都要有 law（法律名称）")
                continue
            article = item.get("article")
            article = str(article).strip() if article not in (None, "") else None
            if article is not None and not _ARTICLE.match(article):
                problems.append(f"{at}: 法条“{article}”格式不对，应如“第一千零七十九条”或“第188条”；不确定就不写")
            laws.append(Law(str(item["law"]).strip().strip("《》"), article))
    reviewed = raw["reviewed"]
    if not isinstance(reviewed, date):
        problems.append(f"{at}: reviewed 必须是日期，如 2026-11-27")
    answer_text = raw["answer"]
    template = None
    if not isinstance(answer_text, str):
        problems.append(f"{at}: answer 必须是文字")
    else:
        try:
            # Jinja syntax always starts with "{" ({{ }}, {% %}, {# #}): without one the text is the answer.
            template = env.from_string(answer_text) if "{" in answer_text else PlainText(answer_text)
            rendered = template.render(variables)
            if not rendered.strip():
                problems.append(f"{at}: answer 渲染后是空的")
        except TemplateError as exc:
            problems.append(f"{at}: answer 模板错误：{exc}")
    if len(problems) > before or template is None:
        return None
    return Entry(
        id=entry_id,
        category=category,
        questions=tuple(questions or ()),
        keywords=tuple(keywords or ()),
        laws=tuple(laws),
        reviewed=reviewed,
        answer=template,
        answer_source=answer_text,
        source=at,
    )


def load_knowledge_base(
    variables: Mapping[str, Any], directory: Path = KB_DIR, *, min_per_category: int = 0
) -> KnowledgeBase:
    """Load and validate every `*.yaml` in `directory`; raise ValidationProblems listing every problem."""
    env = string_environment()
    problems: list[str] = []
    entries: list[Entry] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise ValidationProblems([], f"知识库目录 {directory} 里没有 .yaml 文件")
    for path in files:
        shown = _display(path)
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 0
            problems.append(f"{shown}:{line}: YAML 格式错误：{getattr(exc, 'problem', exc)}")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{shown}:0: 无法读取文件（{type(exc).__name__}），请用 UTF-8 保存")
            continue
        if not isinstance(data, list):
            problems.append(f"{shown}:1: 文件内容必须是条目列表（每条以“- id:”开头）")
            continue
        for raw in data:
            entry = _parse_entry(raw, f"{shown}:0", env, variables, problems)
            if entry is not None:
                entries.append(entry)
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.id in seen:
            problems.append(f"{entry.source}: id “{entry.id}” 重复（第一次出现在 {seen[entry.id]}）")
        else:
            seen[entry.id] = entry.source
    if min_per_category:
        counts = Counter(e.category for e in entries)
        for category in CATEGORIES:
            if counts.get(category, 0) < min_per_category:
                problems.append(f"{_display(directory)}: 类别“{category}”只有 {counts.get(category, 0)} 条，至少需要 {min_per_category} 条")
    if problems:
        raise ValidationProblems(problems, f"知识库有 {len(problems)} 处问题，未加载。")
    return KnowledgeBase(entries=tuple(entries))
