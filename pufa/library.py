"""The whole starter library (articles + cases + key dates), loaded and checked together: the composition root is
the one place that knows both packages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cases.library import LIBRARY_DIR as CASES_DIR
from cases.library import Case, CaseRenderer, load_cases
from content.articles import LIBRARY_DIR as ARTICLES_DIR
from content.articles import Article, ArticleRenderer, load_articles
from content.keydates import KeyDateRegistry, load_key_dates
from core.categories import CATEGORIES
from core.errors import ValidationProblems
from core.frontmatter import Problem


@dataclass
class Library:
    registry: KeyDateRegistry
    articles: list[Article] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def items(self) -> list[Article | Case]:
        return [*self.articles, *self.cases]


def load_library(
    globals_: dict[str, Any],
    *,
    articles_dir: Path = ARTICLES_DIR,
    cases_dir: Path = CASES_DIR,
    registry: KeyDateRegistry | None = None,
) -> Library:
    """Read every file, collect every problem (bad front matter, unknown key date, missing field or section,
    template error, over-long title, duplicate slug); render each item once to catch template errors."""
    registry = registry or load_key_dates()
    articles, problems = load_articles(articles_dir, registry.ids)
    cases, case_problems = load_cases(cases_dir, registry.ids, CATEGORIES)
    problems += case_problems
    article_renderer, case_renderer = ArticleRenderer(globals_), CaseRenderer(globals_)
    for article in articles:
        problems += [Problem(article.path, 1, m) for m in article_renderer.check(article)]
    for case in cases:
        problems += [Problem(case.path, 1, m) for m in case_renderer.check(case)]
    seen: dict[str, str] = {}
    for item in [*articles, *cases]:
        if item.slug in seen:
            problems.append(Problem(item.path, 1, f"slug “{item.slug}” 与 {seen[item.slug]} 重复"))
        seen.setdefault(item.slug, item.path)
    bad = {p.path for p in problems}
    return Library(
        registry=registry,
        articles=[a for a in articles if a.path not in bad],
        cases=[c for c in cases if c.path not in bad],
        problems=problems,
    )


def require_clean(library: Library) -> Library:
    if library.problems:
        raise ValidationProblems(
            [str(p) for p in library.problems],
            f"内容库有 {len(library.problems)} 个问题，未导入任何内容（请先修改上面列出的文件）",
        )
    return library
