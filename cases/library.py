"""以案说法 cases: Markdown with YAML front matter and exactly four sections (## 案情, ## 处理结果, ## 说法, ## 提醒),
loaded and validated with file:line problems, rendered in one fixed, recognisable shape (cases/templates/case.txt.j2).

Key-date ids and Q&A categories are passed in: this package does not import the article package.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateSyntaxError

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
SECTIONS = (("案情", "facts"), ("处理结果", "outcome"), ("说法", "explanation"), ("提醒", "tip"))
EXPLAINERS = ("法官说法", "律师说法")
CASE_FIELDS = {"slug", "title", "explainer", "laws", "tags", "key_dates", "reviewed"}
_HEADING = re.compile(r"^##\s*(.+?)\s*$")


@dataclass(frozen=True)
class Case:
    slug: str
    title: str
    explainer: str
    facts: str
    outcome: str
    explanation: str
    tip: str
    laws: tuple[str, ...]
    tags: tuple[str, ...]
    key_dates: tuple[str, ...]
    reviewed: date | None
    path: str = ""
    checksum: str = ""
    kind: str = field(default="case", init=False)

    def to_data(self) -> dict[str, Any]:
        return {
            "explainer": self.explainer,
            "facts": self.facts,
            "outcome": self.outcome,
            "explanation": self.explanation,
            "tip": self.tip,
            "laws": list(self.laws),
            "tags": list(self.tags),
            "key_dates": list(self.key_dates),
            "path": self.path,
        }


def _sections(doc: FrontMatterFile, env: Environment) -> dict[str, str]:
    """The four sections, in order, each non-empty and valid template text."""
    found: list[tuple[str, int, list[str]]] = []
    preamble: list[str] = []
    for offset, line in enumerate(doc.body.split("\n")):
        match = _HEADING.match(line)
        if match:
            found.append((match.group(1), doc.body_line + offset, []))
        elif found:
            found[-1][2].append(line)
        else:
            preamble.append(line)
    if any(line.strip() for line in preamble):
        doc.problem("正文应从 ## 案情 开始", line=doc.body_line)
    names = [name for name, _line, _text in found]
    expected = [name for name, _key in SECTIONS]
    result: dict[str, str] = {}
    if names != expected:
        line = found[0][1] if found else doc.body_line
        for name, number, _text in found:
            if name not in expected:
                line = number
                break
        missing = [n for n in expected if n not in names]
        detail = f"缺少 {'、'.join('## ' + n for n in missing)}" if missing else f"现在是 {'、'.join(names)}"
        doc.problem(f"案例正文必须依次是 ## 案情、## 处理结果、## 说法、## 提醒 四节（{detail}）", line=line)
    for name, number, lines in found:
        key = dict(SECTIONS).get(name)
        if key is None or key in result:
            continue
        text = "\n".join(lines).strip()
        if not text:
            doc.problem(f"## {name} 一节是空的", line=number)
            continue
        try:
            env.parse(text)
        except TemplateSyntaxError as exc:
            doc.problem(f"## {name} 模板错误：{exc.message}", line=number + (exc.lineno or 1))
        result[key] = text
    return result


def load_case(
    path: Path, known_key_dates: set[str], categories: Iterable[str], env: Environment | None = None
) -> tuple[Case | None, list[Problem]]:
    doc = read_front_matter(path)
    if doc.problems:
        return None, doc.problems
    env = env or string_environment()
    slug = check_slug(doc)
    title = require_str(doc, "title", max_len=MAX_TITLE, label="标题")
    explainer = require_str(doc, "explainer", label="说法的人")
    if explainer and explainer not in EXPLAINERS:
        doc.problem(f"explainer 只能是 {' 或 '.join(EXPLAINERS)}", key="explainer")
    laws = require_list(doc, "laws")
    tags, key_dates = check_tags_and_key_dates(doc, known_key_dates, categories)
    reviewed = require_date(doc, "reviewed")
    check_unknown_fields(doc, CASE_FIELDS)
    sections = _sections(doc, env)
    if doc.problems:
        return None, doc.problems
    return (
        Case(
            slug=slug, title=title, explainer=explainer, laws=tuple(laws), tags=tuple(tags),
            key_dates=tuple(key_dates), reviewed=reviewed, path=doc.display,
            checksum=hashlib.sha256(path.read_bytes()).hexdigest(), **sections,
        ),
        [],
    )


def load_cases(
    directory: Path = LIBRARY_DIR, known_key_dates: Iterable[str] = (), categories: Iterable[str] = ()
) -> tuple[list[Case], list[Problem]]:
    known = set(known_key_dates)
    cats = tuple(categories)
    env = string_environment()
    return load_folder(directory, lambda path: load_case(path, known, cats, env))


class CaseRenderer:
    """【以案说法】title / 案情 / 结果 / 说法 / 法条 / 提醒 — every case looks the same in the group."""

    def __init__(self, globals_: Mapping[str, Any], env: Environment | None = None) -> None:
        self._env = env or text_environment([TEMPLATES_DIR])
        self._sections = string_environment()
        self._globals = dict(globals_)

    def render_text(self, title: str, data: Mapping[str, Any]) -> str:
        parts = {
            key: self._sections.from_string(data[key]).render(self._globals).strip()
            for _name, key in SECTIONS
        }
        template = self._env.get_template("case.txt.j2")
        return template.render({**self._globals, **data, **parts, "title": title}).strip()

    def render(self, title: str, data: Mapping[str, Any]) -> list[str]:
        return split_message(self.render_text(title, data))

    def check(self, case: Case) -> list[str]:
        return render_problems(lambda: self.render(case.title, case.to_data()))
