"""Turns a stored content item (article, case or plan notice) into the WeChat messages that will be sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cases.library import CaseRenderer
from content.articles import ArticleRenderer


class ContentRenderer:
    """One renderer for every kind of content item; built once at start-up with the template globals."""

    def __init__(self, globals_: Mapping[str, Any]) -> None:
        self._articles = ArticleRenderer(globals_)
        self._cases = CaseRenderer(globals_)

    def render(self, kind: str, title: str, data: Mapping[str, Any]) -> list[str]:
        if kind == "article":
            return self._articles.render(title, data)
        if kind == "case":
            return self._cases.render(title, data)
        if kind == "notice":
            return self._articles.render_notice(data)
        raise ValueError(f"unknown content kind {kind!r}")
